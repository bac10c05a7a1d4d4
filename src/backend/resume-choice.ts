import { BACKEND_CHOICES, type BackendChoice } from './choices.js';

/** Which backend a run asks for, and why (for the log). */
export interface BackendRequest {
  choice: BackendChoice;
  /** 'flag': --backend; 'recorded': the backend the run was trained on (resume); 'config': runtime.backend. */
  source: 'flag' | 'recorded' | 'config';
}

/**
 * The backend to load. A resumed run continues on the backend it was trained on unless --backend
 * says otherwise: another backend rounds differently, so the resumed run would no longer be
 * bit-exact with an uninterrupted one (a webgpu run resumed on wasm, say).
 */
export function chooseBackend(flag: BackendChoice | undefined, configured: BackendChoice, recorded: string | undefined): BackendRequest {
  if (flag !== undefined) return { choice: flag, source: 'flag' };
  const known = recorded !== undefined && recorded !== 'auto' && (BACKEND_CHOICES as readonly string[]).includes(recorded);
  if (known) return { choice: recorded as BackendChoice, source: 'recorded' };
  return { choice: configured, source: 'config' };
}
