/**
 * Fixtures for the proxy's tests: config builders, loopback apps, a proxy with free ports, and an
 * HTTP client that talks to the proxy as an app with HTTP_PROXY would. Each test file uses its
 * own 127.77.<n>.0/24 block, so files can run in parallel.
 */
import http from 'node:http';
import net from 'node:net';
import { Proxy, type ProxyOptions } from './index.ts';
import { MAX_U32, type Cluster, type Endpoint, type ProxyConfig, type ProxyNode, type Route, type RouteConfig, type WorkloadMeta } from './model.ts';

/** A ProxyNode for a workload `name` in `ns` at `podIP`. */
export function node(name: string, podIP: string, extra: Partial<ProxyNode> = {}): ProxyNode {
  const ns = extra.namespace ?? 'default';
  return {
    id: `sidecar~${podIP}~${name}-1.${ns}~${ns}.svc.cluster.local`,
    kind: 'sidecar',
    namespace: ns,
    pod: `${name}-1`,
    podIP,
    appIP: podIP,
    labels: { app: name, version: 'v1' },
    serviceAccount: name,
    workload: name,
    app: name,
    version: 'v1',
    canonicalService: name,
    canonicalRevision: 'v1',
    principal: `spiffe://cluster.local/ns/${ns}/sa/${name}`,
    ...extra,
  };
}

/** Telemetry meta of a workload. */
export function meta(name: string, ns = 'default'): WorkloadMeta {
  return { workload: name, namespace: ns, app: name, version: 'v1', canonicalService: name, canonicalRevision: 'v1', principal: `spiffe://cluster.local/ns/${ns}/sa/${name}`, meshed: true };
}

/** An eds cluster with Istio's defaults. */
export function cluster(name: string, endpoints: Array<Partial<Endpoint> & { address: string; port: number }>, extra: Partial<Cluster> = {}): Cluster {
  return {
    name,
    type: 'eds',
    protocol: 'http1',
    endpoints: endpoints.map((e) => ({ ready: true, ...e })),
    lbPolicy: 'ROUND_ROBIN',
    connectTimeoutMs: 1000,
    circuitBreakers: { maxConnections: MAX_U32, maxPendingRequests: MAX_U32, maxRequests: MAX_U32, maxRetries: MAX_U32 },
    maxRequestsPerConnection: 0,
    idleTimeoutMs: 3600000,
    healthyPanicThreshold: 50,
    ...extra,
  };
}

/** Istio's default route to one cluster (default retry policy, no timeout). */
export function defaultRoute(clusterName: string, extra: Partial<Route> = {}): Route {
  return {
    name: 'default',
    match: { path: { prefix: '/' } },
    action: {
      kind: 'route',
      clusters: [{ cluster: clusterName, weight: 100 }],
      timeoutMs: 0,
      retry: { numRetries: 2, retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes'], retryIgnorePreviousHosts: true, backoffBaseMs: 25 },
    },
    ...extra,
  };
}

/** A route config with one virtual host. */
export function routeConfig(name: string, domains: string[], routes: Route[]): RouteConfig {
  return { name, virtualHosts: [{ name: `${domains[0]}:${name}`, domains, routes }] };
}

/** A sidecar config with nothing in it. */
export function emptyConfig(n: ProxyNode): ProxyConfig {
  return { node: n, outbound: {}, inbound: [], gateway: [], routes: {}, clusters: {}, outboundTrafficPolicy: 'ALLOW_ANY', accessLog: { enabled: true }, tracing: { samplingPerMillion: 0 } };
}

/** Outbound http port `port` routed by `rc`. */
export function withOutbound(cfg: ProxyConfig, port: number, rc: RouteConfig, clusters: Cluster[]): ProxyConfig {
  return {
    ...cfg,
    outbound: { ...cfg.outbound, [String(port)]: { port, protocol: 'http', routeConfig: rc.name } },
    routes: { ...cfg.routes, [rc.name]: rc },
    clusters: { ...cfg.clusters, ...Object.fromEntries(clusters.map((c) => [c.name, c])) },
  };
}

/** A started proxy on free ports with its access-log lines collected. */
export async function startProxy(opts: Partial<ProxyOptions> & { podIP: string }): Promise<{ proxy: Proxy; logs: string[]; events: Array<Record<string, unknown>>; out: number; admin: number; agent: number; health: number }> {
  const logs: string[] = [];
  const events: Array<Record<string, unknown>> = [];
  const proxy = new Proxy({
    kind: 'sidecar',
    log: (l) => logs.push(l),
    logEvent: (e) => events.push(e),
    ports: { admin: 0, agent: 0, health: 0, outbound: 0 },
    drainTimeoutMs: 500,
    ...opts,
  });
  await proxy.start();
  return {
    proxy,
    logs,
    events,
    out: proxy.address('outbound')?.port ?? 0,
    admin: proxy.address('admin')!.port,
    agent: proxy.address('agent')!.port,
    health: proxy.address('health')!.port,
  };
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

/** An HTTP app on ip:port (0 = free port) that reads the body and calls `handler`. */
export async function app(ip: string, port: number, handler: Handler): Promise<{ server: http.Server; port: number; seen: http.IncomingMessage[] }> {
  const seen: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString()));
  });
  await new Promise<void>((resolve) => server.listen(port, ip, resolve));
  return { server, port: (server.address() as net.AddressInfo).port, seen };
}

/** An app answering its name and echoing what it saw as JSON headers. */
export function named(name: string): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': name });
    res.end(name);
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends `method url` to an HTTP proxy at proxyIP:proxyPort (absolute-form when url starts with http://). */
export function send(proxyIP: string, proxyPort: number, url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: proxyIP, port: proxyPort, method: opts.method ?? 'GET', path: url, headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A port free on `ip` right now. */
export function freePort(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, ip, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** Closes servers, ignoring ones already closed. */
export async function closeAll(servers: Array<{ close(cb?: () => void): unknown; closeAllConnections?: () => void }>): Promise<void> {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections?.();
          s.close(() => resolve());
        }),
    ),
  );
}

/** Waits until `fn` is true (polling every 5 ms, up to `ms`): the one poller of the mesh tests. */
export { until } from '../stream/stream.test-helper.ts';

/** A deterministic random: cycles through 0, 1/n, 2/n, ... */
export function cycle(n = 100): () => number {
  let i = 0;
  return () => (i++ % n) / n;
}
