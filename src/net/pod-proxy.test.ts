import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { type Env, startEnv, waitFor } from '../controllers/env.test-helper.ts';
import { netErrors, ServiceProxy } from './index.ts';
import { appServer, closeAll, echoServer, freePort, freePortOn, raw, runPod } from './net.test-helper.ts';

const execFileP = promisify(execFile);
const hasCurl = spawnSync('curl', ['--version']).status === 0;
const noCurl = hasCurl ? false : 'curl is not installed';

// This file's pods live in 127.42.8.0/24, so test files running in parallel never share an address.
const CLIENT = '127.42.8.2'; // namespace user11
const WEB_A = '127.42.8.3';
const WEB_B = '127.42.8.4';
const OTHER = '127.42.8.5'; // namespace other
const MAPPED = '127.42.8.6';
const ECHO = '127.42.8.7';
const IPS = [CLIENT, WEB_A, WEB_B, OTHER, MAPPED, ECHO];

let env: Env;
let proxy: ServiceProxy;
let proxyPort: number;
let appPort: number;
let svcPort: number;
let echoPort: number;
let clusterIP: string;
const servers: Array<http.Server | net.Server> = [];

interface CurlResult {
  status: number;
  /** Status lines of interim responses (100 Continue). */
  interim: string[];
  headers: Record<string, string>;
  body: string;
}

/** Runs the real curl through the proxy of the pod at `from`; the environment is cleared so no proxy settings leak in. */
async function curl(from: string, url: string, ...extra: string[]): Promise<CurlResult> {
  const { stdout } = await execFileP('curl', ['-s', '-S', '--noproxy', '', '-x', `http://${from}:${proxyPort}`, '-D', '-', ...extra, url], { env: { PATH: process.env.PATH ?? '' }, maxBuffer: 64 << 20 });
  let rest = stdout;
  let head = '';
  const interim: string[] = [];
  // Skip interim responses (100 Continue): keep the last head.
  while (rest.startsWith('HTTP/')) {
    if (head) interim.push(head.split('\r\n')[0]);
    const i = rest.indexOf('\r\n\r\n');
    head = rest.slice(0, i);
    rest = rest.slice(i + 4);
  }
  const lines = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
  }
  return { status: Number(lines[0].split(' ')[1]), interim, headers, body: rest };
}

before(async () => {
  env = startEnv();
  for (const ns of ['user11', 'other']) env.registry.createSync('namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  proxyPort = await freePortOn(IPS);
  appPort = await freePortOn(IPS);
  svcPort = await freePort();
  echoPort = await freePort(ECHO);
  proxy = new ServiceProxy({ client: env.registry, proxyPort });
  await proxy.start();
  servers.push(await appServer(CLIENT, appPort, 'client'), await appServer(WEB_A, appPort, 'web-a'), await appServer(WEB_B, appPort, 'web-b'), await appServer(OTHER, appPort, 'other'), await echoServer(ECHO, echoPort));
  await runPod(env.registry, 'user11', 'client', { ip: CLIENT, port: appPort, labels: { app: 'client' } });
  await runPod(env.registry, 'user11', 'web-a', { ip: WEB_A, port: appPort, labels: { app: 'web' } });
  await runPod(env.registry, 'user11', 'web-b', { ip: WEB_B, port: appPort, labels: { app: 'web' } });
  await runPod(env.registry, 'other', 'other', { ip: OTHER, port: appPort, labels: { app: 'other' } });
  await runPod(env.registry, 'user11', 'echo', { ip: ECHO, port: echoPort, labels: { app: 'echo' } });
  await runPod(env.registry, 'user11', 'sick', { ip: '127.42.8.9', port: appPort, labels: { app: 'sick' }, ready: false });
  const web = await env.registry.create('services', 'user11', { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: svcPort, targetPort: 'http' }] } });
  clusterIP = web.spec.clusterIP;
  await env.registry.create('services', 'user11', { metadata: { name: 'echo' }, spec: { selector: { app: 'echo' }, ports: [{ port: 7, targetPort: echoPort }] } });
  await env.registry.create('services', 'user11', { metadata: { name: 'sick' }, spec: { selector: { app: 'sick' }, ports: [{ port: svcPort, targetPort: 'http' }] } });
  await waitFor('proxies and endpoints', () => proxy.listeners().filter((l) => l.kind === 'pod-proxy').length === 6 && proxy.pick('user11', 'web', svcPort) && proxy.pick('user11', 'echo', 7));
});

after(async () => {
  await proxy.close();
  await closeAll(servers);
  env.close();
});

test('curl through the pod proxy reaches a service by every name form and by cluster IP', { skip: noCurl }, async () => {
  for (const host of ['web', 'web.user11', 'web.user11.svc', 'web.user11.svc.cluster.local', 'WEB.user11.svc.cluster.local.', clusterIP]) {
    const r = await curl(CLIENT, `http://${host}:${svcPort}/`);
    assert.equal(r.status, 200, `${host}: ${r.body}`);
    assert.match(r.body, /^web-[ab]\n$/, host);
    // The upstream sees the calling pod's address, as it would on Kubernetes.
    assert.equal(r.headers['x-client'], CLIENT);
  }
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) seen.add((await curl(CLIENT, `http://web:${svcPort}/`)).body.trim());
  assert.deepEqual(seen, new Set(['web-a', 'web-b']));
});

test('curl through the pod proxy reaches a pod IP and localhost is the calling pod', { skip: noCurl }, async () => {
  assert.equal((await curl(CLIENT, `http://${WEB_A}:${appPort}/`)).body, 'web-a\n');
  assert.equal((await curl(CLIENT, `http://localhost:${appPort}/`)).body, 'client\n');
  assert.equal((await curl(OTHER, `http://localhost:${appPort}/`)).body, 'other\n');
  assert.equal((await curl(CLIENT, `http://127.0.0.1:${appPort}/`)).body, 'client\n');
});

test('one client connection serves requests to different targets (keep-alive on both sides)', { skip: noCurl }, async () => {
  const { stdout, stderr } = await execFileP('curl', ['-s', '-v', '--noproxy', '', '-x', `http://${CLIENT}:${proxyPort}`, `http://localhost:${appPort}/`, `http://web-a.user11:${appPort}/`, `http://${WEB_B}:${appPort}/`], {
    env: { PATH: process.env.PATH ?? '' },
  });
  assert.match(stdout, /^client\n/);
  assert.match(stdout, /web-b\n$/);
  assert.match(stderr, /Re-using existing connection/i);
});

test('names resolve from the calling pod namespace: the short name fails elsewhere with 502, svc.ns works', { skip: noCurl }, async () => {
  const short = await curl(OTHER, `http://web:${svcPort}/`);
  assert.equal(short.status, 502);
  assert.equal(short.headers['x-skiff-error'], netErrors.unknownHost);
  assert.equal(short.body, 'cannot resolve "web" from namespace "other": no such service\n');
  assert.match((await curl(OTHER, `http://web.user11:${svcPort}/`)).body, /^web-[ab]\n$/);
  const nosuch = await curl(CLIENT, 'http://nosuch/');
  assert.equal(nosuch.status, 502);
  assert.equal(nosuch.body, 'cannot resolve "nosuch" from namespace "user11": no such service\n');
  const port = await curl(CLIENT, 'http://web/');
  assert.equal(port.status, 502);
  assert.equal(port.headers['x-skiff-error'], netErrors.noPort);
});

test('a service without ready endpoints answers 503', { skip: noCurl }, async () => {
  const r = await curl(CLIENT, `http://sick:${svcPort}/`);
  assert.equal(r.status, 503);
  assert.equal(r.headers['x-skiff-error'], netErrors.noEndpoints);
  assert.equal(r.body, 'cannot reach "sick.user11": no ready endpoints (0 of 1 ready)\n');
});

test('chunked request bodies and Expect: 100-continue pass through', { skip: noCurl }, async () => {
  const r = await curl(CLIENT, `http://web:${svcPort}/echo`, '-H', 'Transfer-Encoding: chunked', '-H', 'Expect: 100-continue', '--data-binary', 'hello body');
  assert.equal(r.status, 200);
  assert.deepEqual(r.interim, ['HTTP/1.1 100 Continue']);
  assert.equal(r.body, 'hello body');
  // Large enough for curl to send its own Expect: 100-continue.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-net-'));
  try {
    const file = path.join(dir, 'big');
    writeFileSync(file, 'x'.repeat(2_000_000));
    const r2 = await curl(CLIENT, `http://web:${svcPort}/echo`, '--data-binary', `@${file}`);
    assert.equal(r2.status, 200);
    assert.equal(r2.body.length, 2_000_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the pod port-map annotation is honoured for pod IPs and localhost', { skip: noCurl }, async () => {
  const bound = await freePort(MAPPED);
  servers.push(await appServer(MAPPED, bound, 'mapped'));
  await runPod(env.registry, 'user11', 'mapped', { ip: MAPPED, port: 80, labels: { app: 'mapped' }, annotations: { 'skiff.dev/port-map': JSON.stringify({ 80: bound }) } });
  await env.registry.create('services', 'user11', { metadata: { name: 'mapped' }, spec: { selector: { app: 'mapped' }, ports: [{ port: svcPort, targetPort: 80 }] } });
  await waitFor('mapped pod proxy', () => proxy.listeners().some((l) => l.address === `${MAPPED}:${proxyPort}`) && proxy.pick('user11', 'mapped', svcPort));
  assert.equal((await curl(CLIENT, `http://${MAPPED}/`)).body, 'mapped\n');
  assert.equal((await curl(MAPPED, 'http://localhost/')).body, 'mapped\n');
  assert.equal((await curl(CLIENT, `http://mapped:${svcPort}/`)).body, 'mapped\n');
});

test('CONNECT through the proxy pipes bytes to a TCP service', async () => {
  const got = await raw(CLIENT, proxyPort, 'CONNECT echo.user11:7 HTTP/1.1\r\nHost: echo.user11:7\r\n\r\n', /ping-pong$/, (s) => s.write('ping-pong'));
  assert.match(got, /^HTTP\/1\.1 200 Connection established\r\n\r\nping-pong$/);
  const refused = await raw(CLIENT, proxyPort, 'CONNECT nosuch:443 HTTP/1.1\r\nHost: nosuch:443\r\n\r\n');
  assert.match(refused, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
  assert.match(refused, /x-skiff-error: SKIFF_ERR_NET_UNKNOWN_HOST/);
});

test('a WebSocket-style upgrade passes through and then pipes both ways', async () => {
  const got = await raw(CLIENT, proxyPort, `GET http://web:${svcPort}/ws HTTP/1.1\r\nHost: web:${svcPort}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nProxy-Connection: keep-alive\r\n\r\n`, /frame-1$/, (s) => s.write('frame-1'));
  assert.match(got, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(got, /X-Served-By: web-[ab]/);
  assert.match(got, /\r\n\r\nframe-1$/);
});

test('a non-loopback destination is refused with 403 and no connection is attempted', async () => {
  // Belt and braces: any outgoing connect to a non-loopback address during this test fails the test.
  const proto = net.Socket.prototype as unknown as { connect: (...a: unknown[]) => unknown };
  const original = proto.connect;
  const attempts: unknown[] = [];
  proto.connect = function (this: net.Socket, ...args: unknown[]) {
    const o = args[0] as { host?: string } | unknown[];
    const host = Array.isArray(o) ? (o[0] as { host?: string })?.host : o?.host;
    if (host && !/^127\./.test(host) && host !== 'localhost') {
      attempts.push(host);
      throw new Error(`test guard: connect to ${host}`);
    }
    return original.apply(this, args);
  };
  try {
    for (const req of ['GET http://10.1.2.3/ HTTP/1.1\r\nHost: 10.1.2.3\r\n\r\n', 'CONNECT 10.1.2.3:443 HTTP/1.1\r\nHost: 10.1.2.3:443\r\n\r\n', 'GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n']) {
      const got = await raw(CLIENT, proxyPort, req, /\n$/);
      assert.match(got, /^HTTP\/1\.1 (403|502) /, got);
    }
    const g = await raw(CLIENT, proxyPort, 'GET http://10.1.2.3/ HTTP/1.1\r\nHost: 10.1.2.3\r\n\r\n', /\n$/);
    assert.match(g, /x-skiff-error: SKIFF_ERR_NET_NOT_LOOPBACK/);
    assert.deepEqual(attempts, []);
  } finally {
    proto.connect = original;
  }
});

test('resolve() and pick() expose the index', () => {
  assert.deepEqual(proxy.resolve('user11', 'web'), { kind: 'service', ns: 'user11', name: 'web', clusterIP });
  assert.deepEqual(proxy.resolve('other', 'web.user11.svc.cluster.local'), { kind: 'service', ns: 'user11', name: 'web', clusterIP });
  assert.deepEqual(proxy.resolve('other', clusterIP), { kind: 'service', ns: 'user11', name: 'web', clusterIP });
  assert.deepEqual(proxy.resolve('other', WEB_A), { kind: 'pod', ip: WEB_A });
  assert.equal(proxy.resolve('other', 'web'), undefined);
  assert.equal(proxy.pick('user11', 'sick', svcPort), undefined);
  assert.equal(proxy.pick('user11', 'web', 'http')?.port, appPort);
});
