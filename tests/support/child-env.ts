/**
 * The base environment of the processes tests start: PATH, so nothing else of the developer's shell
 * leaks in, and TMPDIR, so what they write to their temp dir (a service's default model cache, tsx's
 * compile cache, a CLI's scratch files) lands in the run's own directory (temp-root.ts).
 */
export function childEnv(): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  if (process.env.TMPDIR !== undefined) env.TMPDIR = process.env.TMPDIR;
  return env;
}
