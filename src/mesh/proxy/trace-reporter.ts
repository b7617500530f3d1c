/**
 * Span reporting (DESIGN §5, STYLE 12): finished spans wait in one bounded queue and go to the
 * collector in batches — every `flushMs` (Envoy's zipkin flush interval is 5 s, the brief asks
 * ~1 s) or as soon as `batchSize` spans wait — as Zipkin JSON v2 (`POST /api/v2/spans`, an array
 * of spans) or OTLP/HTTP JSON (`POST /v1/traces`). One report is in flight at a time; a full queue
 * drops the new span and counts it; a collector that refuses, fails or hangs costs dropped spans
 * and counters, never a request: nothing on the request path waits for the reporter.
 *
 * Counters, Envoy's tracer stats plus the drops: `tracing.<zipkin|opentelemetry>.spans_sent`,
 * `spans_dropped` (queue full, or in a report that failed), `reports_sent`, `reports_dropped`
 * (non-2xx answer), `reports_failed` (network error or timeout), `timer_flushed`.
 */
import http from 'node:http';
import { loadHttps } from './lazy.ts';
import type { ProxyNode, TracingConfig } from './model.ts';

/** The reporter's limits; defaults in reporterDefaults. */
export interface ReporterOptions {
  /** Flush interval in ms. */
  flushMs?: number;
  /** Spans that trigger a flush before the interval. */
  batchSize?: number;
  /** Spans kept waiting at most; more are dropped and counted. */
  maxQueue?: number;
  /** Spans in one report at most (OpenTelemetry's max_export_batch_size). */
  maxBatch?: number;
  /** A report that takes longer fails. */
  timeoutMs?: number;
}

/** Defaults of ReporterOptions. */
export const reporterDefaults = { flushMs: 1000, batchSize: 100, maxQueue: 2048, maxBatch: 512, timeoutMs: 5000 } as const;

/** Who reports: the local endpoint (Zipkin) / resource (OTLP) of a proxy's spans; shared by its spans. */
export interface LocalEndpoint {
  serviceName: string;
  ipv4: string;
}

/** A finished, sampled span, kept until reported. */
export interface SpanRecord {
  traceId: string;
  id: string;
  parentId: string;
  kind: 'CLIENT' | 'SERVER';
  name: string;
  /** Epoch microseconds. */
  timestampUs: number;
  durationUs: number;
  local: LocalEndpoint;
  remote?: { ipv4: string; port: number };
  tags: Record<string, string>;
  error: boolean;
}

const counterNames = ['spans_sent', 'spans_dropped', 'reports_sent', 'reports_dropped', 'reports_failed', 'timer_flushed'] as const;
type CounterName = (typeof counterNames)[number];

interface Target {
  kind: 'zipkin' | 'otlp';
  url: URL;
  /** The configured value, to see whether a new config changes it. */
  raw: string;
}

/** The collector URL with the kind's default path when it has none. */
function collectorUrl(kind: 'zipkin' | 'otlp', raw: string): URL {
  const u = new URL(raw);
  if (u.pathname === '/' || u.pathname === '') u.pathname = kind === 'zipkin' ? '/api/v2/spans' : '/v1/traces';
  return u;
}

/** The reporter of one proxy: configured by each applied config, closed with the proxy. */
export class TraceReporter {
  readonly #o: Required<ReporterOptions>;
  #target?: Target;
  #sampling = 0;
  #local: LocalEndpoint = { serviceName: 'unknown', ipv4: '' };
  #queue: SpanRecord[] = [];
  #timer?: NodeJS.Timeout;
  #inflight?: Promise<void>;
  #agent?: http.Agent;
  #closed = false;
  readonly #counts: Record<CounterName, number> = { spans_sent: 0, spans_dropped: 0, reports_sent: 0, reports_dropped: 0, reports_failed: 0, timer_flushed: 0 };

  constructor(opts: ReporterOptions = {}) {
    this.#o = { ...reporterDefaults, ...opts };
  }

  /** True when a collector is configured: requests then carry trace context and sampled ones report spans. */
  get enabled(): boolean {
    return this.#target !== undefined;
  }

  /** The collector's format, when one is configured. */
  get kind(): 'zipkin' | 'otlp' | undefined {
    return this.#target?.kind;
  }

  /** Per million requests sampled when the proxy starts a trace. */
  get samplingPerMillion(): number {
    return this.#sampling;
  }

  /** Who this proxy's spans come from. */
  get local(): LocalEndpoint {
    return this.#local;
  }

  /** Takes the tracing settings of a newly applied config; spans already queued go to the new collector. */
  configure(cfg: TracingConfig | undefined, node: ProxyNode): void {
    if (this.#closed) return;
    this.#sampling = Math.max(0, Math.min(1e6, cfg?.samplingPerMillion ?? 0));
    const service = `${node.canonicalService || node.workload || 'unknown'}.${node.namespace}`;
    if (service !== this.#local.serviceName || node.podIP !== this.#local.ipv4) this.#local = { serviceName: service, ipv4: node.podIP };
    const c = cfg?.collector;
    if (!c) {
      this.#target = undefined;
      this.#queue = [];
      this.#stopTimer();
      return;
    }
    if (this.#target?.raw !== `${c.kind} ${c.url}`) {
      let url: URL;
      try {
        url = collectorUrl(c.kind, c.url);
      } catch {
        // compile.ts rejects malformed URLs before a config gets here; stay off if one slips through.
        this.#target = undefined;
        return;
      }
      this.#target = { kind: c.kind, url, raw: `${c.kind} ${c.url}` };
      this.#agent?.destroy();
      this.#agent = undefined;
    }
    if (!this.#timer) {
      this.#timer = setInterval(onTimer, this.#o.flushMs, this);
      this.#timer.unref();
    }
  }

  /** Queues a finished sampled span; drops and counts it when the queue is full. */
  add(span: SpanRecord): void {
    if (!this.#target) return;
    if (this.#queue.length >= this.#o.maxQueue) {
      this.#counts.spans_dropped++;
      return;
    }
    this.#queue.push(span);
    if (this.#queue.length >= this.#o.batchSize && !this.#inflight) void this.flush();
  }

  /** Sends what waits (one report at a time); resolves when that report is done. */
  flush(): Promise<void> {
    if (this.#inflight) return this.#inflight;
    const t = this.#target;
    if (!t || !this.#queue.length) return Promise.resolve();
    const batch = this.#queue.length <= this.#o.maxBatch ? this.#queue : this.#queue.slice(0, this.#o.maxBatch);
    this.#queue = batch === this.#queue ? [] : this.#queue.slice(batch.length);
    const body = t.kind === 'zipkin' ? zipkinJson(batch) : otlpJson(batch);
    const p = this.#post(t, body, batch.length).finally(() => {
      this.#inflight = undefined;
      if (this.#queue.length >= this.#o.batchSize && !this.#closed) void this.flush();
    });
    this.#inflight = p;
    return p;
  }

  #post(t: Target, body: string, spans: number): Promise<void> {
    const lib = t.url.protocol === 'https:' ? loadHttps() : http;
    this.#agent ??= new lib.Agent({ keepAlive: true, maxSockets: 1 });
    return new Promise<void>((resolve) => {
      let settled = false;
      const done = (outcome: 'sent' | 'dropped' | 'failed'): void => {
        if (settled) return;
        settled = true;
        if (outcome === 'sent') {
          this.#counts.reports_sent++;
          this.#counts.spans_sent += spans;
        } else {
          this.#counts[outcome === 'dropped' ? 'reports_dropped' : 'reports_failed']++;
          this.#counts.spans_dropped += spans;
        }
        resolve();
      };
      const req = lib.request(t.url, {
        method: 'POST',
        agent: this.#agent,
        timeout: this.#o.timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      });
      req.on('response', (res) => {
        res.resume();
        const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
        res.on('end', () => done(ok ? 'sent' : 'dropped'));
        res.on('error', () => done('failed'));
      });
      req.on('timeout', () => req.destroy(new Error('collector timeout')));
      req.on('error', () => done('failed'));
      req.end(body);
    });
  }

  /** Counter values as Envoy's stat names (`tracing.zipkin.spans_sent`). */
  stats(): Array<[string, number]> {
    const prefix = `tracing.${this.#target?.kind === 'otlp' ? 'opentelemetry' : 'zipkin'}`;
    return counterNames.map((n) => [`${prefix}.${n}`, this.#counts[n]]);
  }

  /** The counters in Prometheus text (`envoy_tracing_zipkin_spans_sent`), once a collector was configured. */
  prometheus(out: string[]): void {
    if (!this.#target && !this.#counts.spans_sent && !this.#counts.spans_dropped) return;
    for (const [name, v] of this.stats()) {
      const metric = `envoy_${name.replace(/\./g, '_')}`;
      out.push(`# TYPE ${metric} counter`, `${metric} ${v}`);
    }
  }

  /** Called by the interval. */
  timerFlush(): void {
    this.#counts.timer_flushed++;
    void this.flush();
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Stops the timer, sends what waits (waiting up to `waitMs` for the collector) and closes connections; idempotent. */
  async close(waitMs = 1000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTimer();
    const last = (async () => {
      await this.#inflight;
      await this.flush();
    })();
    let t: NodeJS.Timeout | undefined;
    await Promise.race([last, new Promise<void>((resolve) => (t = setTimeout(resolve, waitMs)))]);
    clearTimeout(t);
    this.#target = undefined;
    this.#queue = [];
    this.#agent?.destroy();
  }
}

function onTimer(r: TraceReporter): void {
  r.timerFlush();
}

function zipkinSpan(s: SpanRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { traceId: s.traceId, id: s.id };
  if (s.parentId) out.parentId = s.parentId;
  out.kind = s.kind;
  out.name = s.name;
  out.timestamp = s.timestampUs;
  out.duration = Math.max(1, s.durationUs);
  out.localEndpoint = s.local;
  if (s.remote) out.remoteEndpoint = s.remote;
  out.tags = s.tags;
  return out;
}

/** Zipkin API v2 JSON: an array of spans. */
export function zipkinJson(spans: SpanRecord[]): string {
  return JSON.stringify(spans.map(zipkinSpan));
}

const otlpKind = { SERVER: 2, CLIENT: 3 } as const;

/** OTLP/HTTP JSON (ExportTraceServiceRequest): spans grouped by resource; ids in hex, times as decimal strings. */
export function otlpJson(spans: SpanRecord[]): string {
  const byLocal = new Map<LocalEndpoint, SpanRecord[]>();
  for (const s of spans) {
    const list = byLocal.get(s.local);
    if (list) list.push(s);
    else byLocal.set(s.local, [s]);
  }
  const resourceSpans = [...byLocal].map(([local, list]) => ({
    resource: {
      attributes: [
        { key: 'service.name', value: { stringValue: local.serviceName } },
        { key: 'host.ip', value: { stringValue: local.ipv4 } },
      ],
    },
    scopeSpans: [
      {
        scope: { name: 'skiff-proxy' },
        spans: list.map((s) => {
          const start = `${s.timestampUs}000`;
          const end = `${s.timestampUs + Math.max(1, s.durationUs)}000`;
          const span: Record<string, unknown> = { traceId: s.traceId.padStart(32, '0'), spanId: s.id };
          if (s.parentId) span.parentSpanId = s.parentId;
          span.name = s.name;
          span.kind = otlpKind[s.kind];
          span.startTimeUnixNano = start;
          span.endTimeUnixNano = end;
          span.attributes = Object.entries(s.tags).map(([key, v]) => ({ key, value: { stringValue: v } }));
          // STATUS_CODE_ERROR for 5xx and unanswered requests, as Envoy's OpenTelemetry tracer; else unset.
          if (s.error) span.status = { code: 2 };
          return span;
        }),
      },
    ],
  }));
  return JSON.stringify({ resourceSpans });
}
