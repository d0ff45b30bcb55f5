/**
 * The request context shared by the MLflow call groups (registry reads, artifacts, tracking): URL
 * building under the tracking URI, and JSON replies parsed against the documented shape.
 */
import * as z from 'zod';
import { RegistryError } from './errors.js';
import { redact, type HttpRequest, type Transport } from './http.js';

export type Query = Record<string, string | string[] | undefined>;

export interface MlflowRest {
  /** The tracking URI without credentials, query or trailing slash. */
  readonly base: URL;
  readonly transport: Transport;
  /** `<tracking uri><path>` with single slashes, and query fields (arrays repeat the key). */
  url(path: string, query?: Query): URL;
  /** Sends the request and parses a 2xx JSON reply with `schema`; RegistryError otherwise. */
  call<T extends z.ZodTypeAny>(schema: T, req: HttpRequest): Promise<z.infer<T>>;
  /** GET /api/2.0/mlflow/<path>?<query>. */
  get<T extends z.ZodTypeAny>(schema: T, path: string, query: Query): Promise<z.infer<T>>;
  /** <method> /api/2.0/mlflow/<path> with a JSON body (DELETE included, as MLflow reads it there). */
  send<T extends z.ZodTypeAny>(
    schema: T,
    method: HttpRequest['method'],
    path: string,
    json: unknown,
    retry?: HttpRequest['retry'],
  ): Promise<z.infer<T>>;
}

/** A reply whose content we do not use (`{}` for most writes). */
export const Empty = z.object({}).passthrough();

export function createMlflowRest(base: URL, transport: Transport): MlflowRest {
  const url = (path: string, query: Query = {}) => {
    const u = new URL(base);
    u.pathname = `${u.pathname}/${path}`.replace(/\/{2,}/g, '/');
    for (const [key, value] of Object.entries(query)) {
      for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) u.searchParams.append(key, v);
    }
    return u;
  };
  const call = async <T extends z.ZodTypeAny>(schema: T, req: HttpRequest): Promise<z.infer<T>> => {
    const reply = await transport.send(req);
    const text = reply.body.toString('utf8').trim();
    let json: unknown = {};
    // why: MLflow's client reads an empty 200 or the text "200 OK" as {} (docs/mlflow-rest-contract.md, "Base URL and wire format").
    if (text !== '' && text !== '200 OK') {
      try {
        json = JSON.parse(text);
      } catch {
        throw new RegistryError('bad_response', `${req.method} ${redact(req.url)} answered ${reply.status} with a body that is not JSON`, {
          status: reply.status,
          url: redact(req.url),
        });
      }
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new RegistryError(
        'bad_response',
        `${req.method} ${redact(req.url)}: unexpected reply (${issue?.path.join('.') || 'body'}: ${issue?.message})`,
        { status: reply.status, url: redact(req.url), cause: parsed.error },
      );
    }
    return parsed.data;
  };
  return {
    base,
    transport,
    url,
    call,
    get: (schema, path, query) => call(schema, { method: 'GET', url: url(`/api/2.0/mlflow/${path}`, query) }),
    send: (schema, method, path, json, retry) => call(schema, { method, url: url(`/api/2.0/mlflow/${path}`), json, retry }),
  };
}
