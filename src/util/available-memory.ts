import fs from 'node:fs';
import os from 'node:os';

/** Memory this process can still take, and where the figure comes from. */
export interface AvailableMemory {
  bytes: number;
  source: string;
}

function readNumber(file: string): number | null {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    if (text === 'max' || text === '') return null;
    const v = Number(text);
    return Number.isFinite(v) && v > 0 ? v : null;
  } catch {
    return null;
  }
}

/** MemAvailable from /proc/meminfo text (bytes), or null. */
export function parseMemAvailable(meminfo: string): number | null {
  const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : null;
}

/**
 * The smallest of: the kernel's MemAvailable (os.freemem() where there is no /proc), and the
 * room left under a cgroup memory limit (v2 memory.max - memory.current, or v1's
 * limit_in_bytes - usage_in_bytes), which is what kills a container's process first.
 */
export function availableMemory(root = '/'): AvailableMemory {
  let best: AvailableMemory = { bytes: os.freemem(), source: 'free memory' };
  try {
    const avail = parseMemAvailable(fs.readFileSync(`${root}proc/meminfo`, 'utf8'));
    if (avail !== null) best = { bytes: avail, source: 'MemAvailable in /proc/meminfo' };
  } catch {
    // not Linux: os.freemem() stands
  }
  const cgroups: [string, string, string][] = [
    ['sys/fs/cgroup/memory.max', 'sys/fs/cgroup/memory.current', 'the cgroup memory limit (memory.max)'],
    ['sys/fs/cgroup/memory/memory.limit_in_bytes', 'sys/fs/cgroup/memory/memory.usage_in_bytes', 'the cgroup memory limit'],
  ];
  for (const [limitFile, usageFile, source] of cgroups) {
    const limit = readNumber(root + limitFile);
    // cgroup v1 reports "no limit" as a huge number.
    if (limit === null || limit >= 2 ** 60) continue;
    const left = Math.max(0, limit - (readNumber(root + usageFile) ?? 0));
    if (left < best.bytes) best = { bytes: left, source };
  }
  return best;
}
