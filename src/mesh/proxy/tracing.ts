/**
 * Distributed tracing on the request path (semantics §8.3). Tracing is on when the config names a
 * collector (Istio ≥1.22 configures no tracer by default); then every proxy hop is one span —
 * CLIENT on sidecar outbound and gateways, SERVER on sidecar inbound — and:
 *
 * - a request carrying B3 (`x-b3-traceid`/`x-b3-spanid`/`x-b3-sampled`/`x-b3-flags`, or the
 *   single `b3` header) or W3C `traceparent` continues that trace, and its sampled flag decides;
 *   Zipkin collectors read B3 first, OTLP ones `traceparent` first;
 * - otherwise the proxy starts a trace, sampled with the config's per-million rate;
 * - the upstream request carries the hop's own span as both B3 headers (what Envoy's Zipkin tracer
 *   injects) and `traceparent` (what its OpenTelemetry tracer injects), so apps using either keep
 *   the trace; `tracestate` passes through untouched. Unsampled traces propagate too (sampled=0),
 *   so later hops agree, but report nothing.
 *
 * Each hop's span is a child of the span that called it: the server span is not shared with the
 * client's as Envoy's Zipkin `shared_span_context` would (the same tree as Istio's OpenTelemetry
 * provider, or Zipkin with `disableSharedSpanContext`). Names are the route's decorator operation
 * (`reviews.default.svc.cluster.local:9080/*`), which the inbound side also reads from
 * `x-envoy-decorator-operation`; tags follow Envoy and Istio (http.*, response_flags,
 * upstream_cluster, node_id, istio.*, component=proxy).
 */
import { ProxyConfigError } from './errors.ts';
import { flagString } from './flags.ts';
import { type HeaderHolder, headerOf } from './headers.ts';
import { randomHex } from './ids.ts';
import { hostOf } from './match.ts';
import type { TracingConfig } from './model.ts';
import type { SpanRecord } from './trace-reporter.ts';
import type { HttpStream } from './stream.ts';

/** One hop's span while its request runs. */
export interface Span {
  traceId: string;
  id: string;
  /** '' for a root span. */
  parentId: string;
  sampled: boolean;
}

/** Rejects tracing settings the reporter could not use (the NACK path). */
export function checkTracing(t: TracingConfig | undefined): void {
  const c = t?.collector;
  if (!c) return;
  if (c.kind !== 'zipkin' && c.kind !== 'otlp') throw new ProxyConfigError(`tracing: unknown collector kind "${c.kind}" (zipkin or otlp)`);
  let u: URL;
  try {
    u = new URL(c.url);
  } catch {
    throw new ProxyConfigError(`tracing: invalid collector URL "${c.url}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ProxyConfigError(`tracing: collector URL "${c.url}" must be http:// or https://`);
}

const hex16 = /^[0-9a-f]{16}$/;
const hexTrace = /^(?:[0-9a-f]{16}|[0-9a-f]{32})$/;
const zero = /^0+$/;

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** A parent context read from the request: ids (when valid) and the sampling decision (undefined = not made). */
interface Incoming {
  traceId?: string;
  spanId?: string;
  sampled?: boolean;
}

function b3Sampled(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === '1' || v === 'true' || v === 'd') return true;
  if (v === '0' || v === 'false') return false;
  return undefined;
}

/** B3: the single `b3` header, else the multi headers. */
function fromB3(req: HeaderHolder): Incoming | undefined {
  const single = one(headerOf(req, 'b3'));
  if (single !== undefined) {
    const parts = single.trim().toLowerCase().split('-');
    if (parts.length === 1) return { sampled: b3Sampled(parts[0]) };
    const [traceId, spanId, sampled] = parts;
    if (!hexTrace.test(traceId) || zero.test(traceId) || !hex16.test(spanId) || zero.test(spanId)) return undefined;
    return { traceId, spanId, sampled: b3Sampled(sampled) };
  }
  const traceId = one(headerOf(req, 'x-b3-traceid'))?.toLowerCase();
  const spanId = one(headerOf(req, 'x-b3-spanid'))?.toLowerCase();
  const sampled = one(headerOf(req, 'x-b3-flags')) === '1' ? true : b3Sampled(one(headerOf(req, 'x-b3-sampled'))?.toLowerCase());
  if (traceId === undefined && spanId === undefined) return sampled === undefined ? undefined : { sampled };
  if (!traceId || !hexTrace.test(traceId) || zero.test(traceId) || !spanId || !hex16.test(spanId) || zero.test(spanId)) return sampled === undefined ? undefined : { sampled };
  return { traceId, spanId, sampled };
}

/** W3C `traceparent`: version-traceid-parentid-flags; unknown versions are read by the version 00 layout. */
function fromW3C(req: HeaderHolder): Incoming | undefined {
  const v = one(headerOf(req, 'traceparent'));
  if (!v) return undefined;
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|$)/.exec(v.trim().toLowerCase());
  if (!m || m[1] === 'ff' || zero.test(m[2]) || zero.test(m[3])) return undefined;
  return { traceId: m[2], spanId: m[3], sampled: (parseInt(m[4], 16) & 1) === 1 };
}

/**
 * Starts the span of a request when tracing is on (one call per request, from the router): the
 * parent context from its headers, the sampling decision, fresh ids.
 */
export function traceStart(s: HttpStream): void {
  const r = s.lst.engine.tracer;
  if (!r.enabled) return;
  const req = s.req;
  const otlpFirst = r.kind === 'otlp';
  const inc = (otlpFirst ? fromW3C(req) ?? fromB3(req) : fromB3(req) ?? fromW3C(req)) ?? {};
  const sampled = inc.sampled ?? s.lst.engine.random() * 1e6 < r.samplingPerMillion;
  s.span = { traceId: inc.traceId ?? randomHex(16), id: randomHex(8), parentId: inc.traceId ? inc.spanId ?? '' : '', sampled };
}

/** Trace headers the proxy replaces on the upstream request. */
const traceHeaders = new Set(['traceparent', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags']);

/** Rewrites a flat upstream header list in place: the caller's trace headers out, this hop's span in. */
export function injectTrace(h: string[], sp: Span): void {
  let w = 0;
  for (let i = 0; i < h.length; i += 2) {
    if (traceHeaders.has(h[i].toLowerCase())) continue;
    h[w++] = h[i];
    h[w++] = h[i + 1];
  }
  h.length = w;
  h.push('traceparent', `00-${sp.traceId.padStart(32, '0')}-${sp.id}-${sp.sampled ? '01' : '00'}`);
  h.push('x-b3-traceid', sp.traceId, 'x-b3-spanid', sp.id);
  if (sp.parentId) h.push('x-b3-parentspanid', sp.parentId);
  h.push('x-b3-sampled', sp.sampled ? '1' : '0');
}

/** The span's name: the route's operation, else Istio's default `<host>:<port>/*`. */
function operation(s: HttpStream): string {
  if (s.lst.kind === 'inbound') {
    const op = one(headerOf(s.req, 'x-envoy-decorator-operation'));
    if (op) return op;
    return `${s.lst.inbound?.service?.host ?? hostOf(s.view.authority)}:${s.port}/*`;
  }
  return s.route?.operation ?? `${s.host}:${s.port}/*`;
}

/** Ends a request's span: sampled ones are queued for the collector with their tags. */
export function traceEnd(s: HttpStream, status: number): void {
  const sp = s.span;
  if (!sp?.sampled) return;
  const e = s.lst.engine;
  const r = e.tracer;
  if (!r.enabled) return;
  const node = s.live.cfg.node;
  const h = s.req.headers;
  const error = status === 0 || status >= 500;
  const tags: Record<string, string> = {
    component: 'proxy',
    'node_id': node.id,
    'guid:x-request-id': s.requestId,
    'http.url': `http://${s.view.authority}${s.origPath || s.view.fullPath}`,
    'http.method': s.req.method ?? 'GET',
    'http.protocol': s.req.httpVersionMajor === 2 ? 'HTTP/2' : `HTTP/${s.req.httpVersion}`,
    'user_agent': one(h['user-agent']) ?? '-',
    'request_size': String(s.bytesIn),
    'response_size': String(s.bytesOut),
    'http.status_code': String(status),
    'response_flags': flagString(s.flags),
    'upstream_cluster': s.cluster?.config.name ?? s.dest?.name ?? '-',
    'upstream_cluster.name': s.cluster?.config.name ?? s.dest?.name ?? '-',
    'peer.address': s.req.socket.remoteAddress ?? '-',
    'istio.canonical_service': node.canonicalService,
    'istio.canonical_revision': node.canonicalRevision,
    'istio.namespace': node.namespace,
    'istio.mesh_id': 'cluster.local',
    'istio.cluster_id': 'Kubernetes',
  };
  if (error) tags.error = 'true';
  const up = s.upHost?.endpoint;
  const rec: SpanRecord = {
    traceId: sp.traceId,
    id: sp.id,
    parentId: sp.parentId,
    kind: s.lst.kind === 'inbound' ? 'SERVER' : 'CLIENT',
    name: operation(s),
    timestampUs: Math.round(s.start * 1000),
    durationUs: Math.round(s.elapsed() * 1000),
    local: r.local,
    tags,
    error,
  };
  if (up) rec.remote = { ipv4: up.address, port: up.port };
  r.add(rec);
}
