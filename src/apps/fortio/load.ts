// The load engine: fortio's periodic runner (periodic/periodic.go) driving one FastClient per
// thread, with fortio's call-count split, QPS pacing and warmup rules.
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { FastClient, codeIsOK, secondsSince, type Hop } from './client.ts';
import { Histogram, type HistogramData } from './stats.ts';
import { LogLevel, type Logger } from './log.ts';
import { FortioError, VERSION } from './errors.ts';
import { formatDuration } from './format.ts';
export { formatHeader, formatResult, resultJSON } from './report.ts';

/** Load options (flag names in comments). */
export interface LoadOptions {
  url: string;
  /** -c: number of connections/threads. */
  connections?: number;
  /** -qps: total target queries per second; 0 = max speed. */
  qps?: number;
  /** -n: exact total number of calls (split across threads); 0 = use duration. */
  n?: number;
  /** -t: duration in ms; 0 with n = 0 runs until `signal` aborts. */
  durationMs?: number;
  /** -timeout: per request connect/read timeout in ms. */
  timeoutMs?: number;
  /** -H: extra headers, "Name: value". */
  headers?: string[];
  /** -X: method (default GET, or POST with a payload). */
  method?: string;
  /** -payload: request body. */
  payload?: string | Buffer;
  /** -keepalive: reuse each thread's socket. */
  keepalive?: boolean;
  /** Explicit HTTP proxy URL; otherwise taken from env HTTP_PROXY/http_proxy unless NO_PROXY matches. */
  httpProxy?: string;
  /** Environment used for proxy lookup. */
  env?: Record<string, string | undefined>;
  /** -p: percentiles to compute. */
  percentiles?: number[];
  /** -allow-initial-errors: don't abort when warmup calls fail. */
  allowInitialErrors?: boolean;
  /** -k: don't verify TLS certificates. */
  insecure?: boolean;
  /** Stops an endless (or any) run early. */
  signal?: AbortSignal;
  logger?: Logger;
  /** Called once warmup succeeded, right before the timed run (fortio prints "Starting at" there). */
  onStart?: (plan: LoadPlan) => void;
}

/** Defaults, fortio's own (periodic.DefaultRunnerOptions and fhttp). */
export const LOAD_DEFAULTS = {
  connections: 4, qps: 8, n: 0, durationMs: 5000, timeoutMs: 3000, method: 'GET', keepalive: true,
  percentiles: [50, 75, 90, 99, 99.9], allowInitialErrors: false, insecure: false,
} as const;

/** How the calls are split: what fortio announces in its "Starting at" line. */
export interface LoadPlan {
  url: string; qps: number; durationMs: number; exactly: number; threads: number; requestedThreads: number;
  /** Calls per thread (0 = unbounded). */
  perThread: number;
  /** Extra calls done by thread 0 so the total is exactly `exactly`. */
  leftOver: number;
  gomax: number;
  warnings: string[];
}

/** Everything a run measured. */
export interface LoadResult {
  plan: LoadPlan;
  version: string;
  startTime: Date;
  /** Wall time of the run in ns. */
  durationNs: number;
  actualQPS: number;
  warmup: number;
  duration: HistogramData;
  errors: HistogramData;
  /** Sleep-time stats in QPS mode (fortio's offset -1ms histogram). */
  sleep?: Histogram;
  /** Count per status code (-1 = socket error), ascending. */
  retCodes: Map<number, number>;
  sizes: Histogram;
  headerSizes: Histogram;
  /** Sockets used per thread; `socketCount` is their sum. */
  sockets: number[];
  socketCount: number;
  perThreadIPs: Array<Map<string, number>>;
  perThreadConnect: Histogram[];
  connectStats: HistogramData;
  ipCount: Map<string, number>;
  percentiles: number[];
  interrupted: boolean;
}

/** Normalizes options into fortio's call split (threads may be lowered, as fortio does). */
export function planLoad(opts: LoadOptions): LoadPlan {
  const qps = opts.qps ?? LOAD_DEFAULTS.qps;
  const durationMs = opts.durationMs ?? LOAD_DEFAULTS.durationMs;
  const exactly = opts.n ?? 0;
  let threads = Math.max(1, opts.connections ?? LOAD_DEFAULTS.connections);
  const requestedThreads = threads;
  const warnings: string[] = [];
  let perThread = 0;
  let leftOver = 0;
  if (exactly > 0 || durationMs > 0) {
    if (qps > 0) {
      let numCalls = exactly > 0 ? exactly : Math.floor(qps * (durationMs / 1000));
      if (numCalls < 2) {
        warnings.push('Increasing the number of calls to the minimum of 2 with 1 thread. total duration will increase');
        numCalls = 2;
        threads = 1;
      }
      if (2 * threads > numCalls) {
        const newN = Math.floor(numCalls / 2);
        warnings.push(`Lowering number of threads - total call ${numCalls} -> lowering from ${threads} to ${newN} threads`);
        threads = newN;
      }
      perThread = Math.floor(numCalls / threads);
      if (exactly > 0) leftOver = exactly - perThread * threads;
    } else if (exactly > 0) {
      // Fortio would still run one call on threads with 0 calls; we keep the total exact.
      if (threads > exactly) {
        warnings.push(`Lowering number of threads - total call ${exactly} -> lowering from ${threads} to ${exactly} threads`);
        threads = exactly;
      }
      perThread = Math.floor(exactly / threads);
      leftOver = exactly % threads;
    }
  }
  return { url: opts.url, qps, durationMs, exactly, threads, requestedThreads, perThread, leftOver, gomax: os.availableParallelism(), warnings };
}

/** Resolves the proxy for an http:// URL from explicit option or HTTP_PROXY/NO_PROXY (loopback never proxied). */
export function proxyFor(url: URL, explicit: string | undefined, env: Record<string, string | undefined>): Hop | undefined {
  if (url.protocol !== 'http:') return undefined;
  const raw = explicit ?? env.HTTP_PROXY ?? env.http_proxy;
  if (!raw) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || /^127\./.test(host) || host === '::1') return undefined;
  const port = url.port || '80';
  const noProxy = env.NO_PROXY ?? env.no_proxy ?? '';
  for (let entry of noProxy.split(/[\s,]+/)) {
    entry = entry.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return undefined;
    let ePort: string | undefined;
    const m = /^(.*):(\d+)$/.exec(entry);
    if (m && !entry.endsWith(']')) [entry, ePort] = [m[1] as string, m[2]];
    if (ePort && ePort !== port) continue;
    const bare = entry.replace(/^\*?\./, '');
    if (host === bare || host.endsWith('.' + bare)) return undefined;
  }
  let pu: URL;
  try {
    pu = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new FortioError('SKIFF_ERR_FORTIO_PROXY', `invalid HTTP proxy "${raw}": not a URL`);
  }
  return { host: pu.hostname.replace(/^\[|\]$/g, ''), port: Number(pu.port) || 80 };
}

/** Parses a URL the way fortio accepts it (scheme optional, http assumed). */
export function parseTarget(raw: string, logger?: Logger): URL {
  let s = raw;
  if (!/^https?:\/\//i.test(s)) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) throw new FortioError('SKIFF_ERR_FORTIO_URL', `unsupported URL "${raw}": only http:// and https:// are supported`);
    logger?.log(LogLevel.Warning, `Assuming http:// on missing scheme for '${raw}'`);
    s = 'http://' + s;
  }
  try {
    return new URL(s);
  } catch {
    throw new FortioError('SKIFF_ERR_FORTIO_URL', `invalid URL "${raw}"`);
  }
}

/** Runs the load test and resolves with its measurements; throws FortioError when warmup fails. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const plan = planLoad(opts);
  const logger = opts.logger;
  for (const w of plan.warnings) logger?.log(LogLevel.Warning, w);
  const url = parseTarget(opts.url, logger);
  const env = opts.env ?? {};
  const payload = opts.payload === undefined ? undefined : Buffer.from(opts.payload);
  const method = opts.method ?? (payload && payload.length > 0 ? 'POST' : LOAD_DEFAULTS.method);
  const timeoutMs = opts.timeoutMs ?? LOAD_DEFAULTS.timeoutMs;
  const headers = parseHeaders(opts.headers ?? []);
  const proxy = proxyFor(url, opts.httpProxy, env);
  const clients: FastClient[] = [];
  for (let i = 0; i < plan.threads; i++) {
    clients.push(new FastClient({
      url, method, headers, payload, keepalive: opts.keepalive ?? true, timeoutMs, proxy, insecure: opts.insecure,
      threadId: i, logger, userAgent: `fortio.org/fortio-${VERSION}`,
    }));
  }
  // One coarse sweeper for all request deadlines instead of a timer per request.
  const sweeper = setInterval(() => {
    const now = performance.now();
    for (const c of clients) c.expire(now);
  }, Math.min(100, Math.max(5, timeoutMs / 10)));
  try {
    const warmup = plan.exactly > 0 ? 0 : plan.threads;
    if (warmup > 0) await runWarmup(clients, url.href, opts.allowInitialErrors ?? false);
    opts.onStart?.(plan);
    return await runThreads(plan, clients, opts);
  } finally {
    clearInterval(sweeper);
    for (const c of clients) c.close();
  }
}

async function runWarmup(clients: FastClient[], url: string, allowErrors: boolean): Promise<void> {
  const codes = await Promise.all(clients.map((c) => c.fetch()));
  if (allowErrors) return;
  const bad = codes.findIndex((c) => !codeIsOK(c));
  if (bad >= 0) {
    throw new FortioError('SKIFF_ERR_FORTIO_WARMUP', `error ${codes[bad]} for ${url} (${clients[bad]?.size ?? 0} bytes)`);
  }
}

/** Mutable per-run state shared by the thread loops (JS is single threaded, so no merge step). */
interface RunState {
  plan: LoadPlan;
  start: number;
  signal?: AbortSignal;
  duration: Histogram;
  errors: Histogram;
  sleep: Histogram;
  codes: Map<number, number>;
  sizes: Histogram;
  headerSizes: Histogram;
  logger?: Logger;
}

async function runThreads(plan: LoadPlan, clients: FastClient[], opts: LoadOptions): Promise<LoadResult> {
  const startTime = new Date();
  const st: RunState = {
    plan, start: performance.now(), signal: opts.signal, logger: opts.logger,
    duration: new Histogram(0, 0.001), errors: new Histogram(0, 0.001), sleep: new Histogram(-0.001, 0.001),
    codes: new Map(), sizes: new Histogram(0, 100), headerSizes: new Histogram(0, 5),
  };
  const loops: Array<Promise<void>> = [];
  for (let t = 0; t < plan.threads; t++) {
    loops.push(runOne(st, clients[t] as FastClient, t, plan.perThread + (t === 0 ? plan.leftOver : 0)));
  }
  await Promise.all(loops);
  const elapsedMs = performance.now() - st.start;
  const percentiles = opts.percentiles ?? [...LOAD_DEFAULTS.percentiles];
  const connect = new Histogram(0, 0.001);
  const ipCount = new Map<string, number>();
  for (const c of clients) {
    for (const [k, v] of c.ipUsage) ipCount.set(k, (ipCount.get(k) ?? 0) + v);
    mergeInto(connect, c.connectStats);
  }
  const sockets = clients.map((c) => c.socketCount);
  const count = st.duration.count;
  return {
    plan, version: VERSION, startTime, durationNs: Math.round(elapsedMs * 1e6), actualQPS: count / (elapsedMs / 1000),
    warmup: plan.exactly > 0 ? 0 : plan.requestedThreads,
    duration: st.duration.export(percentiles), errors: st.errors.export(percentiles),
    sleep: plan.qps > 0 ? st.sleep : undefined,
    retCodes: new Map([...st.codes].sort((a, b) => a[0] - b[0])),
    sizes: st.sizes, headerSizes: st.headerSizes,
    sockets, socketCount: sockets.reduce((a, b) => a + b, 0),
    perThreadIPs: clients.map((c) => c.ipUsage), perThreadConnect: clients.map((c) => c.connectStats),
    connectStats: connect.export(percentiles), ipCount, percentiles,
    interrupted: plan.exactly > 0 && count !== plan.exactly,
  };
}

/** One thread's loop: fortio's runOne, including its QPS target-elapsed pacing formula. */
async function runOne(st: RunState, client: FastClient, id: number, numCalls: number): Promise<void> {
  const { plan } = st;
  const perThreadQPS = plan.qps / plan.threads;
  const useQPS = perThreadQPS > 0;
  const hasDuration = plan.durationMs > 0;
  const useExactly = plan.exactly > 0;
  const endTime = st.start + plan.durationMs;
  let i = 0;
  for (;;) {
    if (st.signal?.aborted) break;
    const fStart = performance.now();
    if (!useExactly && hasDuration && fStart > endTime) {
      if (!useQPS) break;
      if (i >= 2 && i !== numCalls - 1) {
        st.logger?.log(LogLevel.Warning, `T${String(id).padStart(3, '0')} warning only did ${i} out of ${numCalls} calls before reaching ${formatDuration(plan.durationMs * 1e6)}`);
        break;
      }
    }
    const code = await client.fetch();
    const latency = secondsSince(fStart);
    st.duration.record(latency);
    if (!codeIsOK(code)) st.errors.record(latency);
    st.codes.set(code, (st.codes.get(code) ?? 0) + 1);
    st.sizes.record(client.size);
    st.headerSizes.record(client.headerLen);
    i++;
    if (useQPS) {
      if ((useExactly || hasDuration) && i >= numCalls) break;
      const target = hasDuration ? (i + i / (numCalls - 1)) / perThreadQPS : i / perThreadQPS;
      const sleepMs = target * 1000 - (performance.now() - st.start);
      st.sleep.record(Math.round(sleepMs * 1e6) / 1e9);
      if (sleepMs > 0) await sleep(sleepMs, undefined, { signal: st.signal }).catch(() => undefined);
    } else if (useExactly && i >= numCalls) break;
  }
}

/** Adds `src` samples into `dst` (same scale), like fortio's Histogram.Transfer. */
function mergeInto(dst: Histogram, src: Histogram): void {
  if (src.count === 0) return;
  if (dst.count === 0) {
    dst.min = src.min;
    dst.max = src.max;
  } else {
    dst.min = Math.min(dst.min, src.min);
    dst.max = Math.max(dst.max, src.max);
  }
  dst.count += src.count;
  dst.sum += src.sum;
  dst.sumOfSquares += src.sumOfSquares;
  for (let i = 0; i < src.hdata.length; i++) dst.hdata[i] = (dst.hdata[i] as number) + (src.hdata[i] as number);
}

/** Splits "Name: value" header strings; throws FortioError on a malformed one. */
export function parseHeaders(list: readonly string[]): Array<[string, string]> {
  return list.map((h) => {
    const i = h.indexOf(':');
    if (i <= 0) throw new FortioError('SKIFF_ERR_FORTIO_HEADER', `invalid header "${h}": expected "Name: value"`);
    return [h.slice(0, i).trim(), h.slice(i + 1).trim()] as [string, string];
  });
}
