import { readFileSync, readdirSync } from 'node:fs';

/** CPU seconds and resident memory of a process and all its descendants (cluster workers, gunicorn workers). */
export interface TreeStats {
  cpuSeconds: number;
  rssBytes: number;
  /** RSS of each process in the tree, largest first (per-worker figures). */
  rssPerProcess: number[];
}

const CLOCK_TICKS = 100; // Linux USER_HZ
const PAGE_SIZE = 4096;

function readStat(pid: number): { state: string; ppid: number; cpuTicks: number; rssPages: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // why: the command name (field 2) may contain spaces; the fields after its closing paren are fixed.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]), rssPages: Number(fields[21]) };
  } catch {
    return undefined;
  }
}

/** The state letter of a process (R running, S sleeping, T stopped, …), or undefined when it is gone. Exported for tests. */
export function processState(pid: number): string | undefined {
  return readStat(pid)?.state;
}

export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(pid);
    children.set(stat.ppid, list);
  }
  const tree: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

export function treeStats(rootPid: number): TreeStats {
  let ticks = 0;
  const rss: number[] = [];
  for (const pid of processTree(rootPid)) {
    const stat = readStat(pid);
    if (!stat) continue;
    ticks += stat.cpuTicks;
    rss.push(stat.rssPages * PAGE_SIZE);
  }
  rss.sort((a, b) => b - a);
  return { cpuSeconds: ticks / CLOCK_TICKS, rssBytes: rss.reduce((a, b) => a + b, 0), rssPerProcess: rss };
}

/**
 * Runs `work` and measures `rootPid`'s process tree meanwhile: the CPU seconds it used, the wall
 * seconds `work` took, and the tree's stats at the end (RSS). What every bench step reads.
 */
export async function treeDuring<T>(
  rootPid: number,
  work: () => Promise<T>,
): Promise<{ result: T; cpuSeconds: number; wallSeconds: number; after: TreeStats }> {
  const before = treeStats(rootPid).cpuSeconds;
  const t0 = performance.now();
  const result = await work();
  const wallSeconds = (performance.now() - t0) / 1000;
  const after = treeStats(rootPid);
  return { result, cpuSeconds: after.cpuSeconds - before, wallSeconds, after };
}

/**
 * Stops every process of the given trees (SIGSTOP) until the returned function continues them
 * (SIGCONT). why: the bench keeps every target up while it measures one, and idle processes still
 * wake (the services' event-loop-delay sampler runs every 10 ms): on 2 cores those wake-ups took
 * 10–13 % off bare node:http's req/s and 0–3 % off the service's (docs/performance.md, "What one
 * run measures"). A stopped process cannot wake. Processes that are gone are skipped.
 */
export function pauseTrees(rootPids: readonly number[]): () => void {
  const pids = rootPids.flatMap((pid) => processTree(pid));
  const stopped = pids.filter((pid) => signal(pid, 'SIGSTOP'));
  let resumed = false;
  return () => {
    if (resumed) return;
    resumed = true;
    for (const pid of stopped) signal(pid, 'SIGCONT');
  };
}

function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}
