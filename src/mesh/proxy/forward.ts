/**
 * The router's upstream half (Envoy's router filter): pick a weighted destination, choose a host,
 * send the request through the cluster's circuit breakers, and turn every failure into Envoy's
 * answer — retries with jittered backoff and the maxRetries budget, per-try and route timeouts,
 * overflow, connection failure and reset (semantics §2.8, §2.9, §3.4, §10).
 *
 * One Forward per routed request (upstream-request.ts) holds the attempt state. Event listeners are module functions
 * reading the Forward under a symbol on the ClientRequest/IncomingMessage (no per-request
 * closures); the only closures are the cluster.request() callback per attempt and mirrors.
 * Bodies are replayable (retries, mirrors) only when buffered: bodiless requests, or bodies up to
 * `bufferLimit` (Envoy's per-request buffer limit plays the same role); larger ones are streamed
 * to the first attempt and never retried.
 *
 * HTTP/2 and gRPC: an HTTP/2 cluster's request() hands back an H2Call (upstream/h2-call.ts) that
 * drives like a ClientRequest, so attempts run the same way whatever the protocol on either side
 * (Envoy translates between them too). gRPC requests read `grpc-status` from the response headers
 * (trailers-only answers: retry words, outlier detection through Envoy's gRPC→HTTP mapping) and
 * trailers; response trailers reach HTTP/2 clients (Envoy drops trailers on HTTP/1.1 by default).
 *
 * When the proxy's own HTTP/1.1 codec is on both sides, the response comes as direct calls from the
 * exchange's parser (`relay`, h1/client.ts Relay) instead of 'response', 'data' and 'end' events and
 * pipe(); the decisions on it (accept, respondHead) are the same code.
 */
import type http from 'node:http';
import { type CompiledRetry, type CompiledRoute, RETRY } from './compile.ts';
import { F } from './flags.ts';
import { grpcToHttpStatus } from './grpc.ts';
import { h2HasBody } from './h2.ts';
import { H1Call, reasonOf, type Relay } from './h1/client.ts';
import type { H1Head, HeadLines } from './h1/parser.ts';
import { readNow } from './h1/reads.ts';
import { H1Response, LINES_DATE, LINES_LENGTH } from './h1/response.ts';
import { connectionListed, downstreamHeaders, dropsDownstream, headerOf } from './headers.ts';
import { bodies, type HttpStream, localReply, resetBody } from './stream.ts';
import type { StreamFailure } from './upstream/index.ts';
import { buildRequest, Forward, hashKey, kFwd, mirror, pickDest, type RouteAction, type Tagged } from './upstream-request.ts';

/** Largest request body kept for retries and mirrors (bytes). */
export const bufferLimit = 64 * 1024;

const GRPC_ANY = RETRY.grpcCancelled | RETRY.grpcDeadline | RETRY.grpcInternal | RETRY.grpcResource | RETRY.grpcUnavailable;
const RESETTISH = RETRY.reset | RETRY.r5xx | RETRY.gatewayError;

const CONNECT = 0;
const CONNECT_TIMEOUT = 1;
const RESET = 2;
/** HTTP/2 stream resets (RST_STREAM) by the upstream: any code, and REFUSED_STREAM (never processed). */
const REMOTE_RESET = 3;
const REFUSED = 4;
/** The upstream's answer could not be parsed (h1/client.ts): Envoy's codec error, flag UPE. */
const PROTOCOL = 5;
const resetReason = ['connection failure', 'connection timeout', 'connection termination', 'remote reset', 'remote refused stream reset', 'protocol error'];
const resetDetails = [
  'upstream_reset_before_response_started{remote_connection_failure}',
  'upstream_reset_before_response_started{connection_timeout}',
  'upstream_reset_before_response_started{connection_termination}',
  'upstream_reset_before_response_started{remote_reset}',
  'upstream_reset_before_response_started{remote_refused_stream_reset}',
  'upstream_reset_before_response_started{protocol_error}',
];
const resetFlags = [F.UF, F.UF, F.UC, F.UR, F.UR, F.UPE];

/** Errors node reports when a connection could not be established at all. */
const connectCodes = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ETIMEDOUT', 'EADDRINUSE', 'ENOTFOUND', 'EAI_AGAIN']);

/** Forwards a routed request upstream; every outcome ends in a response on `s.res`. */
export function forward(s: HttpStream, r: CompiledRoute, a: RouteAction): void {
  const d = pickDest(a, s.lst.engine.random);
  s.dest = d;
  const cluster = d.cluster;
  if (!cluster) return localReply(s, 503, '', F.NC, 'cluster_not_found');
  s.cluster = cluster;
  const f = new Forward(s, a, d, cluster);
  s.abort = abortStream;
  (s as HttpStream & Tagged)[kFwd] = f;
  buildRequest(f, r);
  if (a.hash) f.hashKey = hashKey(f, a);
  if (s.original) f.original = s.original;
  const cl = headerOf(s.req, 'content-length');
  // HTTP/2 requests usually carry no content-length: a body is whatever follows HEADERS without END_STREAM.
  const hasBody = (cl !== undefined && cl !== '0') || headerOf(s.req, 'transfer-encoding') !== undefined || (s.h2 && h2HasBody(s.req));
  f.endStream = !hasBody;
  if (s.h2) f.trailersFrom = s.req;
  const replay = a.retry.num > 0 || a.mirrors.length > 0;
  if (!hasBody) return dispatch(f, a.retry.on);
  if (!replay || (cl !== undefined && Number(cl) > bufferLimit)) {
    f.streamBody = true;
    return dispatch(f, 0);
  }
  f.chunks = [];
  const req = s.req as http.IncomingMessage & Tagged;
  req[kFwd] = f;
  req.on('data', onBufferData);
  req.on('end', onBufferEnd);
}

function onBufferData(this: http.IncomingMessage & Tagged, chunk: Buffer): void {
  const f = this[kFwd]!;
  f.chunks!.push(chunk);
  f.s.bytesIn += chunk.length;
  if (f.s.bytesIn > bufferLimit && !f.streamBody) {
    // Too big to keep: stream from here on, without retries (pipe() in the attempt resumes the flow).
    this.pause();
    this.off('data', onBufferData);
    this.off('end', onBufferEnd);
    this.on('data', onCountData);
    f.streamBody = true;
    dispatch(f, 0);
  }
}

function onCountData(this: http.IncomingMessage & Tagged, chunk: Buffer): void {
  this[kFwd]!.s.bytesIn += chunk.length;
}

function onBufferEnd(this: http.IncomingMessage & Tagged): void {
  const f = this[kFwd]!;
  f.body = f.chunks!.length === 1 ? f.chunks![0] : Buffer.concat(f.chunks!);
  f.chunks = undefined;
  if (!f.finished) dispatch(f, f.a.retry.on);
}

function dispatch(f: Forward, retryOn: number): void {
  if (f.finished) return;
  f.retryOn = retryOn;
  // The route timeout starts once the router has the whole request (after any fault delay).
  if (f.a.timeoutMs > 0) f.global = setTimeout(onGlobalTimeout, f.a.timeoutMs, f);
  attempt(f);
  if (f.a.mirrors.length && !f.streamBody) mirror(f);
}

function attempt(f: Forward): void {
  const s = f.s;
  f.attempt++;
  const host = f.cluster.choose(f);
  if (!host) {
    finish(f);
    return localReply(s, 503, bodies.noHealthy, F.UH, 'no_healthy_upstream');
  }
  f.host = host;
  s.upHost = host;
  const n = f.attempt;
  f.headers[f.attemptIdx] = String(n);
  // The pre-rendered tail says attempt 1.
  if (n > 1) f.headTail = undefined;
  f.attemptStart = readNow();
  f.pooled = 0;
  // One closure per attempt: the cluster's callback API needs it to know which attempt answered.
  const handle = f.cluster.request(host, f, (err, creq) => onPool(f, n, err, creq));
  // The callback may already have run (synchronously); only a request still waiting keeps its handle.
  if (f.pooled !== n && f.attempt === n && !f.finished) f.handle = handle;
}

function onPool(f: Forward, n: number, err: StreamFailure | undefined, creq: http.ClientRequest | undefined): void {
  f.pooled = n;
  if (f.finished || n !== f.attempt) {
    creq?.destroy();
    return;
  }
  f.handle = undefined;
  const failure = err?.reason;
  if (err && err.reason !== 'overflow') f.s.transportFailure = err.detail;
  if (failure === 'overflow') return onOverflow(f);
  if (failure || !creq) {
    f.cluster.report(f.host!, { local: 'connect-failure' });
    return onReset(f, failure === 'connect-timeout' ? CONNECT_TIMEOUT : CONNECT, false);
  }
  f.creq = creq;
  // The proxy's own HTTP/1.1 on both sides: the response is relayed from the parser (no emitters).
  if ((creq as unknown) instanceof H1Call && f.s.res instanceof H1Response) (creq as unknown as H1Call).relayTo(relay, f);
  else {
    (creq as http.ClientRequest & Tagged)[kFwd] = f;
    creq.on('response', onUpstreamResponse);
    creq.on('error', onUpstreamError);
  }
  const perTry = f.a.retry.perTryMs;
  if (perTry > 0) f.perTry = setTimeout(onPerTryTimeout, perTry, f);
  if (f.body) creq.end(f.body);
  else if (f.streamBody) {
    if (f.chunks) for (const c of f.chunks) creq.write(c);
    f.chunks = undefined;
    if (f.s.req.readableEnded) creq.end();
    else {
      if (f.s.req.listenerCount('data') === 0) f.s.req.on('data', onCountData);
      (f.s.req as http.IncomingMessage & Tagged)[kFwd] = f;
      f.s.req.pipe(creq);
    }
  } else creq.end();
}

/** Drops the attempt in flight (its late events are ignored: `f.creq` no longer points at it). */
function abandon(f: Forward): void {
  const creq = f.creq;
  f.creq = undefined;
  if (creq) {
    if (f.streamBody) f.s.req.unpipe(creq);
    creq.destroy();
  }
  f.handle?.cancel();
  f.handle = undefined;
  if (f.perTry) clearTimeout(f.perTry);
  f.perTry = undefined;
}

function releaseRetry(f: Forward): void {
  if (f.holdingRetry) {
    f.holdingRetry = false;
    f.cluster.retryDone();
  }
}

function finish(f: Forward): void {
  if (f.finished) return;
  f.finished = true;
  if (f.global) clearTimeout(f.global);
  if (f.backoff) clearTimeout(f.backoff);
  if (f.perTry) clearTimeout(f.perTry);
  f.global = f.backoff = f.perTry = undefined;
  releaseRetry(f);
}

function abortStream(s: HttpStream): void {
  const f = (s as HttpStream & Tagged)[kFwd];
  if (!f) return;
  abandon(f);
  finish(f);
}

const YES = 0;
const NO = 1;

/** Envoy's shouldRetry: limit reached → URX; budget (maxRetries) refused → UO; else take a slot. */
function mayRetry(f: Forward): number {
  if (f.attempt > f.a.retry.num) {
    f.s.flags |= F.URX;
    return NO;
  }
  if (!f.cluster.tryRetry()) {
    f.s.flags |= F.UO;
    return NO;
  }
  return YES;
}

function scheduleRetry(f: Forward): void {
  releaseRetry(f);
  f.holdingRetry = true;
  const r = f.a.retry;
  if (r.avoid && f.host) {
    const tried = (f.avoid as Set<string> | undefined) ?? new Set<string>();
    tried.add(f.host.key);
    f.avoid = tried;
  }
  // Fully jittered exponential backoff: retry n waits random [0, (2^n − 1)·base), capped at 10 × base.
  const interval = Math.min(((1 << Math.min(f.attempt, 20)) - 1) * r.baseMs, 10 * r.baseMs);
  f.backoff = setTimeout(onBackoff, Math.floor(f.s.lst.engine.random() * interval), f);
}

function onBackoff(f: Forward): void {
  f.backoff = undefined;
  if (!f.finished) attempt(f);
}

function onOverflow(f: Forward): void {
  // Overflow is never retried and never reported to outlier detection (semantics §3.4).
  finish(f);
  localReply(f.s, 503, resetBody('overflow', f.attempt > 1), F.UO, 'upstream_reset_before_response_started{overflow}', ['x-envoy-overloaded', 'true']);
}

function onReset(f: Forward, kind: number, started: boolean): void {
  const on = f.retryOn;
  const would =
    kind >= RESET
      ? ((on & RETRY.resetBeforeRequest) !== 0 && !started) || (on & RESETTISH) !== 0 || (kind === REFUSED && (on & RETRY.refusedStream) !== 0)
      : (on & (RETRY.connectFailure | RETRY.resetBeforeRequest | RESETTISH)) !== 0;
  if (would && mayRetry(f) === YES) return scheduleRetry(f);
  finish(f);
  localReply(f.s, 503, resetBody(resetReason[kind], f.attempt > 1), resetFlags[kind], resetDetails[kind]);
}

/** What an upstream error needs of the exchange. */
type Exchange = { reusedSocket: boolean; remoteReset?: number };

function onUpstreamError(this: http.ClientRequest & Tagged & { remoteReset?: number }, err: NodeJS.ErrnoException): void {
  const f = this[kFwd];
  if (f) upstreamError(f, this, err);
}

/** The exchange failed before its response. */
function upstreamError(f: Forward, creq: Exchange, err: NodeJS.ErrnoException): void {
  if ((f.creq as unknown) !== creq || f.responded) return;
  const connectFailed = connectCodes.has(err.code ?? '');
  // A pooled connection that turns out dead (the keep-alive race), or an HTTP/2 stream the upstream
  // refused, never carried the request.
  const started = !connectFailed && !creq.reusedSocket;
  // HTTP/2 calls say whether the upstream reset the stream itself (1) or refused it (2).
  const rr = creq.remoteReset;
  abandon(f);
  f.cluster.report(f.host!, { local: connectFailed ? 'connect-failure' : 'reset' });
  const kind = connectFailed ? CONNECT : err.code === 'HPE_INVALID' ? PROTOCOL : rr === 2 ? REFUSED : rr === 1 ? REMOTE_RESET : RESET;
  onReset(f, kind, started);
}

function onPerTryTimeout(f: Forward): void {
  f.perTry = undefined;
  if (f.finished) return;
  abandon(f);
  f.cluster.report(f.host!, { local: 'timeout' });
  if ((f.retryOn & RESETTISH) !== 0 && mayRetry(f) === YES) return scheduleRetry(f);
  finish(f);
  localReply(f.s, 504, bodies.timeout, F.UT, 'upstream_per_try_timeout');
}

function onGlobalTimeout(f: Forward): void {
  f.global = undefined;
  if (f.finished) return;
  const inFlight = f.creq !== undefined && !f.responded;
  abandon(f);
  if (inFlight) f.cluster.report(f.host!, { local: 'timeout' });
  finish(f);
  const s = f.s;
  if (f.responded) {
    s.flags |= F.UT;
    s.cut = true;
    s.res.destroy();
  } else localReply(s, 504, bodies.timeout, F.UT, 'upstream_response_timeout');
}

/** The first value of a header in a raw list (names lowercase: headers.ts), without building the header object. */
function rawHeader(raw: string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i] === name) return raw[i + 1];
  return undefined;
}

/**
 * Envoy's wouldRetryFromHeaders. The status and grpc-status decide first; only a response they would
 * retry is looked at for `x-envoy-overloaded` / `x-envoy-ratelimited` (which forbid it), so the usual
 * 2xx under Istio's default retry policy reads no header at all.
 */
function retriableStatus(r: CompiledRetry, on: number, status: number, raw: string[]): boolean {
  let would =
    (on & RETRY.r5xx && status >= 500 && status < 600) ||
    (on & RETRY.gatewayError && (status === 502 || status === 503 || status === 504)) ||
    (on & RETRY.retriable4xx && status === 409) ||
    (on & RETRY.statusCodes && r.codes.has(status));
  if (!would && on & GRPC_ANY) {
    const g = rawHeader(raw, 'grpc-status');
    if (g !== undefined) {
      const code = Number(g);
      would =
        (code === 1 && (on & RETRY.grpcCancelled) !== 0) ||
        (code === 4 && (on & RETRY.grpcDeadline) !== 0) ||
        (code === 8 && (on & RETRY.grpcResource) !== 0) ||
        (code === 13 && (on & RETRY.grpcInternal) !== 0) ||
        (code === 14 && (on & RETRY.grpcUnavailable) !== 0);
    }
  }
  return Boolean(would) && rawHeader(raw, 'x-envoy-overloaded') === undefined && rawHeader(raw, 'x-envoy-ratelimited') === undefined;
}

function onUpstreamResponse(this: http.ClientRequest & Tagged, pres: http.IncomingMessage & Tagged): void {
  const f = this[kFwd];
  const status = pres.statusCode ?? 502;
  // gRPC: a grpc-status in the headers (a trailers-only answer) is what outlier detection counts, as
  // its HTTP mapping (Envoy's router). Only gRPC requests look: node builds `headers` on first read.
  const g = f?.s.grpc ? pres.headers['grpc-status'] : undefined;
  if (!f || !accept(f, this, status, pres.rawHeaders, typeof g === 'string' ? g : undefined)) {
    pres.resume();
    return;
  }
  respondHead(f, this, status, pres.statusMessage ?? '', pres.rawHeaders);
  pres[kFwd] = f;
  pres.on('data', onResponseData);
  // 'end' and 'close' fire once; on() skips the wrapper once() allocates.
  pres.on('end', onResponseEnd);
  pres.on('close', onResponseClose);
  pres.pipe(f.s.res);
}

/**
 * A response head from the exchange in flight: outlier detection hears its status, then a status
 * the retry policy takes schedules the next attempt. True when the response goes downstream.
 */
function accept(f: Forward, creq: unknown, status: number, raw: string[], grpcStatus: string | undefined): boolean {
  if ((f.creq as unknown) !== creq || f.finished) return false;
  if (f.perTry) clearTimeout(f.perTry);
  f.perTry = undefined;
  f.cluster.report(f.host!, { status: grpcStatus === undefined ? status : grpcToHttpStatus(grpcStatus) });
  if (f.retryOn && retriableStatus(f.a.retry, f.retryOn, status, raw) && mayRetry(f) === YES) {
    f.creq = undefined;
    scheduleRetry(f);
    return false;
  }
  if (grpcStatus !== undefined) f.s.grpcStatus = grpcStatus;
  return true;
}

/** The downstream response's head, from the upstream's. */
function respondHead(f: Forward, creq: { socket: http.ClientRequest['socket'] }, status: number, message: string, raw: string[]): void {
  const h = downstreamHeaders(raw, f.d.ops.response, responding(f, creq));
  addedHeaders(f, h);
  f.s.res.writeHead(status, message, h);
}

/** The start of a relayed response: the service time, the upstream address for the access log; returns the Server value. */
function responding(f: Forward, creq: { socket: http.ClientRequest['socket'] }): string {
  const s = f.s;
  f.responded = true;
  s.serviceTime = String(Math.round(readNow() - f.attemptStart));
  // Only the access log prints it: the address costs a getsockname per call.
  if (s.live.cfg.accessLog) {
    const sock = creq.socket;
    if (sock?.localAddress) s.upstreamLocal = `${sock.localAddress}:${sock.localPort}`;
  }
  s.details = 'via_upstream';
  return s.lst.server;
}

/** The headers the proxy adds to a relayed response, after the upstream's. */
function addedHeaders(f: Forward, h: string[]): void {
  const s = f.s;
  h.push('x-envoy-upstream-service-time', s.serviceTime);
  const cors = s.route?.cors;
  if (cors && s.corsOrigin) {
    h.push('access-control-allow-origin', s.corsOrigin);
    if (cors.credentials) h.push('access-control-allow-credentials', 'true');
    if (cors.expose) h.push('access-control-expose-headers', cors.expose);
  }
  if (s.setCookie) h.push('set-cookie', s.setCookie);
  if (s.lst.draining) h.push('connection', 'close');
}

/**
 * respondHead for a head whose lines the parser kept as read (H1Head.lines, names in lowercase):
 * the runs of lines passed on are slices of the upstream's text, not pairs joined again; the lines
 * dropped are downstreamHeaders' (hop-by-hop, the proxy's own, the route's removals).
 */
function respondLines(f: Forward, creq: H1Call, h: H1Head, lines: HeadLines): void {
  const server = responding(f, creq);
  const raw = h.rawHeaders;
  const ops = f.d.ops.response;
  const listed = connectionListed(raw);
  const text = lines.text;
  const ends = lines.ends;
  let out = '';
  let seen = 0;
  // Line i runs from the previous line's CR to its own: `run` is where the lines kept since the last
  // one dropped begin.
  let run = lines.first;
  let at = run;
  for (let i = 0; i < ends.length; i++) {
    const name = raw[i * 2];
    const end = ends[i];
    if (dropsDownstream(name, ops, listed)) {
      if (at > run) out += text.slice(run, at);
      run = end;
    } else if (name === 'date') seen |= LINES_DATE;
    else if (name === 'content-length') seen |= LINES_LENGTH;
    at = end;
  }
  if (at > run) out += text.slice(run, at);
  const add = ops.append.length ? [...ops.append, 'server', server] : ['server', server];
  addedHeaders(f, add);
  (f.s.res as unknown as H1Response).writeHeadLines(h.status, reasonOf(h), out, seen, add);
}

/**
 * The response relayed from the proxy's own HTTP/1.1 parser into its own HTTP/1.1 response
 * (h1/client.ts Relay): what the events and pipe() of the other paths do, as direct calls.
 */
const relay: Relay<Forward> = {
  head(f, h, call) {
    const status = h.status;
    const grpcStatus = f.s.grpc ? rawHeader(h.rawHeaders, 'grpc-status') : undefined;
    if (!accept(f, call, status, h.rawHeaders, grpcStatus)) return false;
    const lines = h.lines;
    if (lines !== undefined) respondLines(f, call, h, lines);
    else respondHead(f, call, status, reasonOf(h), h.rawHeaders);
    return true;
  },
  body(f, view) {
    const s = f.s;
    s.bytesOut += view.length;
    // The client reads slower than the upstream sends: the upstream waits (pipe()'s backpressure).
    if (!(s.res as unknown as H1Response).writeView(view) && !f.waiting) holdUpstream(f);
  },
  bodyText(f, text) {
    const s = f.s;
    s.bytesOut += text.length;
    if (!(s.res as unknown as H1Response).writeText(text) && !f.waiting) holdUpstream(f);
  },
  end(f, trailers) {
    if (trailers !== undefined && f.s.grpc) {
      const g = rawHeader(trailers, 'grpc-status');
      if (g !== undefined) f.s.grpcStatus = g;
    }
    finish(f);
    f.s.res.end();
  },
  cut(f) {
    cutResponse(f);
  },
  fail(f, err, call) {
    upstreamError(f, call, err);
  },
};

function holdUpstream(f: Forward): void {
  const sock = f.creq!.socket!;
  f.waiting = true;
  sock.pause();
  f.s.res.once('drain', () => {
    f.waiting = false;
    sock.resume();
  });
}

function onResponseData(this: http.IncomingMessage & Tagged, chunk: Buffer): void {
  this[kFwd]!.s.bytesOut += chunk.length;
}

function onResponseEnd(this: http.IncomingMessage & Tagged): void {
  const f = this[kFwd]!;
  // Runs before pipe() ends the downstream response, so trailers still fit in (rawTrailers is a plain field).
  if (this.rawTrailers.length > 0) responseTrailers(f, this);
  finish(f);
}

/** Response trailers: grpc-status for metrics; passed on to HTTP/2 clients (Envoy drops them on HTTP/1.1). */
function responseTrailers(f: Forward, pres: http.IncomingMessage): void {
  const t = pres.trailers;
  const s = f.s;
  if (s.grpc) {
    const g = t['grpc-status'];
    if (typeof g === 'string') s.grpcStatus = g;
  }
  if (s.h2) s.res.addTrailers(t);
}

function onResponseClose(this: http.IncomingMessage & Tagged): void {
  if (!this.complete) cutResponse(this[kFwd]!);
}

/** The upstream went away mid-body: cut the downstream response too (Envoy resets the stream). */
function cutResponse(f: Forward): void {
  if (f.finished) return;
  finish(f);
  const s = f.s;
  s.flags |= F.UC;
  s.details = 'upstream_reset_after_response_started{connection_termination}';
  s.cut = true;
  s.res.destroy();
}
