import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiff, eventually, type SkiffProcess } from './harness.ts';

let skiff: SkiffProcess;
before(async () => {
  skiff = await startSkiff();
});
after(async () => {
  await skiff?.stop();
  skiff?.cleanup();
});

test('kubectl get ns lists the system namespaces as a real cluster prints them', async () => {
  const r = await skiff.kubectl(['get', 'ns']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^NAME\s+STATUS\s+AGE$/);
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'istio-system', 'istio-ingress']) {
    assert.ok(lines.some((l) => new RegExp(`^${ns}\\s+Active\\s+\\d+s$`).test(l)), `${ns} missing in:\n${r.stdout}`);
  }
});

test('create namespace (a protobuf body), label it for injection, then remove the label', async () => {
  let r = await skiff.kubectl(['create', 'namespace', 'user11']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'namespace/user11 created');

  r = await skiff.kubectl(['create', 'namespace', 'user11']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error from server \(AlreadyExists\): namespaces "user11" already exists/);

  r = await skiff.kubectl(['label', 'namespace', 'user11', 'istio-injection=enabled']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'namespace/user11 labeled');
  r = await skiff.kubectl(['get', 'ns', 'user11', '--show-labels']);
  assert.match(r.stdout, /^NAME\s+STATUS\s+AGE\s+LABELS$/m);
  assert.match(r.stdout, /user11\s+Active\s+\S+\s+istio-injection=enabled,kubernetes\.io\/metadata\.name=user11/);

  r = await skiff.kubectl(['label', 'namespace', 'user11', 'istio-injection=disabled']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /'istio-injection' already has a value \(enabled\), and --overwrite is false/);

  r = await skiff.kubectl(['label', '--overwrite', 'namespace', 'user11', 'istio-injection-']);
  assert.equal(r.code, 0, r.stderr);
  // kubectl says "labeled" when --overwrite is given, even for a removal (label.go updateDataChangeMsg).
  assert.equal(r.stdout.trim(), 'namespace/user11 labeled');
  r = await skiff.kubectl(['get', 'ns', 'user11', '-o', 'jsonpath={.metadata.labels}']);
  assert.equal(r.stdout, '{"kubernetes.io/metadata.name":"user11"}');
});

test('delete namespace empties it, then removes it', async () => {
  await skiff.kubectl(['create', 'namespace', 'doomed']);
  let r = await skiff.kubectl(['-n', 'doomed', 'create', 'configmap', 'cfg', '--from-literal=a=b']);
  assert.equal(r.code, 0, r.stderr);
  r = await skiff.kubectl(['delete', 'namespace', 'doomed', '--timeout=30s']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'namespace "doomed" deleted');
  r = await skiff.kubectl(['get', 'ns', 'doomed']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error from server \(NotFound\): namespaces "doomed" not found/);
  r = await skiff.kubectl(['get', 'configmap', '-A', '--field-selector', 'metadata.namespace=doomed']);
  assert.match(r.stdout + r.stderr, /No resources found/);
});

test('every namespace has its default ServiceAccount', async () => {
  await skiff.kubectl(['create', 'namespace', 'sa-check']);
  const found = await eventually(async () => (await skiff.kubectl(['-n', 'sa-check', 'get', 'sa', 'default', '-o', 'name'])).stdout.trim() === 'serviceaccount/default');
  assert.ok(found);
});

test('version, health and discovery answer as kubectl expects', async () => {
  let r = await skiff.kubectl(['version']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Server Version: v1\.32\./);
  r = await skiff.kubectl(['get', '--raw', '/healthz']);
  assert.equal(r.stdout, 'ok');
  r = await skiff.kubectl(['api-resources']);
  assert.equal(r.code, 0, r.stderr);
  for (const line of [/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m, /^virtualservices\s+vs\s+networking\.istio\.io\/v1\s+true\s+VirtualService$/m, /^pods\s+po\s+v1\s+true\s+Pod$/m]) {
    assert.match(r.stdout, line);
  }
});

test('auth can-i and auth whoami answer for the one admin user', async () => {
  let r = await skiff.kubectl(['auth', 'can-i', 'create', 'pods']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'yes');
  r = await skiff.kubectl(['auth', 'can-i', '*', '*', '--all-namespaces']);
  assert.equal(r.stdout.trim(), 'yes');
  r = await skiff.kubectl(['auth', 'can-i', 'get', '/healthz']);
  assert.equal(r.stdout.trim(), 'yes');
  r = await skiff.kubectl(['auth', 'can-i', '--list', '-n', 'default']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs$/m);
  assert.match(r.stdout, /^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/m);
  r = await skiff.kubectl(['auth', 'whoami']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Username\s+skiff-admin$/m);
  assert.match(r.stdout, /^Groups\s+\[system:masters system:authenticated\]$/m);
  // Reviews are created, never stored: reading them is refused as upstream refuses it.
  r = await skiff.kubectl(['get', 'selfsubjectaccessreviews']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error from server \(MethodNotAllowed\): the server does not allow this method on the requested resource/);
});

test('requests without valid credentials get 401', async () => {
  const r = await skiff.kubectl(['get', 'ns', '--token', 'wrong']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Unauthorized|must be logged in/);
});
