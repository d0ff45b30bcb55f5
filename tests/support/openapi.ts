/**
 * Checks HTTP responses against the service's OpenAPI document: the operation (method + path
 * template), the status, the media type, and the body against the response schema (ajv, JSON Schema
 * 2020-12). Tests call `conforms` on what they receive, so the document cannot drift from the code.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { openApiDocument } from '../../src/http/openapi.js';

type Json = Record<string, any>;

export interface Received {
  method: string;
  /** The request path, e.g. /v2/models/taxi-ride-duration/infer (query ignored). */
  path: string;
  status: number;
  contentType: string | null;
  body: string;
}

export function openApiChecker(doc: Json = openApiDocument()) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'openapi', components: doc.components });
  const templates = Object.keys(doc.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}/?$`, 'i'),
    // why: a literal path wins over a template that also matches it.
    literal: !template.includes('{'),
  }));
  const checked = new Set<string>();
  const compiled = new Map<unknown, ReturnType<typeof ajv.compile>>();
  const validatorOf = (schema: Json) => {
    let validate = compiled.get(schema);
    if (validate === undefined) {
      // why: `#/components/...` references resolve inside the document registered as `openapi`.
      const ref: string | undefined = schema.$ref;
      validate = ajv.compile(ref === undefined ? schema : { $ref: `openapi${ref}` });
      compiled.set(schema, validate);
    }
    return validate;
  };

  /** Throws with a readable reason when the response does not conform. */
  function conforms(r: Received): void {
    const path = r.path.split('?')[0];
    const match = templates.filter((t) => t.pattern.test(path)).sort((a, b) => Number(b.literal) - Number(a.literal))[0];
    if (match === undefined) throw new Error(`${r.method} ${path}: no path of the OpenAPI document matches`);
    const operation = doc.paths[match.template][r.method.toLowerCase() === 'head' ? 'get' : r.method.toLowerCase()];
    if (operation === undefined) throw new Error(`${r.method} ${match.template}: not documented`);
    const response = operation.responses[String(r.status)];
    if (response === undefined)
      throw new Error(`${r.method} ${match.template}: status ${r.status} not documented (body ${r.body.slice(0, 200)})`);
    checked.add(`${r.method.toUpperCase()} ${match.template} ${r.status}`);
    if (response.content === undefined || r.body === '' || r.body === '\n') return;
    const media = (r.contentType ?? '').split(';')[0].trim();
    const content = response.content[media];
    if (content === undefined)
      throw new Error(
        `${r.method} ${match.template} ${r.status}: media type ${media} not documented (${Object.keys(response.content).join(', ')})`,
      );
    if (!media.endsWith('json')) return;
    const validate = validatorOf(content.schema);
    const body = JSON.parse(r.body);
    if (!validate(body)) {
      throw new Error(
        `${r.method} ${match.template} ${r.status}: body does not match the schema: ${ajv.errorsText(validate.errors)}\n${r.body.slice(0, 400)}`,
      );
    }
  }

  /** fetch + conforms: the response's text, status and headers. */
  async function fetchChecked(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; text: string; json(): any }> {
    const res = await fetch(url, init);
    const text = await res.text();
    conforms({
      method: init?.method ?? 'GET',
      path: new URL(url).pathname,
      status: res.status,
      contentType: res.headers.get('content-type'),
      body: text,
    });
    return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
  }

  return { conforms, fetchChecked, checked };
}
