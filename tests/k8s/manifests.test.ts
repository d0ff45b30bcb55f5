import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import request from 'supertest';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ROUTES } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { REPO_ROOT, buildApp } from '../support/app.js';

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> } } & Record<string, any>;

const K8S = join(REPO_ROOT, 'k8s');
const manifests: Manifest[] = readdirSync(K8S)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(join(K8S, f), 'utf8')).map((d) => d.toJS() as Manifest));
const one = (kind: string) => {
  const found = manifests.filter((m) => m.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0];
};

const SCHEMAS: Record<string, { validate(): void; new (data: any): { validate(): void } } | undefined> = {
  'apps/v1/Deployment': Deployment as never,
  'v1/Service': Service as never,
  'v1/ConfigMap': ConfigMap as never,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler as never,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as never,
};

describe('k8s manifests', () => {
  test('When validated against the Kubernetes schemas, then every built-in manifest passes', () => {
    const builtIn = manifests.filter((m) => m.apiVersion !== 'monitoring.coreos.com/v1');

    expect(builtIn.map((m) => m.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'Service',
    ]);
    for (const m of builtIn) {
      const Model = SCHEMAS[`${m.apiVersion}/${m.kind}`];
      expect(Model, `${m.apiVersion} ${m.kind}`).toBeDefined();
      expect(() => new Model!(m).validate(), `${m.kind} ${m.metadata.name}`).not.toThrow();
    }
  });

  test('When the schema check sees a wrong type, then it fails (the validator is live)', () => {
    const broken = structuredClone(one('Deployment'));
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'http';

    expect(() => new Deployment(broken).validate()).toThrow(/containerPort/);
  });

  test('When the ServiceMonitor is checked by hand (kubernetes-models has no CRD schemas), then it selects the Service and scrapes /metrics on its port', () => {
    const monitor = one('ServiceMonitor');
    const service = one('Service');

    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(Object.keys(monitor.spec).sort()).toEqual(['endpoints', 'selector']);
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.endpoints).toEqual([
      {
        port: service.spec.ports[0].name,
        path: ROUTES.metrics,
        interval: expect.stringMatching(/^\d+s$/),
        scrapeTimeout: expect.stringMatching(/^\d+s$/),
      },
    ]);
  });

  test("When the ConfigMap is parsed by the service's own config loader, then every key is known and valid", () => {
    const data: Record<string, string> = one('ConfigMap').data;
    const known = Object.keys(loadConfig({}));

    expect(Object.keys(data).filter((k) => !known.includes(k))).toEqual([]);
    expect(() => loadConfig(data)).not.toThrow();
  });

  test('When the Deployment is read, then probes, ports, resources and security match the app', async () => {
    const deployment = one('Deployment');
    const config = loadConfig(one('ConfigMap').data);
    const pod = deployment.spec.template;
    const [container] = pod.spec.containers;
    const http = container.ports.find((p: { name: string }) => p.name === 'http');

    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(http.containerPort).toBe(loadConfig({}).PORT);
    expect(http.containerPort).toBe(config.PORT);
    expect(container.envFrom).toEqual([{ configMapRef: { name: one('ConfigMap').metadata.name } }]);
    expect(container.readinessProbe.httpGet).toEqual({ path: ROUTES.readyz, port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: ROUTES.healthz, port: 'http' });
    expect(container.startupProbe.httpGet).toEqual({ path: ROUTES.healthz, port: 'http' });
    expect(container.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(container.resources.limits).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(pod.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.SHUTDOWN_DRAIN_MS + config.SHUTDOWN_TIMEOUT_MS);
    expect(pod.metadata.annotations).toEqual({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': String(http.containerPort),
      'prometheus.io/path': ROUTES.metrics,
    });
    expect(pod.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);

    const { app } = await buildApp();
    for (const path of [
      container.readinessProbe.httpGet.path,
      container.livenessProbe.httpGet.path,
      pod.metadata.annotations['prometheus.io/path'],
    ]) {
      expect((await request(app).get(path)).status, path).toBe(200);
    }
  });

  test('When the Dockerfile user is compared with the pod, then the uid is the non-root node user', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');

    expect(dockerfile).toMatch(/^USER node$/m);
    expect(one('Deployment').spec.template.spec.securityContext.runAsUser).toBe(1000);
  });

  test('When Service, HPA and PDB are read, then they point at the Deployment and its pods', () => {
    const deployment = one('Deployment');
    const podLabels = deployment.spec.template.metadata.labels;
    const service = one('Service');
    const hpa = one('HorizontalPodAutoscaler');
    const pdb = one('PodDisruptionBudget');

    expect(podLabels).toMatchObject(service.spec.selector);
    expect(service.spec.ports[0].targetPort).toBe('http');
    expect(service.metadata.name).toBe('taxi-ride-duration');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    expect(podLabels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(pdb.spec.minAvailable).toBeLessThan(hpa.spec.minReplicas);
  });

  test('When the CPU request and the HPA target are multiplied, then the scale-out point is the one docs/operations.md sized, below the limit', () => {
    const { resources } = one('Deployment').spec.template.spec.containers[0];
    const [metric] = one('HorizontalPodAutoscaler').spec.metrics;
    const millicores = (cpu: string) => (cpu.endsWith('m') ? Number(cpu.slice(0, -1)) : Number(cpu) * 1000);
    const scaleOutAt = (millicores(resources.requests.cpu) * metric.resource.target.averageUtilization) / 100;
    const operations = readFileSync(join(REPO_ROOT, 'docs/operations.md'), 'utf8');

    // why: the autoscaler's utilization is a share of the request, so a new request or target moves the
    // load a pod carries before it scales out; the Sizing section's measurements must be redone with it.
    expect(metric.resource).toMatchObject({ name: 'cpu', target: { type: 'Utilization' } });
    expect(operations).toContain(`at ${scaleOutAt} millicores`);
    expect(operations).toContain(`CPU request ${resources.requests.cpu}, limit ${resources.limits.cpu}`);
    expect(scaleOutAt).toBeLessThan(millicores(resources.limits.cpu));
  });
});
