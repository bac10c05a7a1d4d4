/**
 * How the CLI lets go of the backend at exit (a WebGPU device keeps the process alive) without
 * loading the backends itself: select.ts registers its releaseBackend here when it is loaded, so
 * a command that never touched tfjs (inspect, resample-report, --help) does not load it at exit.
 */
let release: (() => void) | null = null;

/** Called by select.ts as it loads. */
export function registerBackendRelease(fn: () => void): void {
  release = fn;
}

/** releaseBackend() if the backends were loaded; nothing otherwise. */
export function releaseBackendIfLoaded(): void {
  release?.();
}
