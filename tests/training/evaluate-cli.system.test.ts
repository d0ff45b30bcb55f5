import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');

async function evaluate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      join(repo, 'node_modules', '.bin', 'tsx'),
      ['src/training/evaluate-cli.ts', ...args],
      { cwd: repo },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run evaluate', () => {
  test('When asked for help, then it prints the usage with every accepted model form and exits 0', async () => {
    const result = await evaluate(['--help']);

    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('usage: npm run evaluate -- --model <model>');
    expect(result.stdout).toContain('models:/<name>@<alias>');
    expect(result.stdout).not.toMatch(/taxi-ride-duration\/2/);
  });

  test.each([
    [['--bogus'], /error: Unknown option '--bogus'/],
    [['--model', 'models:/taxi-ride-duration@nosuchalias', '--data', 'x.parquet'], /no alias nosuchalias in .*aliases\.json/],
    [['--model', 'models:/bad name/1', '--data', 'x.parquet'], /error: .*model name/],
    [['--model', 'models:/taxi-ride-duration/99', '--data', 'x.parquet'], /not an MLflow Model directory/],
  ])('When given %j, then it fails with one clear line', async (args, message) => {
    const result = await evaluate(args);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });
});
