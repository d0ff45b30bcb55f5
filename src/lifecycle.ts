/**
 * The serving process's state that readiness reports: set by the composition root (draining on a
 * stop signal) and the model updater (why no model is loaded yet); read by /readyz.
 */
export interface Lifecycle {
  draining: boolean;
  /** Why no model is loaded yet, when known (e.g. the registry cannot be reached); set by the model updater. */
  notReadyReason?: string;
}
