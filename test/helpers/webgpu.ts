import fs from 'node:fs';

/**
 * Whether to run the WebGPU tests. They are skipped only where no Vulkan driver is installed
 * (Linux without an ICD file; .ci/run installs Mesa's lavapipe); anywhere else they run, so a
 * driver Dawn refuses or a missing package fails them loudly.
 */
export function webgpuSkipReason(): string | null {
  if (process.platform !== 'linux') return null;
  const dirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
  const icds = dirs.flatMap((d) => {
    try {
      return fs.readdirSync(d).filter((f) => f.endsWith('.json'));
    } catch {
      return [];
    }
  });
  if (icds.length > 0) return null;
  return 'no Vulkan driver installed (no ICD in /usr/share/vulkan/icd.d); install mesa-vulkan-drivers >= 25 (lavapipe), as .ci/run does';
}

const reason = webgpuSkipReason();
if (reason) console.warn(`WebGPU tests skipped: ${reason}`);
/** True when the WebGPU tests must run. */
export const RUN_WEBGPU = reason === null;
