/**
 * Closing an HTTP server without losing a request that a client has sent (docs/operations.md,
 * "Shutdown").
 *
 * node's own server.close() stops accepting and at once destroys every connection it sees as idle;
 * a keep-alive client may have just written its next request on such a connection (it is in the
 * kernel's buffer, or on its way), and that request gets ECONNRESET. Instead, once closing:
 * - every response carries `Connection: close` and its connection ends after it: the client learns
 *   in-band not to send more on it;
 * - a connection without a request in progress is closed only after it has stayed idle, with no byte
 *   arriving, for `idleGraceMs`, and only after a poll phase of the event loop has read whatever the
 *   kernel held; a client that is still sending gets its answer instead.
 */
import net, { type Socket } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

interface ConnectionState {
  /** The response in progress on this connection, if any. */
  current: ServerResponse | undefined;
  /** socket.bytesRead when the connection last became idle: any byte since is a request arriving. */
  readWhenIdle: number;
  /** performance.now() when it last became idle (or opened). */
  idleSince: number;
}

const STATE = Symbol('connectionState');
type Tracked = Socket & { [STATE]: ConnectionState };

export interface CloseOptions {
  /** How long a connection must stay idle before it is closed. */
  idleGraceMs: number;
  /** After this, every connection is cut; close() then resolves false. */
  timeoutMs: number;
  /** Called once when the timeout cuts connections. */
  onTimeout(): void;
}

export interface GracefulClose {
  /** Stops accepting and closes every connection between requests; resolves once all are closed. Idempotent. */
  close(options: CloseOptions): Promise<boolean>;
}

/** Tracks `server`'s connections from now on; call before it listens. */
export function gracefulClose(server: Server): GracefulClose {
  const sockets = new Set<Tracked>();
  let closing = false;
  let openResponses = 0;
  let settle: (() => void) | undefined;

  server.on('connection', (socket: Socket) => {
    const tracked = socket as Tracked;
    tracked[STATE] = { current: undefined, readWhenIdle: 0, idleSince: performance.now() };
    sockets.add(tracked);
    tracked.once('close', () => {
      sockets.delete(tracked);
      settle?.();
    });
  });

  // why: shared functions, not closures per request: this runs on every request.
  function onResponseClose(this: ServerResponse): void {
    openResponses--;
    const socket = this.req.socket as Tracked;
    const state = socket[STATE];
    if (state !== undefined && state.current === this) {
      state.current = undefined;
      state.readWhenIdle = socket.bytesRead;
      state.idleSince = performance.now();
    }
    settle?.();
  }
  // why: prepended, so `Connection: close` is decided before the app's listener can answer.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const state = (req.socket as Tracked)[STATE];
    if (state !== undefined) state.current = res;
    openResponses++;
    if (closing) res.shouldKeepAlive = false;
    // `on`: a response closes once, and `once` wraps and removes the listener on every request
    res.on('close', onResponseClose);
  });

  let result: Promise<boolean> | undefined;
  const close = (options: CloseOptions) =>
    (result ??= new Promise<boolean>((resolve) => {
      closing = true;
      for (const socket of sockets) {
        const res = socket[STATE].current;
        if (res !== undefined && !res.headersSent) res.shouldKeepAlive = false;
      }
      let listenerClosed = false;
      let clean = true;
      settle = () => {
        if (!listenerClosed || sockets.size > 0 || openResponses > 0) return;
        settle = undefined;
        clearInterval(sweep);
        clearTimeout(timeout);
        // why: one more turn, so the last response's own 'close' listeners (the request log line) run first.
        setImmediate(() => resolve(clean));
      };
      // why: net.Server's close, not http.Server's: the latter destroys "idle" connections at once,
      // including one whose next request is already in the kernel's buffer.
      net.Server.prototype.close.call(server, () => {
        listenerClosed = true;
        settle?.();
      });

      const closeIdle = () => {
        const now = performance.now();
        for (const socket of sockets) {
          const state = socket[STATE];
          if (state.current === undefined && socket.bytesRead === state.readWhenIdle && now - state.idleSince >= options.idleGraceMs) {
            socket.destroy();
          }
        }
      };
      // why: an immediate scheduled from an immediate runs after one whole poll phase, which has read
      // every byte the kernel held for these sockets (a request written just before is seen as one).
      const afterPoll = () => setImmediate(() => setImmediate(closeIdle));
      const sweep = setInterval(afterPoll, Math.max(10, Math.min(100, options.idleGraceMs / 4)));
      afterPoll();
      const timeout = setTimeout(() => {
        clean = false;
        options.onTimeout();
        for (const socket of sockets) socket.destroy();
      }, options.timeoutMs);
      settle();
    }));

  return { close };
}
