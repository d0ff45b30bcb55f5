import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createMlflowClient } from '../../src/mlflow/client.js';
import { MODEL, recordingLogger, registerMlflow2Version, startHarness, type Harness } from '../support/mlflow-harness.js';

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
  registerMlflow2Version(h.fake, undefined, { aliases: ['champion'] });
});
afterEach(async () => {
  await h.close();
});

const ALIAS_PATH = '/api/2.0/mlflow/registered-models/alias';

describe('credentials', () => {
  test('When a token is configured, then every request carries it as a Bearer header', async () => {
    h.fake.requireAuth({ token: 's3cret' });
    const client = h.makeClient({ token: 's3cret' });

    await client.getModelVersionByAlias(MODEL, 'champion');

    expect(h.fake.requests[0].headers.authorization).toBe('Bearer s3cret');
    expect(h.fake.requests[0].headers['user-agent']).toMatch(/mlflow-client/);
  });

  test('When username and password are configured (and a token too), then Basic wins, as in MLflow', async () => {
    h.fake.requireAuth({ username: 'ana', password: 'p:w' });
    const client = h.makeClient({ username: 'ana', password: 'p:w', token: 'ignored' });

    await client.getModelVersionByAlias(MODEL, 'champion');

    expect(h.fake.requests[0].headers.authorization).toBe(`Basic ${Buffer.from('ana:p:w').toString('base64')}`);
  });

  test('When the tracking URI holds user:password, then they become Basic auth and never reach the URL', async () => {
    h.fake.requireAuth({ username: 'ana', password: 'pw' });
    const client = createMlflowClient({ trackingUri: h.fake.url.replace('http://', 'http://ana:pw@'), maxRetries: 0 });

    await client.getModelVersionByAlias(MODEL, 'champion');

    expect(h.fake.requests[0].headers.authorization).toBe(`Basic ${Buffer.from('ana:pw').toString('base64')}`);
    expect(client.trackingUri).toBe(h.fake.url);
  });

  test('When the server answers 401 in plain text, then unauthorized says so and names the variables, not retried', async () => {
    h.fake.requireAuth({ token: 'right' });
    const client = h.makeClient({ token: 'wrong' });

    const err = await client.getModelVersionByAlias(MODEL, 'champion').catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'unauthorized', status: 401 });
    expect((err as Error).message).toMatch(
      new RegExp(`^authentication failed \\(401\\) at ${h.fake.url}${ALIAS_PATH}\\?.*check MLFLOW_TRACKING_TOKEN`),
    );
    expect((err as Error).message).toMatch(/You are not authenticated/);
    expect(h.fake.requests).toHaveLength(1);
  });

  test('When the server answers 403 with HTML, then the HTML is not echoed', async () => {
    h.fake.failNext(1, { status: 403, body: '<!doctype html><html><body><h1>Forbidden</h1></body></html>', contentType: 'text/html' });

    const err = await h.client.getModelVersionByAlias(MODEL, 'champion').catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'unauthorized', status: 403 });
    expect((err as Error).message).not.toMatch(/<|html/i);
  });

  test('When the security middleware rejects the Host header, then the message points at --allowed-hosts', async () => {
    h.fake.failNext(1, { status: 403, body: 'Invalid Host header - possible DNS rebinding attack detected', contentType: 'text/plain' });

    await expect(h.client.getModelVersionByAlias(MODEL, 'champion')).rejects.toMatchObject({
      code: 'unauthorized',
      message: expect.stringMatching(/--allowed-hosts/),
    });
  });

  test('When credentials are accepted but permission is denied, then 403 is unauthorized', async () => {
    h.fake.requireAuth({ token: 't', deny: true });

    await expect(h.makeClient({ token: 't' }).getModelVersion(MODEL, '1')).rejects.toMatchObject({
      code: 'unauthorized',
      status: 403,
      message: expect.stringMatching(/Permission denied/),
    });
  });
});

describe('retries and failures', () => {
  test('When the server answers 503 then 429, then the client retries and succeeds, logging each retry', async () => {
    const logger = recordingLogger();
    h.fake.failNext(1, { status: 503, body: '{"error_code":"TEMPORARILY_UNAVAILABLE","message":"busy"}' }, { path: ALIAS_PATH });
    h.fake.failNext(
      1,
      { status: 429, body: '{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow down"}', headers: { 'Retry-After': '0' } },
      { path: ALIAS_PATH },
    );

    const mv = await h.makeClient({ logger }).getModelVersionByAlias(MODEL, 'champion');

    expect(mv.version).toBe('1');
    expect(h.fake.requests).toHaveLength(3);
    expect(logger.lines.map((l) => l.msg)).toEqual([
      'MLflow request failed (HTTP 503); retrying',
      'MLflow request failed (HTTP 429); retrying',
    ]);
  });

  test('When 5xx persists, then it gives up after maxRetries with unavailable naming host, status and retries', async () => {
    h.fake.failNext(10, { status: 500, body: HTML_500, contentType: 'text/html' });

    const err = await h.client.getModelVersion(MODEL, '1').catch((e: unknown) => e);

    expect(h.fake.requests).toHaveLength(4);
    expect(err).toMatchObject({ code: 'unavailable', status: 500, mlflowCode: 'INTERNAL_ERROR' });
    expect((err as Error).message).toMatch(new RegExp(`^MLflow at 127\\.0\\.0\\.1:${h.fake.port} answered 500 to GET .* after 3 retries$`));
  });

  test('When retries wait, then the n-th retry waits backoffFactor × 2^(n−1) (the first is immediate)', async () => {
    const logger = recordingLogger();
    h.fake.failNext(3, { status: 502, body: 'bad gateway', contentType: 'text/plain' });

    await h.makeClient({ logger, backoffFactor: 0.05 }).getModelVersion(MODEL, '1');

    expect(logger.lines.map((l) => (l.obj as { waitMs: number }).waitMs)).toEqual([0, 100, 200]);
  });

  test('When the connection is reset, then it is retried like any network error', async () => {
    h.fake.resetNext(2);

    expect((await h.client.getModelVersion(MODEL, '1')).version).toBe('1');
    expect(h.fake.requests).toHaveLength(3);
  });

  test('When the server does not answer in time, then each attempt times out and the error names the timeout variable', async () => {
    h.fake.hangNext(10);
    const client = h.makeClient({ timeoutMs: 150, maxRetries: 1 });
    const started = Date.now();

    const err = await client.getModelVersion(MODEL, '1').catch((e: unknown) => e);

    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(h.fake.requests).toHaveLength(2);
    expect(err).toMatchObject({ code: 'unavailable' });
    expect((err as Error).message).toMatch(/timed out \(no response for 0\.15s; MLFLOW_HTTP_REQUEST_TIMEOUT\) after 1 retry$/);
  });

  test('When nothing listens, then unavailable names the host and ECONNREFUSED after the retries', async () => {
    await h.fake.down();

    const err = await h.client.getModelVersionByAlias(MODEL, 'champion').catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'unavailable' });
    expect((err as Error).message).toMatch(
      new RegExp(`^cannot reach MLflow at 127\\.0\\.0\\.1:${h.fake.port} .*ECONNREFUSED.* after 3 retries$`),
    );
  });

  test('When the server comes back during the retries, then the call succeeds', async () => {
    await h.fake.down();
    const client = h.makeClient({ backoffFactor: 0.1, maxRetries: 5 });

    const pending = client.getModelVersion(MODEL, '1');
    setTimeout(() => void h.fake.up(), 150);

    expect((await pending).version).toBe('1');
  });

  test('When an unknown route answers an HTML 404, then it is not_found with ENDPOINT_NOT_FOUND and no HTML', async () => {
    const client = createMlflowClient({ trackingUri: `${h.fake.url}/wrong-prefix`, maxRetries: 0 });

    const err = await client.getModelVersion(MODEL, '1').catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'not_found', mlflowCode: 'ENDPOINT_NOT_FOUND', status: 404 });
    expect((err as Error).message).toMatch(/without MLflow's JSON error.*tracking URI/);
    expect((err as Error).message).not.toMatch(/<html/i);
  });

  test('When the server version is asked, then the plain-text /version body is returned', async () => {
    expect(await h.client.getServerVersion()).toBe('3.6.0');
  });

  test('When a 200 reply is not the documented shape, then bad_response names the field', async () => {
    h.fake.failNext(1, { status: 200, body: '{"model_version": {"name": "x"}}' });

    await expect(h.client.getModelVersion(MODEL, '1')).rejects.toMatchObject({
      code: 'bad_response',
      message: expect.stringMatching(/model_version\.version/),
    });
  });
});

describe('createMlflowClient', () => {
  test('When the tracking URI is not http(s), then the client refuses it', () => {
    expect(() => createMlflowClient({ trackingUri: 'file:./mlruns' })).toThrow(/only http:\/\/ and https:\/\//);
  });
});

const HTML_500 = '<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n';
