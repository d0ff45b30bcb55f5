/**
 * The JSON shapes MLflow answers with (docs/mlflow-rest-contract.md, "Resolving a model URI", docs/mlflow-rest-contract.md, "Downloading artifacts", docs/mlflow-rest-contract.md, "Logging a run and registering a model"). MLflow leaves out unset fields and empty
 * lists entirely, so every list defaults to [] and every optional string to undefined; a field we do
 * not use is not declared, so a newer server adding fields does not break us.
 */
import * as z from 'zod';

const Tag = z.object({ key: z.string(), value: z.string().default('') });
export type Tag = z.infer<typeof Tag>;

export const ModelVersion = z.object({
  name: z.string(),
  // why: the proto declares version as a string; a number would mean a non-MLflow server, so accept and normalise.
  version: z.union([z.string(), z.number()]).transform(String),
  creation_timestamp: z.number().optional(),
  last_updated_timestamp: z.number().optional(),
  current_stage: z.string().optional(),
  description: z.string().optional(),
  source: z.string().optional(),
  run_id: z.string().optional(),
  status: z.string().optional(),
  status_message: z.string().optional(),
  tags: z.array(Tag).default([]),
  aliases: z.array(z.string()).default([]),
  // why: declared in the proto but not filled in by OSS MLflow 3.6 (docs/mlflow-rest-contract.md, "Open points"); used when present.
  model_id: z.string().optional(),
});
export type ModelVersion = z.infer<typeof ModelVersion>;

export const ModelVersionReply = z.object({ model_version: ModelVersion });
export const LatestVersionsReply = z.object({ model_versions: z.array(ModelVersion).default([]) });
export const DownloadUriReply = z.object({ artifact_uri: z.string().min(1) });

export const FileInfo = z.object({
  path: z.string(),
  is_dir: z.boolean().default(false),
  file_size: z.number().optional(),
});
export type FileInfo = z.infer<typeof FileInfo>;
export const ProxyListReply = z.object({ files: z.array(FileInfo).default([]) });
export const RunListReply = z.object({
  root_uri: z.string().optional(),
  files: z.array(FileInfo).default([]),
  next_page_token: z.string().optional(),
});

export const RunInfo = z.object({
  run_id: z.string(),
  experiment_id: z.string().optional(),
  run_name: z.string().optional(),
  status: z.string().optional(),
  start_time: z.number().optional(),
  end_time: z.number().optional(),
  artifact_uri: z.string().optional(),
  lifecycle_stage: z.string().optional(),
});
export type RunInfo = z.infer<typeof RunInfo>;

export const Run = z.object({
  info: RunInfo,
  outputs: z
    .object({ model_outputs: z.array(z.object({ model_id: z.string(), step: z.number().default(0) })).default([]) })
    .default({ model_outputs: [] }),
});
export type Run = z.infer<typeof Run>;
export const RunReply = z.object({ run: Run });

export const LoggedModelInfo = z.object({
  model_id: z.string(),
  experiment_id: z.string().optional(),
  name: z.string().optional(),
  artifact_uri: z.string().min(1),
  status: z.string().optional(),
  source_run_id: z.string().optional(),
  tags: z.array(Tag).default([]),
});
export type LoggedModelInfo = z.infer<typeof LoggedModelInfo>;
export const LoggedModelReply = z.object({ model: z.object({ info: LoggedModelInfo }) });

export const Experiment = z.object({
  experiment_id: z.string(),
  name: z.string(),
  artifact_location: z.string().optional(),
  lifecycle_stage: z.string().optional(),
});
export type Experiment = z.infer<typeof Experiment>;
export const ExperimentReply = z.object({ experiment: Experiment });
export const CreateExperimentReply = z.object({ experiment_id: z.string() });
