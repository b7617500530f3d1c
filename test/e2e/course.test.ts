// The course's own YAML (shared/fixtures/course) through the real kubectl, as the course types it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasShared, sharedDir, sharedMissing, startSkiff, type SkiffProcess } from './harness.ts';

const course = join(sharedDir, 'fixtures', 'course');
const userlist = join(course, 'kubernetes', 'userlist');
const bookinfo = join(course, 'istio', 'bookinfo');
let skiff: SkiffProcess | undefined;
let dir: string;
const k = (...args: string[]) => skiff!.kubectl(['-n', 'user11', ...args]);

before(async () => {
  if (!hasShared) return;
  skiff = await startSkiff();
  await skiff.kubectl(['create', 'namespace', 'user11']);
  dir = mkdtempSync(join(tmpdir(), 'skiff-course-'));
});
after(async () => {
  await skiff?.stop();
  skiff?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the userlist deployment and service: create -f, then apply -f twice with a change in between', async (t) => {
  if (!hasShared) return t.skip(sharedMissing);
  let r = await k('create', '-f', join(userlist, '11.userlist-deployment.yaml'), '-f', join(userlist, '12.userlist-svc.yaml'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'deployment.apps/userlist created\nservice/userlist-svc created');
  r = await k('apply', '-f', join(userlist, '11.userlist-deployment.yaml'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Warning: resource deployments\/userlist is missing the kubectl\.kubernetes\.io\/last-applied-configuration annotation/);
  assert.equal(r.stdout.trim(), 'deployment.apps/userlist configured');
  const changed = join(dir, 'userlist-deployment.yaml');
  writeFileSync(changed, readFileSync(join(userlist, '11.userlist-deployment.yaml'), 'utf8').replace('replicas: 1', 'replicas: 2'));
  r = await k('apply', '-f', changed);
  assert.equal(r.stdout.trim(), 'deployment.apps/userlist configured');
  r = await k('apply', '-f', changed);
  assert.equal(r.stdout.trim(), 'deployment.apps/userlist unchanged');
  r = await k('get', 'deploy', 'userlist', '-o', 'jsonpath={.spec.replicas}');
  assert.equal(r.stdout, '2');
  r = await k('apply', '-f', join(userlist, '12.userlist-svc.yaml'));
  assert.equal(r.stdout.trim(), 'service/userlist-svc configured');
  r = await k('apply', '-f', join(userlist, '12.userlist-svc.yaml'));
  assert.equal(r.stdout.trim(), 'service/userlist-svc unchanged');
});

test('the bookinfo DestinationRules and VirtualServices: create -f, apply -f twice with a change, delete', async (t) => {
  if (!hasShared) return t.skip(sharedMissing);
  let r = await k('create', '-f', join(bookinfo, '13.destination-rule-all.yaml'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), ['productpage', 'reviews', 'ratings', 'details'].map((n) => `destinationrule.networking.istio.io/${n} created`).join('\n'));
  r = await k('apply', '-f', join(bookinfo, '21.virtual-service-all-v1.yaml'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), ['productpage', 'reviews', 'ratings', 'details'].map((n) => `virtualservice.networking.istio.io/${n} created`).join('\n'));
  r = await k('apply', '-f', join(bookinfo, '22.virtual-service-reviews-50-v3.yaml'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'virtualservice.networking.istio.io/reviews configured');
  r = await k('get', 'vs', 'reviews', '-o', 'jsonpath={.spec.http[0].route[*].weight}');
  assert.equal(r.stdout, '50 50');
  r = await k('apply', '-f', join(bookinfo, '21.virtual-service-all-v1.yaml'));
  assert.match(r.stdout, /virtualservice\.networking\.istio\.io\/reviews configured/);
  assert.match(r.stdout, /virtualservice\.networking\.istio\.io\/ratings unchanged/);
  r = await k('get', 'vs');
  assert.match(r.stdout, /^NAME\s+GATEWAYS\s+HOSTS\s+AGE$/m);
  assert.match(r.stdout, /^reviews\s+\["reviews"\]\s+\d+s$/m);
  r = await k('get', 'dr');
  assert.match(r.stdout, /^NAME\s+HOST\s+AGE$/m);
  assert.match(r.stdout, /^reviews\s+reviews\s+\d+s$/m);
  r = await k('apply', '-f', join(bookinfo, '13.destination-rule-all.yaml'));
  assert.match(r.stdout, /destinationrule\.networking\.istio\.io\/reviews configured/);
  r = await k('apply', '-f', join(bookinfo, '13.destination-rule-all.yaml'));
  assert.match(r.stdout, /destinationrule\.networking\.istio\.io\/reviews unchanged/);

  r = await k('delete', 'VirtualService', 'reviews');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'virtualservice.networking.istio.io "reviews" deleted');
  r = await k('delete', '-f', join(bookinfo, '13.destination-rule-all.yaml'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), ['productpage', 'reviews', 'ratings', 'details'].map((n) => `destinationrule.networking.istio.io "${n}" deleted`).join('\n'));
});

test('the httpbin DestinationRule applies in both forms the course uses', async (t) => {
  if (!hasShared) return t.skip(sharedMissing);
  const file = join(course, 'istio', 'httpbin', '13.dr-httpbin.yaml');
  let r = await k('apply', '-f', file);
  assert.equal(r.code, 0, r.stderr);
  const withTcp = join(dir, 'dr-httpbin-tcp.yaml');
  writeFileSync(withTcp, readFileSync(file, 'utf8').replace(/connectionPool:\n/, 'connectionPool:\n      tcp:\n        maxConnections: 1\n'));
  r = await k('apply', '-f', withTcp);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'destinationrule.networking.istio.io/dr-httpbin configured');
  r = await k('get', 'dr', 'dr-httpbin', '-o', 'jsonpath={.spec.trafficPolicy.connectionPool.tcp.maxConnections}');
  assert.equal(r.stdout, '1');
});

test('the course manifests create as written, every one of them', async (t) => {
  if (!hasShared) return t.skip(sharedMissing);
  await skiff!.kubectl(['create', 'namespace', 'all-course']);
  for (const f of ['kubernetes/userlist/11.userlist-deployment.yaml', 'kubernetes/userlist/12.userlist-svc.yaml', 'istio/bookinfo/11.bookinfo.yaml', 'istio/bookinfo/12.bookinfo-gw-vs.yaml', 'istio/httpbin/11.httpbin-deploy-svc.yaml', 'istio/httpbin/12.fortio-pod.yaml', 'istio/hello/11.hello-pod-svc.yaml', 'istio/hello/12.hello-dr.yaml']) {
    const r = await skiff!.kubectl(['-n', 'all-course', 'apply', '-f', join(course, f)]);
    assert.equal(r.code, 0, `${f}: ${r.stderr}`);
  }
});
