import fs from 'node:fs';
import path from 'node:path';

/**
 * The workplace's shared data folder: beside the repository (`../shared`, as CI lays it out),
 * or SAE_SHARED, or /work/shared.
 */
function findShared(): string {
  const candidates = [process.env['SAE_SHARED'], path.resolve(__dirname, '../../../shared'), '/work/shared'];
  for (const c of candidates) if (c && fs.existsSync(path.join(c, 'arrow-corpus'))) return c;
  return path.resolve(__dirname, '../../../shared');
}

export const SHARED = findShared();
