/**
 * The proxy's own HTTP endpoints, as Envoy's admin (15000) and Istio's agent (15020) and health
 * (15021) ports: readiness, server info, the effective config (`istioctl proxy-config` view),
 * per-cluster upstream state (/clusters, Envoy's text format or JSON), stats (Envoy text and
 * Prometheus). Not on the request path; plain code over the live objects.
 */
import type http from 'node:http';
import { prometheusContentType, type Registry } from '../../telemetry/index.ts';
import type { Compiled } from './compile.ts';
import type { ClusterStats, UpstreamCluster } from './upstream/index.ts';

/** What the admin endpoints read from the proxy. */
export interface AdminSource {
  readonly ready: boolean;
  readonly kind: 'sidecar' | 'gateway';
  readonly podIP: string;
  readonly startedAt: number;
  now(): number;
  config(): Compiled | undefined;
  /** Epoch ms at which the live config was swapped in (Envoy's `last_updated`). */
  appliedAt(): number | undefined;
  controlPlane(): { connected: boolean; lastVersion?: string; lastNack?: string };
  clusters(): UpstreamCluster[];
  listeners(): Array<{ name: string; address?: string; kind: string; draining: boolean; connections: number }>;
  readonly registry: Registry;
  /** Other counters for /stats (the tracer's), as Envoy stat names. */
  extraStats?(): Array<[string, number]>;
}

/** Proxy version reported by /server_info. */
export const proxyVersion = 'skiff-proxy/0.1.0';

/** Answers with `body`: text, or parts written in order (bytes made once and kept, e.g. the dump's). */
function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer[]): void {
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.reduce((n, b) => n + b.length, 0);
  res.writeHead(status, { 'content-type': type, 'content-length': length, 'cache-control': 'no-cache, max-age=0' });
  if (typeof body === 'string') return void res.end(body);
  for (const b of body) res.write(b);
  res.end();
}

function json(res: http.ServerResponse, v: unknown): void {
  send(res, 200, 'application/json', `${JSON.stringify(v, null, 2)}\n`);
}

const counterFields = [
  'upstream_cx_total',
  'upstream_cx_overflow',
  'upstream_rq_total',
  'upstream_rq_pending_overflow',
  'upstream_rq_retry',
  'upstream_rq_retry_overflow',
  'outlier_detection_ejections_overflow',
  'outlier_detection_ejections_enforced_total',
] as const;
const gaugeFields = ['upstream_cx_active', 'upstream_rq_active', 'upstream_rq_pending_active', 'outlier_detection_ejections_active'] as const;

function allStats(src: AdminSource): ClusterStats[] {
  const out: ClusterStats[] = [];
  for (const c of src.clusters()) {
    try {
      out.push(c.stats());
    } catch {
      // A cluster being replaced may refuse; the view simply skips it.
    }
  }
  return out;
}

/** Envoy-style cluster metrics in Prometheus text (`envoy_cluster_upstream_rq_pending_overflow{cluster_name=...}`). */
export function clusterPrometheus(src: AdminSource, out: string[]): void {
  const stats = allStats(src);
  if (!stats.length) return;
  for (const [fields, type] of [
    [counterFields, 'counter'],
    [gaugeFields, 'gauge'],
  ] as const) {
    for (const f of fields) {
      out.push(`# TYPE envoy_cluster_${f} ${type}`);
      for (const s of stats) out.push(`envoy_cluster_${f}{cluster_name="${s.name.replace(/["\\]/g, '\\$&')}"} ${s[f]}`);
    }
  }
}

/** Envoy's /clusters text: `name::host:port::stat::value` lines. */
export function clustersText(src: AdminSource): string {
  const lines: string[] = [];
  const cfgs = src.config()?.clusters ?? {};
  for (const s of allStats(src)) {
    const n = s.name;
    const cb = cfgs[n]?.circuitBreakers;
    lines.push(`${n}::observability_name::${n}`);
    if (cb) {
      lines.push(`${n}::default_priority::max_connections::${cb.maxConnections}`);
      lines.push(`${n}::default_priority::max_pending_requests::${cb.maxPendingRequests}`);
      lines.push(`${n}::default_priority::max_requests::${cb.maxRequests}`);
      lines.push(`${n}::default_priority::max_retries::${cb.maxRetries}`);
    }
    lines.push(`${n}::added_via_api::true`);
    for (const h of s.hosts) {
      const p = `${n}::${h.address}:${h.port}`;
      lines.push(`${p}::cx_active::${h.cx_active}`);
      lines.push(`${p}::rq_active::${h.rq_active}`);
      lines.push(`${p}::rq_error::${h.rq_error}`);
      lines.push(`${p}::rq_total::${h.rq_total}`);
      lines.push(`${p}::health_flags::${h.healthFlags}`);
      lines.push(`${p}::weight::${cfgs[n]?.endpoints.find((e) => e.address === h.address && e.port === h.port)?.weight ?? 1}`);
      lines.push(`${p}::success_rate::-1`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function clustersJson(src: AdminSource): unknown {
  return {
    cluster_statuses: allStats(src).map((s) => ({
      name: s.name,
      added_via_api: true,
      host_statuses: s.hosts.map((h) => ({
        address: { socket_address: { address: h.address, port_value: h.port } },
        stats: [
          { name: 'cx_active', value: String(h.cx_active), type: 'GAUGE' },
          { name: 'rq_active', value: String(h.rq_active), type: 'GAUGE' },
          { name: 'rq_error', value: String(h.rq_error) },
          { name: 'rq_total', value: String(h.rq_total) },
        ],
        health_status: h.healthy ? { eds_health_status: 'HEALTHY' } : { eds_health_status: h.healthFlags.includes('eds') ? 'UNHEALTHY' : 'HEALTHY', failed_outlier_check: h.healthFlags.includes('outlier') },
        weight: 1,
        metadata: h.labels ? { labels: h.labels } : undefined,
      })),
    })),
  };
}

/** Envoy's /stats text (`cluster.<name>.<stat>: value`), optionally filtered by a regex. */
function statsText(src: AdminSource, filter: string | null): string {
  let re: RegExp | undefined;
  if (filter) {
    try {
      re = new RegExp(filter);
    } catch {
      re = undefined;
    }
  }
  const lines: string[] = [];
  for (const s of allStats(src)) {
    for (const f of [...counterFields, ...gaugeFields]) lines.push(`cluster.${s.name}.${f}: ${s[f]}`);
  }
  for (const [name, v] of src.extraStats?.() ?? []) lines.push(`${name}: ${v}`);
  lines.sort();
  return `${(re ? lines.filter((l) => re!.test(l)) : lines).join('\n')}\n`;
}

/** The config dump as an object (what configDumpParts() serializes). */
export function configDump(src: AdminSource): Record<string, unknown> {
  const c = src.config();
  const at = src.appliedAt();
  return {
    version: c?.version,
    lastUpdated: c && at !== undefined ? new Date(at).toISOString() : undefined,
    controlPlane: src.controlPlane(),
    node: c?.node,
    listeners: src.listeners(),
    outbound: c ? Object.values(c.source.outbound ?? {}) : [],
    inbound: c?.source.inbound ?? [],
    gateway: c?.source.gateway ?? [],
    routes: c?.source.routes ?? {},
    clusters: c?.clusters ?? {},
    outboundTrafficPolicy: c?.source.outboundTrafficPolicy,
    accessLog: c?.source.accessLog,
    tracing: c?.source.tracing,
  };
}

/** Fields of the dump that can change without a new config; they come first (configDump's order). */
const liveFields = ['version', 'lastUpdated', 'controlPlane', 'node', 'listeners'];
/** Per config: the dump's members after the live ones, as the UTF-8 bytes that end the document. */
const dumpTails = new WeakMap<object, Buffer>();
const noConfig = {};
const newline = Buffer.from('\n');

/**
 * `JSON.stringify(configDump(src), null, 2)` as two parts: the few live members as text, and the
 * rest — routes and clusters, ~150 KB for 50 services — as bytes made once per config. Tools poll
 * the dump; re-serializing and re-encoding it per request cost a sidecar ~4 ms of CPU each time.
 */
export function configDumpParts(src: AdminSource): { head: string; tail: Buffer } {
  const dump = configDump(src);
  const key = src.config() ?? noConfig;
  let tail = dumpTails.get(key);
  if (!tail) {
    const rest = Object.keys(dump).filter((k) => !liveFields.includes(k)).map((k) => member(k, dump[k])).filter((m) => m !== undefined);
    dumpTails.set(key, (tail = Buffer.from(rest.length ? `${rest.join(',\n')}\n}` : '}')));
  }
  // controlPlane and listeners are always there, so the head is never an empty object.
  const live = liveFields.map((k) => member(k, dump[k])).filter((m) => m !== undefined);
  return { head: `{\n${live.join(',\n')}${tail.length > 1 ? ',\n' : '\n'}`, tail };
}

/** One member of a pretty-printed object at depth 1; undefined when JSON.stringify would omit it. */
function member(k: string, v: unknown): string | undefined {
  const text = JSON.stringify(v, null, 2);
  // JSON escapes newlines inside strings, so every raw newline is indentation.
  return text === undefined ? undefined : `  ${JSON.stringify(k)}: ${text.replace(/\n/g, '\n  ')}`;
}

function uptime(src: AdminSource): string {
  return `${Math.floor((src.now() - src.startedAt) / 1000)}s`;
}

/** Serves one admin-port request; `path` is origin-form (path and query). */
export function serveAdmin(src: AdminSource, _req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
  const u = new URL(path, 'http://admin');
  switch (u.pathname) {
    case '/ready':
      return send(res, src.ready ? 200 : 503, 'text/plain', src.ready ? 'LIVE\n' : 'PRE_INITIALIZING\n');
    case '/server_info':
      return json(res, {
        version: proxyVersion,
        state: src.ready ? 'LIVE' : 'PRE_INITIALIZING',
        command_line_options: { service_node: src.config()?.node.id, service_zone: '', mode: 'Serve' },
        node: src.config()?.node,
        uptime_current_epoch: uptime(src),
        uptime_all_epochs: uptime(src),
      });
    case '/config_dump': {
      const { head, tail } = configDumpParts(src);
      return send(res, 200, 'application/json', [Buffer.from(head), tail, newline]);
    }
    case '/clusters':
      return u.searchParams.get('format') === 'json' ? json(res, clustersJson(src)) : send(res, 200, 'text/plain', clustersText(src));
    case '/stats':
      if (u.searchParams.get('format') === 'prometheus') return send(res, 200, prometheusContentType, src.registry.expose());
      if (u.searchParams.get('format') === 'json') return json(res, { stats: statsText(src, u.searchParams.get('filter')).trim().split('\n').filter(Boolean).map((l) => ({ name: l.split(': ')[0], value: Number(l.split(': ')[1]) })) });
      return send(res, 200, 'text/plain', statsText(src, u.searchParams.get('filter')));
    case '/stats/prometheus':
      return send(res, 200, prometheusContentType, src.registry.expose());
    case '/healthz/ready':
      return send(res, src.ready ? 200 : 503, 'text/plain', src.ready ? '' : 'not ready\n');
    default:
      return send(res, 404, 'text/plain', 'admin commands are:\n  /clusters\n  /config_dump\n  /ready\n  /server_info\n  /stats\n  /stats/prometheus\n');
  }
}

/** Serves the agent port (15020): Prometheus stats and readiness, as pilot-agent. */
export function serveAgent(src: AdminSource, _req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
  const p = path.split('?')[0];
  if (p === '/stats/prometheus' || p === '/metrics') return send(res, 200, prometheusContentType, src.registry.expose());
  if (p === '/healthz/ready') return send(res, src.ready ? 200 : 503, 'text/plain', src.ready ? '' : 'not ready\n');
  send(res, 404, 'text/plain', 'not found\n');
}

/** Serves the health port (15021): `/healthz/ready` 200 when ready. */
export function serveHealth(src: AdminSource, _req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
  const p = path.split('?')[0];
  if (p === '/healthz/ready') return send(res, src.ready ? 200 : 503, 'text/plain', src.ready ? '' : 'not ready\n');
  send(res, 404, 'text/plain', 'not found\n');
}
