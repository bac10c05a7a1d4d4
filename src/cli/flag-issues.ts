import type { z } from 'zod';
import { ConfigError } from '../errors.js';

/** camelCase option key -> its flag spelling (`evalRows` -> `--eval-rows`). */
function flagName(key: PropertyKey): string {
  return `--${String(key).replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`;
}

/**
 * Parse commander's options with a zod schema; on failure a ConfigError with one line per bad
 * flag: `--rows: expected number, received NaN (got 'many')`.
 */
export function parseFlags<T extends z.ZodType>(schema: T, raw: Record<string, unknown>, command: string): z.output<T> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => {
    const key = i.path[0] ?? '(options)';
    const got = raw[key as string];
    return `${flagName(key)}: ${i.message.replace(/^Invalid input: /, '')}${got !== undefined ? ` (got ${JSON.stringify(got)})` : ''}`;
  });
  throw new ConfigError(`sae ${command}: invalid option${lines.length > 1 ? 's' : ''}:\n  ${lines.join('\n  ')}`, `See \`sae ${command} --help\`.`);
}
