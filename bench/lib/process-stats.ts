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

function readStat(pid: number): { ppid: number; cpuTicks: number; rssPages: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // why: the command name (field 2) may contain spaces; the fields after its closing paren are fixed.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]), rssPages: Number(fields[21]) };
  } catch {
    return undefined;
  }
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
