/** Why fetch() failed, for an error line: fetch hides the reason (ECONNREFUSED, ENOTFOUND, a timeout) in `cause`. */
export function fetchFailureReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
