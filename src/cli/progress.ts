import { SingleBar } from 'cli-progress';

/** Reports a long step's advance; `note` is a short status such as the current validation RMSE. */
export type Tick = (done: number, total: number, note?: string) => void;

/**
 * How the pipeline reports progress: each stage ends with one line and its duration; stages that
 * call `tick` also get a bar on a TTY or an occasional plain line elsewhere (CI logs stay short).
 */
export interface Progress {
  stage<T>(label: string, work: (tick: Tick) => Promise<T> | T): Promise<T>;
  info(line: string): void;
  /** Seconds spent in each finished stage, in order. */
  readonly timings: Record<string, number>;
}

/** `plainTicks: false` keeps logs to one line per stage when there is no terminal (batch jobs). */
export function createProgress(
  stream: NodeJS.WriteStream = process.stderr,
  tty = Boolean(stream.isTTY),
  { plainTicks = true } = {},
): Progress {
  const timings: Record<string, number> = {};
  const started = performance.now();
  const clock = () => `[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s]`;
  return {
    timings,
    info: (line) => stream.write(`${line}\n`),
    async stage(label, work) {
      const t0 = performance.now();
      let bar: SingleBar | undefined;
      let lastPlain = 0;
      const tick: Tick = (done, total, note = '') => {
        if (tty) {
          // why: training blocks the event loop, so cli-progress's timer never fires; redraw on update.
          bar ??= new SingleBar({
            stream,
            format: `${label} [{bar}] {value}/{total} {note}`,
            synchronousUpdate: true,
            fps: 5,
            clearOnComplete: true,
            hideCursor: true,
          });
          if (!bar.isActive) bar.start(total, done, { note });
          else bar.update(done, { note });
        } else if (plainTicks && performance.now() - lastPlain > 2000) {
          lastPlain = performance.now();
          stream.write(`${clock()} ${label}: ${done}/${total} ${note}\n`);
        }
      };
      try {
        return await work(tick);
      } finally {
        bar?.stop();
        const seconds = (performance.now() - t0) / 1000;
        timings[label] = Number(seconds.toFixed(3));
        stream.write(`${clock()} ${label} (${seconds.toFixed(2)} s)\n`);
      }
    },
  };
}

/** For tests and library callers: records timings, prints nothing. */
export function silentProgress(): Progress {
  const timings: Record<string, number> = {};
  return {
    timings,
    info: () => {},
    async stage(label, work) {
      const t0 = performance.now();
      try {
        return await work(() => {});
      } finally {
        timings[label] = Number(((performance.now() - t0) / 1000).toFixed(3));
      }
    },
  };
}
