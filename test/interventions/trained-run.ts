import path from 'node:path';
import { REPO, runCli } from '../helpers/cli.js';

/**
 * Train a small dictionary on the shipped stories260K activations (blocks.2.hook_resid_post) into
 * `dir`: 256 features, 120 steps of 512 rows, no resampling; a few seconds. Returns `dir`.
 */
export async function trainSmallRun(dir: string): Promise<string> {
  const r = await runCli([
    'train', '--config', path.join(REPO, 'configs', 'quickstart.json'), '--out', dir, '--backend', 'wasm',
    '--set', 'train.steps=120', '--set', 'train.batchSize=512', '--set', 'sae.expansion=4', '--set', 'resample.every=1000',
    '--set', 'train.workers=0',
  ]);
  if (r.status !== 0) throw new Error(`training the test dictionary failed:\n${r.stderr}`);
  return dir;
}
