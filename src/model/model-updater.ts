/**
 * Keeps the slot serving the version MODEL_URI names: the first load at start-up (retried in the
 * background while the registry cannot be reached, so the process is live but not ready), then hot
 * swaps when the alias poller or POST /admin/reload sees another version.
 *
 * A swap is load new → check (contract, warm-up; loadModel) → swap → drain → release old. A failed load
 * leaves the old model serving; loadModel has already counted it in model_load_failures_total {reason}.
 *
 * Every version that loads and warms up is recorded by the source. When what MODEL_URI names cannot be
 * loaded at start-up (registry down, or the alias on a broken version), the newest recorded version
 * serves instead, marked stale, and the updater keeps checking (docs/registries.md, "Model sources and
 * the cache"). Only with no such version does start() fail.
 */
import { ModelLoadError, isTransientLoadError } from '../errors.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { ModelSource, ResolvedModel } from '../registry/model-source.js';
import type { ModelUri } from '../registry/model-uri.js';
import { loadModel } from './load-model.js';
import type { ModelSlot } from './model-slot.js';
import type { LoadedModel } from './onnx-model.js';

export interface ModelUpdaterDeps {
  source: ModelSource;
  uri: ModelUri;
  slot: ModelSlot;
  metrics: Metrics;
  logger: Logger;
  lifecycle: Lifecycle;
  /** MODEL_POLL_INTERVAL_S in ms; 0 = no polling. */
  pollIntervalMs: number;
  /** Wraps each loaded model before it is installed (micro-batching); identity by default. */
  prepare?: (model: LoadedModel) => LoadedModel;
  /** Start-up retry backoff: first and longest wait (default 1 s, 30 s). */
  retryMs?: { initial: number; max: number };
}

export type ReloadTrigger = 'poll' | 'admin' | 'refresh';

export interface ReloadOutcome {
  status: 'swapped' | 'unchanged';
  model_version: string;
  previous_model_version: string | null;
}

export interface ModelUpdater {
  /**
   * Loads the first model into the slot. Resolves once it serves: what MODEL_URI names, or else the newest
   * version that loaded before (stale). Without one, a registry that cannot be reached is retried with
   * backoff until it answers or stop() is called; any other failure rejects.
   */
  start(): Promise<void>;
  /** Checks the version MODEL_URI names now and swaps it in when it differs. Calls run one at a time. */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome>;
  /** Stops polling and retrying (the served model stays in the slot). */
  stop(): void;
}

export function createModelUpdater(deps: ModelUpdaterDeps): ModelUpdater {
  const { source, uri, slot, metrics, logger, lifecycle } = deps;
  const retry = deps.retryMs ?? { initial: 1000, max: 30_000 };
  const prepare = deps.prepare ?? ((model: LoadedModel) => model);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  // why: the poller would otherwise re-download and re-refuse a known-bad version every interval;
  // it tries again when the alias moves, and POST /admin/reload always tries.
  let refusedVersion: string | undefined;
  let wake: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  const install = async (trigger: ReloadTrigger | 'start-up', fallback?: ResolvedModel): Promise<ReloadOutcome> => {
    const previous = slot.current?.info;
    const started = performance.now();
    const model = await loadModel(source, uri, metrics, fallback);
    // why: the same version again is no swap, unless it replaces a stale copy with a fresh resolution.
    if (previous && model.info.modelVersion === previous.modelVersion && (model.info.stale || !previous.stale)) {
      await model.release();
      return { status: 'unchanged', model_version: previous.modelVersion, previous_model_version: previous.modelVersion };
    }
    // why: swap() installs the new model synchronously and then waits for the old one's in-flight
    // requests; model_info must follow the installation, not the drain.
    const retired = slot.swap(prepare(model));
    metrics.setServedModel(model.info);
    lifecycle.notReadyReason = undefined;
    const info = model.info;
    const fields = {
      model_uri: uri.text,
      registry: source.description,
      model_version: info.modelVersion,
      feature_set: info.featureSet,
      stale: info.stale === true,
      ...(info.stale ? { stale_reason: info.staleReason } : {}),
      load_ms: Math.round(performance.now() - started),
    };
    // why: only a version that loaded and warmed up may be served later in place of one that cannot load.
    if (!info.stale) {
      await source.recordLoaded?.(uri, { name: info.name, version: info.version }).catch((err: unknown) => {
        logger.warn({ err, model_version: info.modelVersion }, 'could not record the loaded version; a restart may not fall back to it');
      });
    }
    if (previous === undefined) {
      if (info.stale) logger.warn(fields, 'model loaded and warmed up; ready');
      else logger.info(fields, 'model loaded and warmed up; ready');
    } else {
      logger.info({ ...fields, previous_model_version: previous.modelVersion, trigger }, 'model swapped');
    }
    await retired;
    schedule();
    return { status: 'swapped', model_version: info.modelVersion, previous_model_version: previous?.modelVersion ?? null };
  };

  const check = async (trigger: ReloadTrigger): Promise<ReloadOutcome> => {
    const current = slot.current?.info;
    if (current && source.peek) {
      const named = await source.peek(uri);
      const version = `${named.name}/${named.version}`;
      if (!current.stale && version === current.modelVersion)
        return { status: 'unchanged', model_version: version, previous_model_version: version };
      if (trigger !== 'admin' && version === refusedVersion)
        return { status: 'unchanged', model_version: current.modelVersion, previous_model_version: current.modelVersion };
      try {
        return await install(trigger);
      } catch (err) {
        refusedVersion = version;
        throw err;
      }
    }
    try {
      return await install(trigger);
    } catch (err) {
      if (err instanceof ModelLoadError && err.modelVersion) refusedVersion = err.modelVersion;
      throw err;
    }
  };

  const enqueue = <T>(task: () => Promise<T>): Promise<T> => {
    const run = queue.then(task);
    queue = run.catch(() => undefined);
    return run;
  };
  const reload = (trigger: ReloadTrigger): Promise<ReloadOutcome> => enqueue(() => check(trigger));

  /** After `err` at start-up: serves the newest version that loaded before, stale; false when there is none. */
  const serveLastLoaded = async (err: unknown): Promise<boolean> => {
    const found = await source.lastLoaded?.(uri).catch((lookup: unknown) => {
      logger.warn({ err: lookup }, 'cannot read the record of loaded versions');
      return undefined;
    });
    if (!found) return false;
    const why = isTransientLoadError(err)
      ? `the model registry cannot be reached (${(err as Error).message})`
      : `${err instanceof ModelLoadError && err.modelVersion ? err.modelVersion : uri.text} cannot be loaded (${(err as Error).message})`;
    const staleReason = `${why}; serving ${found.name}/${found.version}, the newest cached version that loaded before`;
    logger.warn(
      {
        err,
        model_uri: uri.text,
        registry: source.description,
        model_version: `${found.name}/${found.version}`,
        stale_reason: staleReason,
      },
      'cannot load the model MODEL_URI names; serving the newest version that loaded before, marked stale',
    );
    try {
      await enqueue(() => install('refresh', { ...found, stale: true, staleReason }));
      return true;
    } catch (fallbackErr) {
      logger.error(
        { err: fallbackErr, model_version: `${found.name}/${found.version}` },
        'the version that loaded before cannot be loaded either',
      );
      return false;
    }
  };

  function schedule(): void {
    if (stopped || timer) return;
    // why: a stale model (registry down at start-up) is refreshed even with polling off, as soon as the registry answers.
    const ms = deps.pollIntervalMs > 0 ? deps.pollIntervalMs : slot.current?.info.stale ? retry.max : 0;
    if (ms === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      const trigger = slot.current?.info.stale ? 'refresh' : 'poll';
      reload(trigger).then(
        () => schedule(),
        (err: unknown) => {
          if (isTransientLoadError(err))
            logger.warn({ err, model_uri: uri.text, trigger }, 'model registry unreachable; still serving the current model');
          else
            logger.error(
              { err, model_uri: uri.text, trigger },
              `new model version refused; still serving the current model: ${(err as Error).message}`,
            );
          schedule();
        },
      );
    }, ms);
    timer.unref();
  }

  return {
    async start() {
      let wait = retry.initial;
      for (;;) {
        try {
          await reload('refresh');
          return;
        } catch (err) {
          if (stopped) throw err;
          if (await serveLastLoaded(err)) return;
          if (!isTransientLoadError(err)) throw err;
          lifecycle.notReadyReason = `the model registry cannot be reached; retrying every ${Math.round(wait / 1000)} s or less`;
          logger.warn(
            { err, model_uri: uri.text, registry: source.description, retry_ms: wait },
            'model registry unreachable and no cached copy; not ready, retrying',
          );
          await sleep(wait);
          if (stopped) throw err;
          wait = Math.min(wait * 2, retry.max);
        }
      }
    },
    reload,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      wake?.();
    },
  };
}
