/**
 * The processes of bench/mesh.ts and how they are configured: the backend, Skiff's sidecar (`skiff
 * proxy sidecar --config FILE`, a static ProxyConfig as the control plane would send it), HAProxy
 * and nginx (Debian packages) configured the same way: HTTP/1.1, keep-alive on both sides, round
 * robin over one server, one thread/worker, no logging. Every process is pinned to CPU 0 and
 * recorded in the caller's Procs so one finally-block stops exactly these.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_U32, type Cluster, type ProxyConfig, type ProxyNode } from '../src/mesh/proxy/model.ts';
import { proxyNodeFlags } from '../src/node/index.ts';
import { firstLine, pinHigh, type Procs, sleep, withDescendants } from './util.ts';

export const NS = 'bench';
export const SVC = 'backend';
export const FQDN = `${SVC}.${NS}.svc.cluster.local`;
/** The bundle `npm run bench` builds first; run directly so a stale bundle never falls back to tsx (whose loader would inflate RSS). */
export const skiffBundle = fileURLToPath(new URL('../dist/skiff.js', import.meta.url));

/** One process under test (nginx: master and worker). */
export interface Proc {
  label: string;
  pids: number[];
}

/** GET / with a Host header through host:port: "<status> <body>", or the error message. */
export function get(host: string, port: number, authority: string): Promise<string> {
  return new Promise((resolve) => {
    const r = request({ host, port, path: '/', agent: false, headers: { host: authority } }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve(`${res.statusCode} ${b.trim()}`));
    });
    r.on('error', (e) => resolve(e.message));
    r.setTimeout(2000, () => r.destroy(new Error('timeout')));
    r.end();
  });
}

/** Waits until GET through host:port answers 200 with the backend's body. */
export async function waitServing(what: string, host: string, port: number, authority: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await get(host, port, authority);
    if (r === '200 ok') return;
    if (Date.now() > deadline) throw new Error(`${what} (${host}:${port}) never answered 200 ok: ${r}`);
    await sleep(100);
  }
}

const nginxHead = (dir: string): string => `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_timeout 75s;
  keepalive_requests 1000000;
`;

async function startNginx(procs: Procs, dir: string, conf: string, label: string): Promise<Proc> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const p = procs.start([...pinHigh(0), 'nginx', '-p', dir, '-c', join(dir, 'nginx.conf')]);
  p.stdout!.resume();
  // The master forks its worker after binding; give it a moment before reading its children.
  for (let i = 0; i < 50; i++) {
    await sleep(50);
    const pids = withDescendants(p.pid!);
    // pinHigh runs nginx through taskset/nice, which exec (same pid): the master is p.pid.
    if (pids.length >= 2) return { label, pids };
    if (p.exitCode !== null) break;
  }
  throw new Error(`nginx (${label}) did not start; see ${dir}/error.log`);
}

/** The backend: nginx `return 200 "ok"` (BENCH_BACKEND=nginx, the default when nginx exists) or a minimal Node server. */
export async function startBackend(procs: Procs, dir: string, ip: string, port: number, kind: 'nginx' | 'node'): Promise<Proc> {
  if (kind === 'nginx') {
    const conf = `${nginxHead(dir)}  server {
    listen ${ip}:${port};
    location / { default_type text/plain; return 200 "ok"; }
  }
}
`;
    const p = await startNginx(procs, dir, conf, 'backend');
    await waitServing('backend', ip, port, FQDN);
    return p;
  }
  const src = `import { createServer } from 'node:http';
const s = createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '2' }); res.end('ok'); });
s.keepAliveTimeout = 75000;
s.listen(${port}, ${JSON.stringify(ip)}, () => console.log(s.address().port));`;
  return startNodeScript(procs, 'backend', ip, port, src);
}

/** HAProxy, mode http, keep-alive both sides (its default), round robin over one server, one thread, no log. */
export async function startHaproxy(procs: Procs, dir: string, label: string, ip: string, port: number, upstream: { ip: string; port: number }): Promise<Proc> {
  mkdirSync(dir, { recursive: true });
  const cfg = join(dir, `${label}.cfg`);
  writeFileSync(
    cfg,
    `global
  nbthread 1
  maxconn 4000
defaults
  mode http
  option http-keep-alive
  http-reuse safe
  timeout connect 10s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
frontend fe
  bind ${ip}:${port}
  default_backend be
backend be
  balance roundrobin
  server s1 ${upstream.ip}:${upstream.port}
`,
  );
  const p = procs.start([...pinHigh(0), 'haproxy', '-db', '-f', cfg]);
  p.stdout!.resume();
  await waitServing(label, ip, port, FQDN);
  return { label, pids: [p.pid!] };
}

/** nginx as a reverse proxy: proxy_pass to an upstream with keepalive, HTTP/1.1 upstream, one worker, no access log. */
export async function startNginxProxy(procs: Procs, dir: string, label: string, ip: string, port: number, upstream: { ip: string; port: number }): Promise<Proc> {
  const conf = `${nginxHead(dir)}  upstream be {
    server ${upstream.ip}:${upstream.port};
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }
  server {
    listen ${ip}:${port};
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  const p = await startNginx(procs, dir, conf, label);
  await waitServing(label, ip, port, FQDN);
  return p;
}

/**
 * The floor of any Node proxy: node:http server → http.request with a keep-alive agent, headers
 * copied, bodies piped; no routing, retries, stats or header rules. Not one of issue 4's paths:
 * it shows how much of the sidecar's cost is Node's own HTTP machinery.
 */
export async function startNodeProxy(procs: Procs, label: string, ip: string, port: number, upstream: { ip: string; port: number }): Promise<Proc> {
  const src = `import http from 'node:http';
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
const s = http.createServer((req, res) => {
  const u = http.request({ host: ${JSON.stringify(upstream.ip)}, port: ${upstream.port}, method: req.method, path: req.url, headers: req.headers, agent }, (ur) => {
    res.writeHead(ur.statusCode, ur.headers);
    ur.pipe(res);
  });
  u.on('error', () => { res.writeHead(502); res.end(); });
  req.pipe(u);
});
s.keepAliveTimeout = 75000;
s.listen(${port}, ${JSON.stringify(ip)}, () => console.log('ready'));`;
  return startNodeScript(procs, label, ip, port, src);
}

/**
 * The floor of any Node proxy here (bench/raw-floor.mjs): a raw-socket HTTP/1.1 forwarder with none
 * of a sidecar's work and the sidecar's own direct I/O (bench/direct-io.mjs). Until 2026-11-27 it
 * read through 'data' events and wrote through `socket.write`, which cost ~15 µs more a request at
 * 1,000 rps than the cheapest Node forwarder (docs/performance.md).
 */
export function startRawProxy(procs: Procs, label: string, ip: string, port: number, upstream: { ip: string; port: number }): Promise<Proc> {
  return startNodeFile(procs, label, ip, port, 'raw-floor.mjs', [], upstream);
}

/** The lean sidecar sketch (bench/lean-sketch.mjs), with the sidecar's node flags. */
export function startLeanSketch(procs: Procs, label: string, ip: string, port: number, upstream: { ip: string; port: number }): Promise<Proc> {
  return startNodeFile(procs, label, ip, port, 'lean-sketch.mjs', proxyNodeFlags, upstream);
}

/** Runs bench/`file` (args: ip port upstream-ip upstream-port) on CPU 0; resolves once it printed its first line and serves `ip:port`. */
async function startNodeFile(procs: Procs, label: string, ip: string, port: number, file: string, flags: readonly string[], upstream: { ip: string; port: number }): Promise<Proc> {
  const path = fileURLToPath(new URL(`./${file}`, import.meta.url));
  const p = procs.start([...pinHigh(0), process.execPath, ...flags, path, ip, String(port), upstream.ip, String(upstream.port)]);
  await firstLine(p);
  await waitServing(label, ip, port, FQDN);
  return { label, pids: [p.pid!] };
}

/** Runs a Node program given as source on CPU 0; resolves once it printed its first line and serves `ip:port`. */
async function startNodeScript(procs: Procs, label: string, ip: string, port: number, src: string): Promise<Proc> {
  const p = procs.start([...pinHigh(0), process.execPath, '--input-type=module', '-e', src]);
  await firstLine(p);
  await waitServing(label, ip, port, FQDN);
  return { label, pids: [p.pid!] };
}

function proxyNode(name: string, podIP: string, appIP: string): ProxyNode {
  return {
    id: `sidecar~${podIP}~${name}.${NS}~${NS}.svc.cluster.local`,
    kind: 'sidecar',
    namespace: NS,
    pod: name,
    podIP,
    appIP,
    labels: { app: name, version: 'v1' },
    serviceAccount: 'default',
    workload: name,
    app: name,
    version: 'v1',
    canonicalService: name,
    canonicalRevision: 'v1',
    principal: `spiffe://cluster.local/ns/${NS}/sa/default`,
  };
}

const circuitBreakers = { maxConnections: MAX_U32, maxPendingRequests: MAX_U32, maxRequests: MAX_U32, maxRetries: MAX_U32 };
const clusterCommon = { connectTimeoutMs: 10_000, circuitBreakers, maxRequestsPerConnection: 0, idleTimeoutMs: 3_600_000, healthyPanicThreshold: 50 };
/** Istio's mesh defaults for telemetry, except the access log: off, as in Istio's default profile (the demo profile turns it on). */
const observability = { accessLog: { enabled: false }, tracing: { samplingPerMillion: 10_000 } };

/** The server (destination) sidecar: one inbound HTTP port forwarding to the app at appIP:port, as the control plane builds it. */
export function serverSidecarConfig(podIP: string, appIP: string, port: number): ProxyConfig {
  const name = `inbound|${port}||`;
  const cluster: Cluster = {
    name,
    type: 'eds',
    service: { host: FQDN, name: SVC, namespace: NS, port },
    protocol: 'http1',
    endpoints: [{ address: appIP, port, ready: true }],
    lbPolicy: 'LEAST_REQUEST',
    ...clusterCommon,
  };
  return {
    node: proxyNode('backend', podIP, appIP),
    outbound: {},
    inbound: [{ port, bindPort: port, appPort: port, protocol: 'http', cluster: name, services: [{ host: FQDN, name: SVC, namespace: NS }] }],
    gateway: [],
    routes: {},
    clusters: { [name]: cluster },
    outboundTrafficPolicy: 'ALLOW_ANY',
    ...observability,
  };
}

/**
 * The client (source) sidecar: the service port as an outbound HTTP port, one virtual host with
 * the service's names and the default route (Istio's default retry policy, no timeout), plus the
 * allow_any catch-all; an eds cluster (LEAST_REQUEST, circuit breakers at 2^32−1) whose one
 * endpoint is the server sidecar.
 */
export function clientSidecarConfig(podIP: string, appIP: string, server: { podIP: string; port: number }): ProxyConfig {
  const port = server.port;
  const name = `outbound|${port}||${FQDN}`;
  const cluster: Cluster = {
    name,
    type: 'eds',
    service: { host: FQDN, name: SVC, namespace: NS, port },
    protocol: 'http1',
    endpoints: [
      {
        address: server.podIP,
        port,
        ready: true,
        labels: { app: SVC, version: 'v1' },
        workload: { workload: SVC, namespace: NS, app: SVC, version: 'v1', canonicalService: SVC, canonicalRevision: 'v1', principal: `spiffe://cluster.local/ns/${NS}/sa/default`, meshed: true },
      },
    ],
    lbPolicy: 'LEAST_REQUEST',
    ...clusterCommon,
  };
  const prefix = { path: { prefix: '/' } };
  const retry = { numRetries: 2, retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'], retryIgnorePreviousHosts: true, backoffBaseMs: 25 };
  const noRetry = { numRetries: 0, retryOn: [], retryIgnorePreviousHosts: false, backoffBaseMs: 25 };
  return {
    node: proxyNode('client', podIP, appIP),
    outbound: { [String(port)]: { port, protocol: 'http', routeConfig: String(port) } },
    inbound: [],
    gateway: [],
    routes: {
      [String(port)]: {
        name: String(port),
        virtualHosts: [
          { name: `${FQDN}:${port}`, domains: [FQDN, SVC, `${SVC}.${NS}`, `${SVC}.${NS}.svc`], routes: [{ name: 'default', match: prefix, action: { kind: 'route', clusters: [{ cluster: name, weight: 100 }], timeoutMs: 0, retry } }] },
          { name: 'allow_any', domains: ['*'], routes: [{ name: 'allow_any', match: prefix, action: { kind: 'route', clusters: [{ cluster: 'PassthroughCluster', weight: 100 }], timeoutMs: 0, retry: noRetry } }] },
        ],
      },
    },
    clusters: { [name]: cluster },
    outboundTrafficPolicy: 'ALLOW_ANY',
    ...observability,
  };
}

/** Starts `skiff proxy sidecar --config FILE` on podIP (its admin, outbound and inbound listeners bind there). */
export async function startSidecar(procs: Procs, dir: string, label: string, config: ProxyConfig, opts: { wrap?: string[]; readyMs?: number } = {}): Promise<Proc> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${label}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  const env: NodeJS.ProcessEnv = { ...process.env, SKIFF_POD_IP: config.node.podIP, SKIFF_APP_IP: config.node.appIP, POD_NAMESPACE: NS, POD_NAME: config.node.pod };
  for (const k of ['HTTP_PROXY', 'http_proxy', 'SKIFF_XDS_ADDRESS']) delete env[k];
  // `wrap` runs the sidecar under another program (bench/mesh-instructions.ts: valgrind), unpinned.
  const cmd = [process.execPath, ...proxyNodeFlags, skiffBundle, 'proxy', 'sidecar', '--config', file];
  const p = procs.start(opts.wrap ? [...opts.wrap, ...cmd] : [...pinHigh(0), ...cmd], { env, stderr: 'pipe' });
  // Nothing reads the access log (off) or the events, but a full pipe would stall the sidecar.
  p.stdout!.resume();
  let log = '';
  p.stderr!.on('data', (d: Buffer) => (log += d));
  const deadline = Date.now() + (opts.readyMs ?? 15_000);
  for (;;) {
    const r = await getStatus(config.node.podIP, 15021, '/healthz/ready');
    if (r === 200) break;
    if (p.exitCode !== null || Date.now() > deadline) throw new Error(`sidecar ${label} did not become ready (exit ${p.exitCode}):\n${log}`);
    await sleep(100);
  }
  return { label, pids: [p.pid!] };
}

function getStatus(host: string, port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const r = request({ host, port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    r.on('error', () => resolve(0));
    r.setTimeout(2000, () => r.destroy());
    r.end();
  });
}
