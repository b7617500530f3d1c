import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import type { KObject } from '../../api/index.ts';
import { startEnv, waitFor, type Env } from '../../controllers/env.test-helper.ts';
import { IngressController, IngressListenError, type EndpointPicker } from './index.ts';

const RES = 'ingresses.networking.k8s.io';
const NIP = 'userlist.user11.cloud.1.2.3.4.nip.io';

interface Seen {
  name: string;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A backend that answers with its name and what it saw; it upgrades to an echo tunnel on request. */
function backend(name: string): Promise<http.Server> {
  const srv = http.createServer((req, res) => {
    if (req.url?.endsWith('/hang')) return; // never answers: the abort test watches this request die
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body } satisfies Seen));
    });
  });
  srv.on('upgrade', (req, socket) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Backend: ${name}\r\nX-Proto: ${req.headers['x-forwarded-proto']}\r\n\r\n`);
    socket.on('data', (d: Buffer) => socket.write(`${name}:${d.toString()}`));
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

const servers = new Map<string, http.Server>();
const routes = new Map<string, number>(); // `ns/svc/port` → backend port
const picks: Array<{ ns: string; service: string; port: number | string; clientIP?: string }> = [];
let outsidePick = false;
const picker: EndpointPicker = {
  pick(ns, service, port, clientIP) {
    picks.push({ ns, service, port, clientIP });
    if (outsidePick && service === 'outside') return { host: '192.168.1.10', port: 80 };
    const p = routes.get(`${ns}/${service}/${port}`);
    return p ? { host: '127.0.0.1', port: p } : undefined;
  },
};

let env: Env;
let ctl: IngressController;
let port = 0;

function ingress(name: string, spec: Record<string, unknown>, meta: Record<string, unknown> = {}): KObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, ...meta }, spec };
}

function path(p: string, pathType: string, service: string, svcPort: number | string = 80): Record<string, unknown> {
  return { path: p, pathType, backend: { service: { name: service, port: typeof svcPort === 'number' ? { number: svcPort } : { name: svcPort } } } };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  seen?: Seen;
}

function request(host: string, p: string, opts: { method?: string; body?: string[]; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method: opts.method ?? 'GET', headers: { host, ...opts.headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let seen: Seen | undefined;
        if (res.headers['content-type'] === 'application/json') seen = JSON.parse(text) as Seen;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, seen });
      });
    });
    req.on('error', reject);
    for (const chunk of opts.body ?? []) req.write(chunk);
    req.end();
  });
}

/** The backend name that answers, or the status code as a string. */
async function who(host: string, p: string): Promise<string> {
  const r = await request(host, p);
  return r.seen?.name ?? String(r.status);
}

/** Polls until `host` + `p` is answered by `want` (route tables follow the watch asynchronously). */
async function until(host: string, p: string, want: string): Promise<void> {
  let last = '';
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    last = await who(host, p);
    if (last === want) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`${host}${p}: wanted ${want}, got ${last}`);
}

before(async () => {
  for (const name of ['users', 'me', 'admin', 'front', 'wild', 'exactapp', 'api', 'fallback', 'legacy', 'other', 'new']) {
    const srv = await backend(name);
    servers.set(name, srv);
    const p = (srv.address() as net.AddressInfo).port;
    routes.set(`default/${name}/80`, p);
  }
  routes.set('default/api/http', routes.get('default/api/80')!);
  routes.delete('default/api/80');
  routes.set('team/other/80', routes.get('default/other/80')!);

  env = startEnv();
  const r = env.registry;
  r.createSync('namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
  r.createSync(RES, 'default', ingress('web', {
    ingressClassName: 'traefik',
    rules: [
      { host: NIP, http: { paths: [path('/users', 'Prefix', 'users'), path('/users/me', 'Exact', 'me'), path('/users/admin', 'Prefix', 'admin'), path('/', 'Prefix', 'front')] } },
      { host: '*.apps.localhost', http: { paths: [path('/', 'Prefix', 'wild')] } },
      { host: 'app.apps.localhost', http: { paths: [path('/', 'Prefix', 'exactapp')] } },
      { host: 'empty.localhost', http: { paths: [path('/', 'Prefix', 'nothing')] } },
      { host: 'res.localhost', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { resource: { apiGroup: 'k8s.example.com', kind: 'Bucket', name: 'b' } } }] } },
      { host: 'outside.localhost', http: { paths: [path('/', 'Prefix', 'outside')] } },
    ],
  }));
  r.createSync(RES, 'default', ingress('hostless', { rules: [{ http: { paths: [path('/api', 'Prefix', 'api', 'http')] } }] }));
  r.createSync(RES, 'default', ingress('nginx', { ingressClassName: 'nginx', rules: [{ host: 'nginx.localhost', http: { paths: [path('/', 'Prefix', 'front')] } }] }));
  r.createSync(RES, 'default', ingress('legacy-nginx', { rules: [{ host: 'legacy-nginx.localhost', http: { paths: [path('/', 'Prefix', 'front')] } }] }, { annotations: { 'kubernetes.io/ingress.class': 'nginx' } }));
  r.createSync(RES, 'default', ingress('legacy', { rules: [{ host: 'legacy.localhost', http: { paths: [path('/', 'Prefix', 'legacy')] } }] }, { annotations: { 'kubernetes.io/ingress.class': 'traefik' } }));
  r.createSync(RES, 'team', ingress('other', { rules: [{ host: 'other.localhost', http: { paths: [path('/', 'Prefix', 'other')] } }] }));

  ctl = new IngressController({ client: env.registry, picker, port: 0, log: (e) => env.logs.push(e) });
  port = await ctl.start();
  await until('legacy.localhost', '/', 'legacy');
});

after(async () => {
  await ctl?.close();
  await ctl?.close(); // idempotent
  env?.close();
  for (const s of servers.values()) {
    s.closeAllConnections();
    s.close();
  }
});

test('IngressController routes an exact host (any case, any port) by longest path, Exact first', async () => {
  assert.equal(await who(NIP, '/users/1'), 'users');
  assert.equal(await who('UserList.User11.Cloud.1.2.3.4.NIP.io:8080', '/users'), 'users');
  assert.equal(await who(NIP, '/users/me'), 'me');
  assert.equal(await who(NIP, '/users/me/x'), 'users');
  assert.equal(await who(NIP, '/users/admin/x'), 'admin');
  assert.equal(await who(NIP, '/usersx'), 'front');
  assert.equal(await who(NIP, '/'), 'front');
  const r = await request(NIP, '/users/1?page=2');
  assert.equal(r.seen?.url, '/users/1?page=2');
  assert.equal(r.seen?.headers.host, NIP);
});

test('IngressController matches a wildcard host on one label only, and prefers the exact host', async () => {
  assert.equal(await who('foo.apps.localhost', '/x'), 'wild');
  assert.equal(await who('app.apps.localhost', '/x'), 'exactapp');
  assert.equal(await who('a.b.apps.localhost', '/x'), '404');
  assert.equal(await who('apps.localhost', '/x'), '404');
});

test('IngressController serves a hostless rule for any host through a named service port', async () => {
  assert.equal(await who('whatever.example', '/api/v1'), 'api');
  assert.equal(await who(NIP, '/api'), 'front'); // the host's own `/` beats the hostless rule
  assert.ok(picks.some((p) => p.service === 'api' && p.port === 'http' && p.ns === 'default' && p.clientIP === '127.0.0.1'));
});

test('IngressController ignores other ingress classes and honours the legacy annotation', async () => {
  assert.equal(await who('nginx.localhost', '/'), '404');
  assert.equal(await who('legacy-nginx.localhost', '/'), '404');
  assert.equal(await who('legacy.localhost', '/'), 'legacy');
  assert.equal(await who('other.localhost', '/'), 'other'); // backends resolve in the Ingress's namespace
});

test('IngressController answers 404 like Traefik for unknown hosts and resource backends', async () => {
  const r = await request('nope.localhost', '/');
  assert.equal(r.status, 404);
  assert.equal(r.text, '404 page not found\n');
  assert.equal((await request('res.localhost', '/')).status, 404);
});

test('IngressController answers 503 when the service has no ready endpoint', async () => {
  const r = await request('empty.localhost', '/');
  assert.equal(r.status, 503);
  assert.equal(r.text, 'no available server');
});

test('IngressController refuses an upstream outside 127.0.0.0/8', async () => {
  outsidePick = true;
  try {
    assert.equal((await request('outside.localhost', '/')).status, 502);
    assert.ok(env.logs.some((e) => e.msg === 'refusing non-loopback upstream'));
  } finally {
    outsidePick = false;
  }
});

test('IngressController adds X-Forwarded-* and X-Real-Ip headers', async () => {
  const h = (await request(NIP, '/users/1')).seen!.headers;
  assert.equal(h['x-forwarded-for'], '127.0.0.1');
  assert.equal(h['x-real-ip'], '127.0.0.1');
  assert.equal(h['x-forwarded-proto'], 'http');
  assert.equal(h['x-forwarded-host'], NIP);
  assert.equal(h['x-forwarded-port'], String(port)); // no port in Host: the listener's
  assert.equal((await request(`${NIP}:8443`, '/users/1')).seen!.headers['x-forwarded-port'], '8443');
  const chained = (await request(NIP, '/users/1', { headers: { 'x-forwarded-for': '127.0.0.9' } })).seen!.headers;
  assert.equal(chained['x-forwarded-for'], '127.0.0.9, 127.0.0.1');
});

test('IngressController streams a POST body and keeps the method', async () => {
  const chunks = Array.from({ length: 50 }, (_, i) => `chunk-${i};`);
  const r = await request(NIP, '/users', { method: 'POST', body: chunks, headers: { 'content-type': 'text/plain' } });
  assert.equal(r.seen?.method, 'POST');
  assert.equal(r.seen?.body, chunks.join(''));
  assert.equal(r.seen?.headers['transfer-encoding'], 'chunked');
});

test('IngressController passes WebSocket upgrades through and pipes both ways', async () => {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.write(`GET /ws HTTP/1.1\r\nHost: foo.apps.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let got = '';
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => (got += d));
  await waitFor('101', () => got.includes('\r\n\r\n'));
  assert.match(got, /^HTTP\/1\.1 101 /);
  assert.match(got, /X-Backend: wild/);
  assert.match(got, /X-Proto: ws/);
  got = '';
  sock.write('hello');
  await waitFor('echo', () => got === 'wild:hello');
  sock.destroy();
});

test('IngressController closes the upstream request when the client aborts', async () => {
  const users = servers.get('users')!;
  const closed = new Promise<void>((resolve) => users.once('request', (req: http.IncomingMessage) => req.socket.once('close', () => resolve())));
  const req = http.request({ host: '127.0.0.1', port, path: '/users/hang', headers: { host: NIP } });
  req.on('error', () => {});
  req.end();
  await new Promise((r) => setTimeout(r, 100));
  req.destroy();
  await closed;
});

test('IngressController fills status.loadBalancer on served Ingresses only', async () => {
  const lb = (name: string, ns = 'default'): unknown => env.registry.getSync(RES, ns, name).status?.loadBalancer?.ingress;
  await waitFor('status of web', () => JSON.stringify(lb('web')) === '[{"ip":"127.0.0.1"}]');
  await waitFor('status of other', () => JSON.stringify(lb('other', 'team')) === '[{"ip":"127.0.0.1"}]');
  await waitFor('status of hostless', () => JSON.stringify(lb('hostless')) === '[{"ip":"127.0.0.1"}]');
  assert.equal(lb('nginx'), undefined);
  assert.equal(lb('legacy-nginx'), undefined);
  // Written once: a later rebuild finds it equal and leaves the object alone.
  const rv = env.registry.getSync(RES, 'default', 'web').metadata.resourceVersion;
  env.registry.createSync(RES, 'default', ingress('touch', { rules: [{ host: 'touch.localhost', http: { paths: [path('/', 'Prefix', 'new')] } }] }));
  await until('touch.localhost', '/', 'new');
  assert.equal(env.registry.getSync(RES, 'default', 'web').metadata.resourceVersion, rv);
});

test('IngressController follows Ingress updates, deletions and a default backend', async () => {
  const r = env.registry;
  r.createSync(RES, 'default', ingress('later', { rules: [{ host: 'later.localhost', http: { paths: [path('/', 'Prefix', 'new')] } }] }));
  await until('later.localhost', '/', 'new');
  const cur = r.getSync(RES, 'default', 'later');
  r.writeSync(RES, 'default', { ...cur, spec: { rules: [{ host: 'later.localhost', http: { paths: [path('/v2', 'Prefix', 'users')] } }] } }, 'main');
  await until('later.localhost', '/v2/x', 'users');
  assert.equal(await who('later.localhost', '/'), '404');
  // Moving it to another class takes it out of the table.
  const cur2 = r.getSync(RES, 'default', 'later');
  r.writeSync(RES, 'default', { ...cur2, spec: { ...cur2.spec, ingressClassName: 'nginx' } }, 'main');
  await until('later.localhost', '/v2/x', '404');
  r.deleteSync(RES, 'default', 'later');

  r.createSync(RES, 'default', ingress('fallback', { defaultBackend: { service: { name: 'fallback', port: { number: 80 } } } }));
  await until('nope.localhost', '/', 'fallback');
  assert.equal(await who(NIP, '/users/1'), 'users'); // rules still win over the default backend
  r.deleteSync(RES, 'default', 'fallback');
  await until('nope.localhost', '/', '404');
});

test('IngressController works with curl and a nip.io Host header', async (t) => {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
  } catch {
    t.skip('curl not installed');
    return;
  }
  const out = await new Promise<string>((resolve, reject) =>
    execFile('curl', ['-s', '-H', `Host: ${NIP}`, `http://127.0.0.1:${port}/users/1`], (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
  const seen = JSON.parse(out) as Seen;
  assert.equal(seen.name, 'users');
  assert.equal(seen.url, '/users/1');
});

test('IngressController.start() fails with SKIFF_ERR_INGRESS_LISTEN when the port is taken', async () => {
  const taken = (servers.get('front')!.address() as net.AddressInfo).port;
  const c = new IngressController({ client: env.registry, picker, port: taken });
  await assert.rejects(c.start(), (e: unknown) => e instanceof IngressListenError && e.code === 'SKIFF_ERR_INGRESS_LISTEN' && e.port === taken);
  await c.close();
});
