import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { ConfigMap } from 'kubernetes-models/v1';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadStreamConfig } from '../../src/config.js';
import { REPO_ROOT } from '../support/app.js';

type Manifest = { apiVersion: string; kind: string; metadata: { name: string } } & Record<string, any>;

const DIR = join(REPO_ROOT, 'k8s', 'stream');
const manifests: Manifest[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(join(DIR, f), 'utf8')).map((d) => d.toJS() as Manifest));
const one = (kind: string) => manifests.find((m) => m.kind === kind)!;

describe('k8s/stream manifests', () => {
  test('When validated against the Kubernetes schemas, then the Deployment, ConfigMap and HPA pass', () => {
    expect(manifests.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler']);
    expect(() => new Deployment(one('Deployment') as never).validate()).not.toThrow();
    expect(() => new ConfigMap(one('ConfigMap') as never).validate()).not.toThrow();
    expect(() => new HorizontalPodAutoscaler(one('HorizontalPodAutoscaler') as never).validate()).not.toThrow();
  });

  test("When the ConfigMap is parsed by the consumer's own config loader, then it is valid and the pod runs dist/stream.js with probes and scraping on METRICS_PORT", () => {
    const config = loadStreamConfig(one('ConfigMap').data);
    const deployment = one('Deployment');
    const pod = deployment.spec.template;
    const [container] = pod.spec.containers;
    const port = container.ports.find((p: { name: string }) => p.name === 'metrics');

    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(container.command).toEqual(['node', '--max-semi-space-size=4', 'dist/stream.js']);
    expect(container.envFrom).toEqual([{ configMapRef: { name: one('ConfigMap').metadata.name } }]);
    expect(container.env).toEqual([{ name: 'CONSUMER_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]);
    expect(port.containerPort).toBe(config.METRICS_PORT);
    expect(pod.metadata.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(config.METRICS_PORT),
      'prometheus.io/path': '/metrics',
    });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(pod.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.SHUTDOWN_TIMEOUT_MS);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(config.MODEL_CACHE_DIR).toBe(container.volumeMounts[0].mountPath);
  });

  test('When the HPA is read, then it scales the consumer Deployment by the group lag metric', () => {
    const hpa = one('HorizontalPodAutoscaler');

    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: one('Deployment').metadata.name });
    expect(hpa.spec.metrics).toEqual([
      expect.objectContaining({
        type: 'External',
        external: expect.objectContaining({ metric: expect.objectContaining({ name: 'stream_lag_entries' }) }),
      }),
    ]);
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
  });
});
