import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cause, KObject } from '../types.ts';
import { defaultObject, validateObject } from './index.ts';

function deployment(): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'userlist', namespace: 'user11', labels: { app: 'userlist' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'userlist' } },
      template: {
        metadata: { labels: { app: 'userlist' } },
        spec: { containers: [{ name: 'userlist', image: 'ssongman/userlist:v1', ports: [{ containerPort: 8181 }] }] },
      },
    },
  };
}

function service(): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'userlist-svc', namespace: 'user11' },
    spec: { selector: { app: 'userlist' }, ports: [{ name: 'http', port: 80, targetPort: 8181 }] },
  };
}

function check(key: string, obj: KObject, old?: KObject): Cause[] {
  defaultObject(key, obj);
  return validateObject(key, obj, old);
}

function has(causes: Cause[], field: string, reason: Cause['reason']): Cause {
  const c = causes.find((x) => x.field === field && x.reason === reason);
  assert.ok(c, `expected ${reason} at ${field}, got ${JSON.stringify(causes)}`);
  return c;
}

test('defaultObject() fills the course deployment with upstream defaults and it validates', () => {
  const d = deployment();
  assert.deepEqual(check('deployments.apps', d), []);
  assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
  assert.equal(d.spec.revisionHistoryLimit, 10);
  assert.equal(d.spec.progressDeadlineSeconds, 600);
  const pod = d.spec.template.spec;
  assert.equal(pod.restartPolicy, 'Always');
  assert.equal(pod.dnsPolicy, 'ClusterFirst');
  assert.equal(pod.schedulerName, 'default-scheduler');
  assert.equal(pod.terminationGracePeriodSeconds, 30);
  assert.deepEqual(pod.securityContext, {});
  const c = pod.containers[0];
  assert.equal(c.imagePullPolicy, 'IfNotPresent');
  assert.equal(c.terminationMessagePath, '/dev/termination-log');
  assert.equal(c.terminationMessagePolicy, 'File');
  assert.deepEqual(c.ports, [{ containerPort: 8181, protocol: 'TCP' }]);
});

test('defaultObject() picks imagePullPolicy Always for :latest and untagged images', () => {
  const d = deployment();
  d.spec.template.spec.containers.push({ name: 'b', image: 'nginx' }, { name: 'c', image: 'nginx:latest' }, { name: 'd', image: 'reg:5000/x@sha256:abc' });
  defaultObject('deployments.apps', d);
  assert.deepEqual(d.spec.template.spec.containers.map((c: { imagePullPolicy: string }) => c.imagePullPolicy), ['IfNotPresent', 'Always', 'Always', 'IfNotPresent']);
});

test('defaultObject() fills service defaults and the course service validates', () => {
  const s = service();
  assert.deepEqual(check('services', s), []);
  assert.equal(s.spec.type, 'ClusterIP');
  assert.equal(s.spec.sessionAffinity, 'None');
  assert.equal(s.spec.internalTrafficPolicy, 'Cluster');
  assert.equal(s.spec.ipFamilyPolicy, 'SingleStack');
  assert.deepEqual(s.spec.ipFamilies, ['IPv4']);
  assert.equal(s.spec.ports[0].protocol, 'TCP');
  assert.equal(s.spec.externalTrafficPolicy, undefined);
  const np = service();
  np.spec.type = 'NodePort';
  delete np.spec.ports[0].targetPort;
  assert.deepEqual(check('services', np), []);
  assert.equal(np.spec.externalTrafficPolicy, 'Cluster');
  assert.equal(np.spec.ports[0].targetPort, 80);
});

test('defaultObject() fills pod, job, secret and namespace defaults', () => {
  const pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox', livenessProbe: { httpGet: { port: 80 } } }] } } as KObject;
  assert.deepEqual(check('pods', pod), []);
  assert.equal(pod.spec.serviceAccountName, 'default');
  assert.equal(pod.spec.enableServiceLinks, true);
  assert.deepEqual(pod.spec.containers[0].livenessProbe, { httpGet: { port: 80, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
  const job = { metadata: { name: 'j', uid: 'u1' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } } as KObject;
  assert.deepEqual(check('jobs.batch', job), []);
  assert.equal(job.spec.completions, 1);
  assert.equal(job.spec.parallelism, 1);
  assert.equal(job.spec.backoffLimit, 6);
  assert.equal(job.spec.completionMode, 'NonIndexed');
  const secret = { metadata: { name: 's' }, stringData: { user: 'admin' } } as KObject;
  assert.deepEqual(check('secrets', secret), []);
  assert.equal(secret.type, 'Opaque');
  assert.deepEqual(secret.data, { user: 'YWRtaW4=' });
  const ns = { metadata: { name: 'user11' } } as KObject;
  assert.deepEqual(check('namespaces', ns), []);
  assert.deepEqual(ns.spec.finalizers, ['kubernetes']);
});

test('validateObject() rejects bad names with the RFC 1123 message', () => {
  const d = deployment();
  d.metadata.name = 'Bad_Name';
  const c = has(check('deployments.apps', d), 'metadata.name', 'FieldValueInvalid');
  assert.match(c.message, /^Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters/);
  const missing = deployment();
  delete missing.metadata.name;
  assert.equal(has(check('deployments.apps', missing), 'metadata.name', 'FieldValueRequired').message, 'Required value: name or generateName is required');
  const ns = { metadata: { name: 'a.b' } } as KObject;
  assert.equal(has(check('namespaces', ns), 'metadata.name', 'FieldValueInvalid').message, 'Invalid value: "a.b": must not contain dots');
  const svc = service();
  svc.metadata.name = '1svc';
  has(check('services', svc), 'metadata.name', 'FieldValueInvalid');
});

test('validateObject() rejects bad label keys and values', () => {
  const d = deployment();
  d.metadata.labels = { 'a/b/c': 'x', ok: 'bad value' };
  const causes = check('deployments.apps', d).filter((c) => c.field === 'metadata.labels');
  assert.equal(causes.length, 2);
});

test('validateObject() rejects negative replicas with the upstream message', () => {
  const d = deployment();
  d.spec.replicas = -1;
  assert.equal(has(check('deployments.apps', d), 'spec.replicas', 'FieldValueInvalid').message, 'Invalid value: -1: must be greater than or equal to 0');
});

test('validateObject() reports a selector that does not match the template labels', () => {
  const d = deployment();
  d.spec.template.metadata.labels = { app: 'x' };
  const c = has(check('deployments.apps', d), 'spec.template.metadata.labels', 'FieldValueInvalid');
  assert.equal(c.message, 'Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`');
});

test('validateObject() requires a non-empty selector and containers', () => {
  const d = deployment();
  d.spec.selector = {};
  d.spec.template.spec.containers = [];
  const causes = check('deployments.apps', d);
  has(causes, 'spec.selector', 'FieldValueInvalid');
  assert.equal(has(causes, 'spec.template.spec.containers', 'FieldValueRequired').message, 'Required value');
  const noSel = deployment();
  delete noSel.spec.selector;
  has(check('deployments.apps', noSel), 'spec.selector', 'FieldValueRequired');
});

test('validateObject() rejects bad ports, protocols and duplicate container names', () => {
  const d = deployment();
  const cs = d.spec.template.spec.containers;
  cs[0].ports = [{ containerPort: 70000 }, { containerPort: 80, protocol: 'HTTP' }];
  cs.push({ name: 'userlist', image: 'x' });
  const causes = check('deployments.apps', d);
  const port = has(causes, 'spec.template.spec.containers[0].ports[0].containerPort', 'FieldValueInvalid');
  assert.equal(port.message, 'Invalid value: 70000: must be between 1 and 65535, inclusive');
  has(causes, 'spec.template.spec.containers[0].ports[1].protocol', 'FieldValueNotSupported');
  has(causes, 'spec.template.spec.containers[1].name', 'FieldValueDuplicate');
});

test('validateObject() checks restartPolicy, strategy and volume mounts in templates', () => {
  const d = deployment();
  d.spec.template.spec.restartPolicy = 'Never';
  d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } };
  d.spec.template.spec.containers[0].volumeMounts = [{ name: 'nope', mountPath: '/x' }];
  const causes = check('deployments.apps', d);
  assert.equal(has(causes, 'spec.template.spec.restartPolicy', 'FieldValueNotSupported').message, 'Unsupported value: "Never": supported values: "Always"');
  has(causes, 'spec.strategy.rollingUpdate.maxUnavailable', 'FieldValueInvalid');
  assert.ok(causes.some((c) => c.field === 'spec.template.spec.containers[0].volumeMounts[0].name' && c.message === 'Not found: "nope"'));
});

test('validateObject() forbids changing a deployment selector on update', () => {
  const old = deployment();
  defaultObject('deployments.apps', old);
  const d = deployment();
  d.spec.selector = { matchLabels: { app: 'other' } };
  d.spec.template.metadata.labels = { app: 'other' };
  const c = has(check('deployments.apps', d, old), 'spec.selector', 'FieldValueInvalid');
  assert.match(c.message, /: field is immutable$/);
  assert.deepEqual(check('deployments.apps', deployment(), old), []);
});

test('validateObject() limits pod updates to images and friends', () => {
  const old = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'a:1' }] } } as KObject;
  defaultObject('pods', old);
  const img = structuredClone(old);
  img.spec.containers[0].image = 'a:2';
  assert.deepEqual(validateObject('pods', img, old), []);
  const port = structuredClone(old);
  port.spec.containers[0].ports = [{ containerPort: 80, protocol: 'TCP' }];
  const c = has(validateObject('pods', port, old), 'spec', 'FieldValueForbidden');
  assert.match(c.message, /^Forbidden: pod updates may not change fields other than `spec.containers\[\*\].image`/);
});

test('validateObject() rejects an unsupported service type and bad service ports', () => {
  const s = service();
  s.spec.type = 'Foo';
  const c = has(check('services', s), 'spec.type', 'FieldValueNotSupported');
  assert.equal(c.message, 'Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"');
  const p = service();
  p.spec.ports = [{ port: 80 }, { name: 'b', port: 80 }, { name: 'c', port: 0, targetPort: 'Bad_Port' }];
  const causes = check('services', p);
  has(causes, 'spec.ports[0].name', 'FieldValueRequired');
  has(causes, 'spec.ports[1]', 'FieldValueDuplicate');
  has(causes, 'spec.ports[2].port', 'FieldValueInvalid');
  has(causes, 'spec.ports[2].targetPort', 'FieldValueInvalid');
  const np = service();
  np.spec.type = 'NodePort';
  np.spec.ports[0].nodePort = 80;
  has(check('services', np), 'spec.ports[0].nodePort', 'FieldValueInvalid');
  const noPorts = service();
  noPorts.spec.ports = [];
  has(check('services', noPorts), 'spec.ports', 'FieldValueRequired');
  const headless = service();
  headless.spec.ports = [];
  headless.spec.clusterIP = 'None';
  assert.deepEqual(check('services', headless), []);
});

test('validateObject() keeps a service clusterIP immutable', () => {
  const old = service();
  old.spec.clusterIP = '10.96.0.10';
  defaultObject('services', old);
  const s = service();
  s.spec.clusterIP = '10.96.0.11';
  has(check('services', s, old), 'spec.clusterIPs[0]', 'FieldValueInvalid');
  const bad = service();
  bad.spec.clusterIP = 'abc';
  has(check('services', bad), 'spec.clusterIPs[0]', 'FieldValueInvalid');
});

test('validateObject() checks ingress pathType, backends and hosts', () => {
  const ing = {
    metadata: { name: 'web' },
    spec: {
      rules: [
        { host: '*.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } },
        { host: 'a.*.com', http: { paths: [{ path: 'x', pathType: 'Bogus', backend: { service: { name: 'web' } } }, { path: '/', backend: { service: { name: 'web', port: { name: 'http' } } } }] } },
      ],
    },
  } as KObject;
  const causes = check('ingresses.networking.k8s.io', ing);
  assert.equal(has(causes, 'spec.rules[1].http.paths[0].pathType', 'FieldValueNotSupported').message, 'Unsupported value: "Bogus": supported values: "Exact", "ImplementationSpecific", "Prefix"');
  has(causes, 'spec.rules[1].http.paths[0].backend', 'FieldValueRequired');
  assert.equal(has(causes, 'spec.rules[1].http.paths[1].pathType', 'FieldValueRequired').message, 'Required value: pathType must be specified');
  has(causes, 'spec.rules[1].host', 'FieldValueInvalid');
  assert.equal(causes.filter((c) => c.field.startsWith('spec.rules[0]')).length, 0);
});

test('validateObject() checks configmap keys, secret size and immutable data', () => {
  const cm = { metadata: { name: 'cfg' }, data: { 'bad key': 'v', good: 'v' } } as KObject;
  const c = has(check('configmaps', cm), 'data[bad key]', 'FieldValueInvalid');
  assert.match(c.message, /a valid config key must consist of alphanumeric characters, '-', '_' or '\.'/);
  const big = { metadata: { name: 's' }, data: { a: Buffer.alloc(1024 * 1024 + 1).toString('base64') } } as KObject;
  has(check('secrets', big), 'data', 'FieldValueTooLong');
  const old = { metadata: { name: 'cfg' }, immutable: true, data: { a: '1' } } as KObject;
  const now = { metadata: { name: 'cfg' }, immutable: true, data: { a: '2' } } as KObject;
  has(check('configmaps', now, old), 'data', 'FieldValueForbidden');
});

test('validateObject() only validates metadata for unknown resources and reports wrong types', () => {
  assert.deepEqual(validateObject('widgets.example.com', { metadata: { name: 'w' }, spec: 'anything' } as KObject), []);
  const d = deployment();
  d.spec.replicas = '3';
  d.spec.template.spec.containers = 'x';
  const causes = check('deployments.apps', d);
  has(causes, 'spec.replicas', 'FieldValueTypeInvalid');
  has(causes, 'spec.template.spec.containers', 'FieldValueTypeInvalid');
});
