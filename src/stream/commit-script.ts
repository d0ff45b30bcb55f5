/**
 * The one write of a batch: a Lua script (EVALSHA; Redis runs it atomically) that, per input entry,
 * acknowledges it and writes its output or its dead letter, so an output and its acknowledgement
 * commit together or not at all (docs/streaming.md, "Exactly once").
 *
 * Per entry, in order:
 * 1. XACK first. 0 means the entry is no longer pending: another consumer claimed it and committed
 *    it first (or this very commit is a resend after a lost reply). Nothing is written.
 * 2. A prediction: SET <out>:done:<ride_id> NX EX ttl. Taken already: the ride has an output (the
 *    same ride sent twice), nothing is written. Free: XADD the output.
 * 3. A dead letter: XADD it to the dead-letter stream with the error and the source entry id.
 * The reply is one outcome letter per entry and Redis's clock (TIME), for end-to-end latency.
 */
import type { Redis } from 'ioredis';

const LUA = `
local group, ttl, maxlen = ARGV[1], ARGV[2], tonumber(ARGV[3])
local outcomes = {}
local n = (#ARGV - 3) / 5
for i = 0, n - 1 do
  local a = 4 + i * 5
  local kind, id, ride, data, err = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  if redis.call('XACK', KEYS[1], group, id) == 0 then
    outcomes[i + 1] = 'a'
  elseif kind == 'p' then
    if redis.call('SET', KEYS[4 + i], id, 'NX', 'EX', ttl) then
      if maxlen > 0 then
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', maxlen, '*', 'ride_id', ride, 'data', data)
      else
        redis.call('XADD', KEYS[2], '*', 'ride_id', ride, 'data', data)
      end
      outcomes[i + 1] = 'p'
    else
      outcomes[i + 1] = 'd'
    end
  else
    redis.call('XADD', KEYS[3], '*', 'data', data, 'error', err, 'source_id', id, 'source_stream', KEYS[1])
    outcomes[i + 1] = 'l'
  end
end
local t = redis.call('TIME')
return {table.concat(outcomes), t[1], t[2]}
`;

/** p = predicted, d = duplicate ride, a = already acknowledged, l = dead-lettered. */
export type CommitOutcome = 'p' | 'd' | 'a' | 'l';

export type CommitItem =
  | { kind: 'prediction'; id: string; rideId: string; data: string }
  | { kind: 'dead_letter'; id: string; data: string; error: string };

export interface CommitTarget {
  events: string;
  predictions: string;
  deadLetters: string;
  group: string;
  dedupeTtlS: number;
  maxLen: number;
}

export interface CommitResult {
  /** One letter per item, in order. */
  outcomes: string;
  /** Redis's clock when the script ran, epoch milliseconds. */
  redisNowMs: number;
}

type ScriptClient = Redis & { streamCommit(numKeys: number, ...args: string[]): Promise<[string, string, string]> };

/** The key that marks a ride as predicted; beside the output stream, so a Redis Cluster hash tag in its name covers both. */
export function doneKey(predictions: string, rideId: string): string {
  return `${predictions}:done:${rideId}`;
}

/** Registers the script on a connection (ioredis sends EVALSHA and falls back to EVAL after a restart). */
export function defineCommit(redis: Redis): (target: CommitTarget, items: readonly CommitItem[]) => Promise<CommitResult> {
  if (!('streamCommit' in redis)) redis.defineCommand('streamCommit', { lua: LUA });
  const client = redis as ScriptClient;
  return async (target, items) => {
    const keys = [target.events, target.predictions, target.deadLetters];
    const args = [target.group, String(target.dedupeTtlS), String(target.maxLen)];
    for (const item of items) {
      if (item.kind === 'prediction') {
        keys.push(doneKey(target.predictions, item.rideId));
        args.push('p', item.id, item.rideId, item.data, '');
      } else {
        // why: every entry gets a key slot so KEYS[4 + i] lines up with entry i.
        keys.push(target.deadLetters);
        args.push('l', item.id, '', item.data, item.error);
      }
    }
    const [outcomes, seconds, micros] = await client.streamCommit(keys.length, ...keys, ...args);
    return { outcomes, redisNowMs: Number(seconds) * 1000 + Number(micros) / 1000 };
  };
}
