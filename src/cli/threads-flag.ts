import { z } from 'zod';

/** The most `--threads` accepts: more threads than this only cost memory (a weights copy each). */
export const MAX_THREADS = 64;

/** `--threads auto|N` (default auto): 'auto' or a whole number from 1 to MAX_THREADS. */
export const ThreadsFlag = z
  .string()
  .default('auto')
  .refine((s) => s === 'auto' || (/^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= MAX_THREADS), { message: `expected 'auto' or a whole number of threads from 1 to ${MAX_THREADS}` })
  .transform((s): number | 'auto' => (s === 'auto' ? 'auto' : Number(s)));

export const THREADS_HELP = "worker threads for the forward pass: auto (the available cores, at most 8) or N; 1 runs it on the main thread. The activations are bit-identical for any N";
