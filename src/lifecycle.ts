/**
 * The process's readiness state, outside the HTTP layer: serve.ts sets `draining` on SIGTERM, the
 * model updater says why no model serves yet, and the probes (src/http/routes/health.ts) read both.
 */
export interface Lifecycle {
  draining: boolean;
  /** Why no model is loaded yet, when known (e.g. the registry cannot be reached); set by the model updater. */
  notReadyReason?: string;
}
