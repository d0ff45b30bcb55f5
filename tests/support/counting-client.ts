/**
 * A keep-alive HTTP client that accounts for every request: sent (its bytes were handed to a
 * connection), answered (a whole response came back), refused (the connection never opened, so
 * nothing was sent) or lost (sent, then the connection failed before an answer: ECONNRESET, socket
 * hang up). A graceful shutdown must leave `lost` empty.
 */
import { Agent, request } from 'node:http';

export interface CountingLoad {
  sent: number;
  answered: number;
  /** Status code → count. */
  statuses: Record<number, number>;
  refused: number;
  /** Error codes (or messages) of requests that were sent and never answered. */
  lost: string[];
  /** Resolves when every client has stopped (each stops at its first refused connection or `stop()`). */
  done: Promise<void>;
  stop(): void;
}

export function countingLoad(options: {
  port: number;
  path: string;
  body: string;
  clients: number;
  onAnswer?: (total: number) => void;
}): CountingLoad {
  const agent = new Agent({ keepAlive: true, maxSockets: options.clients });
  let stopped = false;
  const load: CountingLoad = {
    sent: 0,
    answered: 0,
    statuses: {},
    refused: 0,
    lost: [],
    done: Promise.resolve(),
    stop: () => (stopped = true),
  };

  const one = () =>
    new Promise<'again' | 'refused'>((resolve) => {
      let sent = false;
      const req = request(
        {
          host: '127.0.0.1',
          port: options.port,
          method: 'POST',
          path: options.path,
          agent,
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(options.body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            load.answered++;
            load.statuses[res.statusCode!] = (load.statuses[res.statusCode!] ?? 0) + 1;
            options.onAnswer?.(load.answered);
            resolve('again');
          });
        },
      );
      // why: 'finish' means the whole request went to the socket; before it, a failure lost nothing.
      req.on('finish', () => {
        sent = true;
        load.sent++;
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (!sent && err.code === 'ECONNREFUSED') {
          load.refused++;
          resolve('refused');
        } else {
          if (sent) load.lost.push(err.code ?? err.message);
          else load.lost.push(`before sending: ${err.code ?? err.message}`);
          resolve('again');
        }
      });
      req.end(options.body);
    });

  const client = async () => {
    while (!stopped) if ((await one()) === 'refused') return;
  };
  load.done = Promise.all(Array.from({ length: options.clients }, client)).then(() => agent.destroy());
  return load;
}
