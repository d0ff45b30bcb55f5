import { execFileSync } from 'node:child_process';

/**
 * Finds a system binary (haproxy, prometheus, promtool) that some tests need.
 * `.ci/run` installs them from Debian, so in CI a missing tool is a failure; on a developer machine
 * without it the test is skipped, and the skip message says which package to install.
 */
export function findSystemTool(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    if (process.env.CI === 'true') {
      throw new Error(`${name} is required in CI: .ci/run should have installed it (apt-get install -y ${debianPackageOf(name)})`);
    }
    return undefined;
  }
}

function debianPackageOf(tool: string): string {
  return tool === 'promtool' ? 'prometheus' : tool;
}
