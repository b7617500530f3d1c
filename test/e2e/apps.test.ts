// The course's built-in images as pods: httpbin behind a Service, fortio's CLI inside its pod, hello-server's env.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { eventually, kubectl132, root, startSkiff, type SkiffProcess } from './harness.ts';

let skiff: SkiffProcess;
const ns = 'apps';
const k = (...args: string[]) => skiff.kubectl(['-n', ns, ...args]);

before(async () => {
  skiff = await startSkiff();
  await skiff.kubectl(['create', 'namespace', ns]);
  const r = await k('apply', '-f', join(root, 'test', 'fixtures', 'httpbin-fortio.yaml'));
  assert.equal(r.code, 0, r.stderr);
  const w = await k('wait', '--for=condition=Ready', 'pod', '--all', '--timeout=60s');
  assert.equal(w.code, 0, w.stderr);
});
after(async () => {
  await skiff?.stop();
  skiff?.cleanup();
});

test('fortio load inside the fortio pod, as the course runs it, reaches httpbin through its Service', async () => {
  const r = await k('exec', 'fortio', '-c', 'fortio', '--', '/usr/bin/fortio', 'load', '-c', '2', '-qps', '0', '-n', '20', '-loglevel', 'Warning', 'http://httpbin:8000/get');
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout + r.stderr;
  assert.match(out, /Fortio \S+ running at 0 queries per second/);
  assert.match(out, /Code 200 : 20 \(100\.0 %\)/);
  assert.match(out, /# target 99% /);
  const curl = await k('exec', 'fortio', '--', 'fortio', 'curl', 'http://httpbin:8000/get');
  assert.equal(curl.code, 0, curl.stderr);
  assert.match(curl.stdout + curl.stderr, /HTTP\/1\.1 200 OK/);
  assert.match(curl.stdout, /"url": "http:\/\/httpbin:8000\/get"/);
});

test('httpbin answers as httpbin does, and hello-server follows VERSION', async () => {
  let r = await k('exec', 'fortio', '--', 'curl', '-s', 'httpbin:8000/status/418');
  assert.match(r.stdout, /teapot/);
  r = await k('exec', 'fortio', '--', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'httpbin:8000/status/503');
  assert.equal(r.stdout, '503');
  r = await k('create', 'deploy', 'hello', '--image=honester/hello-server', '--port=8080');
  assert.equal(r.code, 0, r.stderr);
  r = await k('set', 'env', 'deploy/hello', 'VERSION=v2');
  assert.equal(r.code, 0, r.stderr);
  await k('rollout', 'status', 'deploy/hello', '--timeout=60s');
  r = await k('expose', 'deploy', 'hello', '--port=8080');
  assert.equal(r.code, 0, r.stderr);
  const body = await eventually(async () => {
    const x = await k('exec', 'fortio', '--', 'curl', '-s', 'hello:8080/');
    return x.stdout.includes('Hello server') ? x.stdout : undefined;
  });
  assert.equal(body?.trim(), 'Hello server - v2');
});

test('kubectl attach -i reaches a container that keeps stdin open', async () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'catter' }, spec: { containers: [{ name: 'c', image: 'busybox', stdin: true, command: ['sh', '-c', 'echo started; while read l; do echo "got: $l"; done'] }] } };
  let r = await skiff.kubectl(['-n', ns, 'apply', '-f', '-'], { input: JSON.stringify(pod) });
  assert.equal(r.code, 0, r.stderr);
  r = await k('wait', '--for=condition=Ready', 'pod/catter', '--timeout=30s');
  assert.equal(r.code, 0, r.stderr);
  const attach = spawn(kubectl132, ['-n', ns, 'attach', '-i', 'catter'], { env: { ...process.env, KUBECONFIG: skiff.kubeconfig, HOME: skiff.home }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  attach.stdout.on('data', (d) => (out += d));
  try {
    attach.stdin.write('hello\n');
    assert.ok(await eventually(() => out.includes('got: hello')), out);
  } finally {
    attach.kill();
  }
  r = await k('logs', 'catter');
  assert.match(r.stdout, /started\ngot: hello/);
});
