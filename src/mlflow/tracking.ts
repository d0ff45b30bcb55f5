/**
 * Tracking and registration calls (docs/mlflow-rest-contract.md, "Logging a run and registering a model"), for the training CLI's `--registry http(s)://`:
 * experiment, run, log-batch, finish, registered model, model version and alias.
 */
import * as z from 'zod';
import { RegistryError, isRegistryError } from './errors.js';
import { Empty, type MlflowRest } from './rest.js';
import * as S from './schemas.js';

export interface LogBatch {
  params?: Record<string, string | number | boolean>;
  /** Each metric: a value, or a value with its step and timestamp (ms; default now). */
  metrics?: Record<string, number | { value: number; step?: number; timestamp?: number }>;
  tags?: Record<string, string>;
}

export function createTrackingCalls(rest: MlflowRest) {
  const { get, send } = rest;
  const calls = {
    /** The experiment with this name, or undefined when there is none. */
    async getExperimentByName(name: string): Promise<S.Experiment | undefined> {
      try {
        return (await get(S.ExperimentReply, 'experiments/get-by-name', { experiment_name: name })).experiment;
      } catch (err) {
        if (isRegistryError(err, 'not_found') && err.mlflowCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
        throw err;
      }
    },

    /** Finds or creates an active experiment; survives a concurrent creator (RESOURCE_ALREADY_EXISTS). */
    async getOrCreateExperiment(name: string, tags: Record<string, string> = {}): Promise<S.Experiment> {
      let found = await calls.getExperimentByName(name);
      if (!found) {
        try {
          await send(S.CreateExperimentReply, 'POST', 'experiments/create', { name, tags: toTags(tags) });
        } catch (err) {
          if (!(isRegistryError(err) && err.mlflowCode === 'RESOURCE_ALREADY_EXISTS')) throw err;
        }
        found = await calls.getExperimentByName(name);
      }
      if (!found) throw new RegistryError('bad_response', `experiment "${name}" was created but cannot be read back`);
      if (found.lifecycle_stage && found.lifecycle_stage !== 'active') {
        throw new RegistryError(
          'rejected',
          `experiment "${name}" (id ${found.experiment_id}) is ${found.lifecycle_stage}; restore it or choose another name`,
        );
      }
      return found;
    },

    async createRun(input: {
      experimentId: string;
      runName?: string;
      startTime?: number;
      tags?: Record<string, string>;
    }): Promise<S.RunInfo> {
      const reply = await send(S.RunReply, 'POST', 'runs/create', {
        experiment_id: input.experimentId,
        run_name: input.runName,
        start_time: input.startTime ?? Date.now(),
        tags: toTags(input.tags ?? {}),
      });
      return reply.run.info;
    },

    /** Logs params, metrics and tags, split into requests within MLflow's per-request limits. */
    async logBatch(runId: string, batch: LogBatch): Promise<void> {
      const now = Date.now();
      const params = Object.entries(batch.params ?? {}).map(([key, value]) => ({ key, value: String(value) }));
      const tags = toTags(batch.tags ?? {});
      const metrics = Object.entries(batch.metrics ?? {}).map(([key, m]) => {
        const { value, step = 0, timestamp = now } = typeof m === 'number' ? { value: m } : m;
        // why: protobuf JSON carries non-finite doubles as the strings NaN / Infinity / -Infinity.
        const wire = Number.isNaN(value) ? 'NaN' : value === Infinity ? 'Infinity' : value === -Infinity ? '-Infinity' : value;
        return { key, value: wire, timestamp, step };
      });
      for (const chunk of chunks(params, 100)) await send(Empty, 'POST', 'runs/log-batch', { run_id: runId, params: chunk });
      for (const chunk of chunks(tags, 100)) await send(Empty, 'POST', 'runs/log-batch', { run_id: runId, tags: chunk });
      for (const chunk of chunks(metrics, 1000)) await send(Empty, 'POST', 'runs/log-batch', { run_id: runId, metrics: chunk });
    },

    async updateRun(runId: string, status: 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED', endTime = Date.now()): Promise<S.RunInfo> {
      const reply = await send(z.object({ run_info: S.RunInfo.partial().optional() }), 'POST', 'runs/update', {
        run_id: runId,
        status,
        end_time: endTime,
      });
      return { run_id: runId, status, end_time: endTime, ...reply.run_info };
    },

    /** Creates the registered model; `created: false` when it already existed (not an error). */
    async createRegisteredModel(name: string, description?: string): Promise<{ created: boolean }> {
      try {
        await send(Empty, 'POST', 'registered-models/create', { name, description });
        return { created: true };
      } catch (err) {
        if (isRegistryError(err) && (err.mlflowCode === 'RESOURCE_ALREADY_EXISTS' || err.mlflowCode === 'ALREADY_EXISTS'))
          return { created: false };
        throw err;
      }
    },

    /**
     * Registers a new version. Retried only when the server surely did nothing (refused connection,
     * 429, 503): a retried create that had reached the server would register the model twice.
     */
    async createModelVersion(input: {
      name: string;
      source: string;
      runId?: string;
      tags?: Record<string, string>;
      description?: string;
      modelId?: string;
    }): Promise<S.ModelVersion> {
      const reply = await send(
        S.ModelVersionReply,
        'POST',
        'model-versions/create',
        {
          name: input.name,
          source: input.source,
          run_id: input.runId,
          tags: toTags(input.tags ?? {}),
          description: input.description,
          model_id: input.modelId,
        },
        'refused',
      );
      return reply.model_version;
    },

    /** Points the alias at the version (moves it when already set). */
    async setModelVersionAlias(name: string, alias: string, version: string): Promise<void> {
      await send(Empty, 'POST', 'registered-models/alias', { name, alias, version });
    },

    /** Removes the alias; DELETE with a JSON body, as MLflow reads DELETE parameters from the body. */
    async deleteModelVersionAlias(name: string, alias: string): Promise<void> {
      await send(Empty, 'DELETE', 'registered-models/alias', { name, alias });
    },
  };
  return calls;
}

function toTags(tags: Record<string, string>): S.Tag[] {
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
