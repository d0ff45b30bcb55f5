import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, test } from 'vitest';
import { pauseTrees, processState as stateOf } from '../../bench/lib/process-stats.js';
import { waitFor } from '../support/ports.js';

// A parent with a child (as a cluster primary or gunicorn's arbiter has); both wake every millisecond.
const TREE = `
const { spawn } = require('node:child_process');
const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1)'], { stdio: 'ignore' });
setInterval(() => {}, 1);
child.on('spawn', () => console.log(JSON.stringify([process.pid, child.pid])));
process.on('SIGTERM', () => { child.kill('SIGKILL'); process.exit(0); });
`;

const started: ChildProcess[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGCONT');
    p.kill('SIGTERM');
    await exited;
  }
});

async function startTree(): Promise<[number, number]> {
  const parent = spawn(process.execPath, ['-e', TREE], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(parent);
  return new Promise((resolve, reject) => {
    parent.once('exit', (code) => reject(new Error(`the tree's parent exited (${code})`)));
    parent.stdout!.once('data', (line: Buffer) => resolve(JSON.parse(line.toString())));
  });
}

const allIn = (pids: readonly number[], state: (s: string | undefined) => boolean) => async () =>
  pids.every((pid) => state(stateOf(pid))) ? true : undefined;

describe('pauseTrees (the bench measures one target while the others are stopped)', () => {
  test('When a target is paused, then it and its children stop; when resumed, they run again', async () => {
    const [parent, child] = await startTree();
    const [other] = await startTree();

    const resume = pauseTrees([parent]);
    await waitFor(
      allIn([parent, child], (s) => s === 'T'),
      'the paused tree to stop',
    );
    expect(stateOf(other)).not.toBe('T');

    resume();
    await waitFor(
      allIn([parent, child], (s) => s !== 'T'),
      'the tree to run again',
    );
    resume(); // a second call changes nothing
    expect(stateOf(parent)).not.toBe('T');
  });

  test('When a target has exited, then pausing skips it instead of throwing', async () => {
    const [parent] = await startTree();
    const gone = started.at(-1)!;
    const exited = new Promise((r) => gone.once('exit', r));
    gone.kill('SIGTERM');
    await exited;

    expect(() => pauseTrees([parent])()).not.toThrow();
  });
});
