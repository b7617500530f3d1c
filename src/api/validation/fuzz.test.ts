import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../types.ts';
import { compileCrdSchema, pruneBySchema, validateObject } from './index.ts';
import { applyDefaults } from './defaults.ts';
import { seededRandom } from '../../seeded.test-helper.ts';


const KEYS = [
  'pods', 'deployments.apps', 'replicasets.apps', 'services', 'endpoints', 'endpointslices.discovery.k8s.io', 'configmaps', 'secrets',
  'serviceaccounts', 'namespaces', 'nodes', 'events', 'ingresses.networking.k8s.io', 'ingressclasses.networking.k8s.io', 'jobs.batch',
  'customresourcedefinitions.apiextensions.k8s.io', 'widgets.example.com',
];

const template = {
  metadata: { labels: { app: 'a' } },
  spec: {
    volumes: [{ name: 'v', configMap: { name: 'c' } }],
    containers: [{
      name: 'c', image: 'img:1', ports: [{ containerPort: 80, name: 'http' }], env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'x' } } }],
      volumeMounts: [{ name: 'v', mountPath: '/v' }], livenessProbe: { httpGet: { port: 80 } }, envFrom: [{ configMapRef: { name: 'c' } }],
    }],
    tolerations: [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }],
  },
};

const SEEDS: Record<string, unknown> = {
  pods: { metadata: { name: 'p', labels: { a: 'b' } }, spec: template.spec },
  'deployments.apps': { metadata: { name: 'd' }, spec: { replicas: 2, selector: { matchLabels: { app: 'a' }, matchExpressions: [{ key: 'app', operator: 'In', values: ['a'] }] }, template, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '10%' } } } },
  'replicasets.apps': { metadata: { name: 'r' }, spec: { selector: { matchLabels: { app: 'a' } }, template } },
  'jobs.batch': { metadata: { name: 'j', uid: 'u' }, spec: { template: { ...template, spec: { ...template.spec, restartPolicy: 'Never' } } } },
  services: { metadata: { name: 's' }, spec: { type: 'NodePort', clusterIP: '10.0.0.1', ports: [{ name: 'a', port: 80, nodePort: 30001 }, { name: 'b', port: 81, targetPort: 'http' }], selector: { app: 'a' } } },
  endpoints: { metadata: { name: 'e' }, subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }] },
  'endpointslices.discovery.k8s.io': { metadata: { name: 'es' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }], ports: [{ port: 80 }] },
  configmaps: { metadata: { name: 'c' }, data: { a: 'b' }, binaryData: { b: 'AAAA' } },
  secrets: { metadata: { name: 's' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'AAAA', 'tls.key': 'AAAA' }, stringData: { x: 'y' } },
  serviceaccounts: { metadata: { name: 'sa' }, secrets: [{ name: 'x' }] },
  namespaces: { metadata: { name: 'ns' }, spec: { finalizers: ['kubernetes'] } },
  nodes: { metadata: { name: 'n' }, spec: { taints: [{ key: 'k', effect: 'NoSchedule' }] } },
  events: { metadata: { name: 'e.1', namespace: 'a' }, involvedObject: { namespace: 'a', name: 'p' }, reason: 'R' },
  'ingresses.networking.k8s.io': { metadata: { name: 'i' }, spec: { tls: [{ hosts: ['a.com'] }], rules: [{ host: 'a.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 's', port: { number: 80 } } } }] } }] } },
  'ingressclasses.networking.k8s.io': { metadata: { name: 'ic' }, spec: { controller: 'example.com/ctrl', parameters: { kind: 'K', name: 'n' } } },
  'customresourcedefinitions.apiextensions.k8s.io': {
    metadata: { name: 'ws.example.com' },
    spec: { group: 'example.com', scope: 'Namespaced', names: { plural: 'ws', kind: 'W' }, versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object' } } } } }] },
  },
  'widgets.example.com': { metadata: { name: 'w' }, spec: { size: 1 } },
};

const SCHEMA = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['a'],
      properties: {
        a: { type: 'string', pattern: '^x', maxLength: 4 },
        b: { type: 'array', items: { type: 'object', properties: { c: { type: 'integer', minimum: 0 } } }, 'x-kubernetes-list-type': 'atomic' },
        m: { type: 'object', additionalProperties: { type: 'string' } },
        p: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        i: { 'x-kubernetes-int-or-string': true },
        o: { oneOf: [{ required: ['x'] }, { required: ['y'] }] },
      },
    },
  },
};

function randomValue(r: () => number, depth = 0): unknown {
  const pick = Math.floor(r() * 14);
  switch (pick) {
    case 0: return null;
    case 1: return '';
    case 2: return 'Bad_Name*';
    case 3: return -1;
    case 4: return 1.5;
    case 5: return 2 ** 53;
    case 6: return true;
    case 7: return 'x'.repeat(Math.floor(r() * 300));
    case 8: return depth > 3 ? [] : [randomValue(r, depth + 1), randomValue(r, depth + 1)];
    case 9: return depth > 3 ? {} : { [String(Math.floor(r() * 5))]: randomValue(r, depth + 1), name: randomValue(r, depth + 1) };
    case 10: return JSON.parse('{"__proto__": {"polluted": 1}, "constructor": "x"}');
    case 11: return 0;
    case 12: return '65536';
    default: return 'None';
  }
}

function mutate(v: unknown, r: () => number, depth = 0): unknown {
  if (r() < 0.08 || depth > 6) return randomValue(r);
  if (Array.isArray(v)) return v.map((x) => mutate(x, r, depth + 1));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (r() > 0.05) out[k] = mutate(x, r, depth + 1);
    if (r() < 0.05) out[`extra${Math.floor(r() * 3)}`] = randomValue(r);
    return out;
  }
  return v;
}

test('validation survives 3,000 random and mutated objects without throwing', () => {
  const r = seededRandom(20241201);
  const validateCr = compileCrdSchema(SCHEMA);
  for (let i = 0; i < 3000; i++) {
    const key = KEYS[i % KEYS.length];
    const obj = (r() < 0.1 ? randomValue(r) : mutate(structuredClone(SEEDS[key]), r)) as KObject;
    const old = r() < 0.3 ? (mutate(structuredClone(SEEDS[key]), r) as KObject) : undefined;
    const label = `iteration ${i} (${key}): ${JSON.stringify(obj)?.slice(0, 300)}`;
    try {
      if (obj && typeof obj === 'object') applyDefaults(key, obj);
      const causes = validateObject(key, obj, old);
      assert.ok(Array.isArray(causes), label);
      for (const c of causes) {
        assert.equal(typeof c.message, 'string', label);
        assert.ok(!c.message.startsWith('Internal error'), `${label}: ${c.message}`);
      }
      const cr = { apiVersion: 'example.com/v1', kind: 'W', metadata: { name: 'w' }, spec: mutate({ a: 'x1', b: [{ c: 1 }], m: { k: 'v' }, p: { q: 1 }, i: 1, o: { x: 1 } }, r) } as KObject;
      validateCr(cr);
      pruneBySchema(cr, SCHEMA);
      validateCr(obj);
      pruneBySchema(obj, SCHEMA);
    } catch (err) {
      assert.fail(`${label}: ${err instanceof Error ? err.stack : String(err)}`);
    }
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
