// Regenerates configs/schema.json from the zod schema: `npm run schema`. A test keeps them in sync.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from './load.js';

const target = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../configs/schema.json');
fs.writeFileSync(target, JSON.stringify(configJsonSchema(), null, 2) + '\n');
process.stderr.write(`wrote ${target}\n`);
