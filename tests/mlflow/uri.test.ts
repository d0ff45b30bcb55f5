import { describe, expect, test } from 'vitest';
import { isMlflowUri, joinArtifactPath, parseMlflowUri } from '../../src/mlflow/uri.js';

describe('parseMlflowUri', () => {
  test.each([
    ['models:/nyc-taxi-duration@champion', { kind: 'alias', name: 'nyc-taxi-duration', alias: 'champion' }],
    ['models:/a@b@champion', { kind: 'alias', name: 'a@b', alias: 'champion' }],
    ['models:/nyc-taxi-duration/3', { kind: 'version', name: 'nyc-taxi-duration', version: '3' }],
    ['models:/nyc-taxi-duration/03', { kind: 'version', name: 'nyc-taxi-duration', version: '3' }],
    ['models:/nyc-taxi-duration/Production', { kind: 'stage', name: 'nyc-taxi-duration', stage: 'Production' }],
    ['models:/nyc-taxi-duration/LATEST', { kind: 'latest', name: 'nyc-taxi-duration' }],
    ['models:/nyc-taxi-duration@latest', { kind: 'latest', name: 'nyc-taxi-duration' }],
    ['models:/m-0b7c5d2f6a9e4f1b8c3d2e1f0a9b8c7d', { kind: 'logged-model', modelId: 'm-0b7c5d2f6a9e4f1b8c3d2e1f0a9b8c7d' }],
    ['runs:/6dd459b11b4e48dc862f4e1019d166f6/model', { kind: 'run', runId: '6dd459b11b4e48dc862f4e1019d166f6', path: 'model' }],
    ['runs:/6dd459b11b4e48dc862f4e1019d166f6/sub/model/', { kind: 'run', runId: '6dd459b11b4e48dc862f4e1019d166f6', path: 'sub/model' }],
    ['mlflow-artifacts:/1/abc/artifacts/model', { kind: 'artifacts', artifactUri: 'mlflow-artifacts:/1/abc/artifacts/model' }],
  ])('When the URI is %s, then it parses to the matching form', (text, expected) => {
    expect(parseMlflowUri(text)).toMatchObject({ ...expected, text });
  });

  test('When the URI names a stage or latest, then it carries a deprecation warning pointing at aliases', () => {
    const stage = parseMlflowUri('models:/m/Staging');
    const latest = parseMlflowUri('models:/m/latest');
    expect(stage).toMatchObject({ warning: expect.stringMatching(/deprecated.*alias/) });
    expect(latest).toMatchObject({ warning: expect.stringMatching(/deprecated.*alias/) });
    expect(parseMlflowUri('models:/m@champion')).not.toHaveProperty('warning');
  });

  test.each([
    ['models:/a/3/extra', /Not a proper models:\/ URI/],
    ['models:/', /no model name/],
    ['models:/name@', /<name>@<alias>/],
    ['models:/a@b/3', /alias cannot be followed/],
    ['models://profile/a/3', /single "\/"/],
    ['runs:/', /Not a proper runs:\/ URI/],
    ['runs:/abc/../etc', /unsafe/],
    ['s3://bucket/model', /unsupported model URI/],
  ])('When the URI is %s, then it is refused with a message saying why', (text, message) => {
    expect(() => parseMlflowUri(text)).toThrow(message);
  });

  test('When a URI is file: or http:, then isMlflowUri says it belongs elsewhere', () => {
    expect(isMlflowUri('file:models')).toBe(false);
    expect(isMlflowUri('models:/m@a')).toBe(true);
    expect(isMlflowUri('runs:/r/model')).toBe(true);
  });

  test('When artifact paths are joined, then slashes collapse and traversal is refused', () => {
    expect(joinArtifactPath('1/run/artifacts/', '/model', 'a.txt')).toBe('1/run/artifacts/model/a.txt');
    expect(() => joinArtifactPath('model', '../secrets')).toThrow(/unsafe/);
  });
});
