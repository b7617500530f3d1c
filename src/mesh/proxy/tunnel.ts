/**
 * Byte pipes: opaque TCP (inbound tcp ports, gateway tcp servers), CONNECT tunnels and HTTP
 * upgrades (WebSocket) once routed. One TcpSession per connection records Istio's TCP metrics
 * (opened/closed, bytes both ways) and the access log line; byte counters are flushed by one
 * coarse interval for all sessions (STYLE 9) and at close, so long-lived connections show traffic.
 */
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { formatAccessLog } from './access-log.ts';
import type { CompiledDest } from './compile.ts';
import type { ListenerCtx, Live } from './engine.ts';
import { F } from './flags.ts';
import type { HttpFamily, TcpFamily, TcpSeries } from './stats.ts';
import type { UpstreamCluster, UpstreamHost } from './upstream/index.ts';

const kPeer = Symbol('skiff.proxy.peer');
const kSession = Symbol('skiff.proxy.session');
type Sock = net.Socket & { [kPeer]?: net.Socket; [kSession]?: TcpSession };

function onPairError(this: Sock): void {
  this.destroy();
}

function onPairClose(this: Sock): void {
  // A side closed without its FIN (reset, error) takes the other with it. After a FIN the peer got
  // end() through pipe; it is closed once its writes are flushed, as Envoy's tcp_proxy closes the
  // other connection with FlushWrite. Waiting for the peer's own FIN instead would hang when it
  // still sends (a TLS close_notify): pipe paused it when this side finished, so it never reads again.
  const p = this[kPeer];
  if (!p || p.destroyed) return;
  if (!this.readableEnded) p.destroy();
  else p.destroySoon();
}

/** Pipes two allowHalfOpen sockets both ways; a FIN on one side becomes a FIN on the other. */
export function splice(a: net.Socket, b: net.Socket): void {
  (a as Sock)[kPeer] = b;
  (b as Sock)[kPeer] = a;
  a.on('error', onPairError);
  b.on('error', onPairError);
  a.on('close', onPairClose);
  b.on('close', onPairClose);
  a.pipe(b);
  b.pipe(a);
}

/**
 * What a session reports under, resolved once the host is chosen (its workload labels the
 * destination): TCP metrics, or (upgrades) one HTTP request with the upstream's status.
 */
export type SessionStats = { tcp: (host: UpstreamHost | undefined) => TcpFamily } | { http: (host: UpstreamHost | undefined) => HttpFamily };

/** What one proxied connection needs. */
export interface SessionOptions {
  lst: ListenerCtx;
  live: Live;
  client: net.Socket;
  dest?: CompiledDest;
  cluster: UpstreamCluster;
  stats: SessionStats;
  /** Passthrough: the address the client asked for. */
  original?: { address: string; port: number };
  hashKey?: string;
  /** Bytes to send upstream first (an upgrade's request head, CONNECT's early data). */
  head?: Buffer | string;
  /** Written to the client once the upstream connects (`HTTP/1.1 200 Connection established`). */
  established?: string;
  /** Written to the client when no upstream can be reached (CONNECT/upgrade); plain TCP just closes. */
  failure?: (status: number, body: string) => string;
  /** Access-log fields of HTTP-born sessions. */
  method?: string;
  path?: string;
  authority?: string;
  routeName?: string;
  flags?: number;
  /** %REQUESTED_SERVER_NAME%: the SNI of a TLS passthrough connection. */
  serverName?: string;
}

/** One proxied connection. */
export class TcpSession {
  readonly o: SessionOptions;
  readonly start: number;
  readonly t0 = performance.now();
  up?: net.Socket;
  host?: UpstreamHost;
  flags: number;
  series?: TcpSeries;
  /** Upgrades: the upstream's status code, read from its first bytes. */
  status = 0;
  reportedIn = 0;
  reportedOut = 0;
  closed = false;
  #sessions: Set<TcpSession>;

  constructor(o: SessionOptions, sessions: Set<TcpSession>) {
    this.o = o;
    this.start = o.lst.engine.now();
    this.flags = o.flags ?? 0;
    this.#sessions = sessions;
    (o.client as Sock)[kSession] = this;
    o.client.on('error', onPairError);
    o.client.on('close', onClientClose);
  }

  /** Chooses a host and connects; on success splices, else answers/ends the client. */
  connect(): void {
    const o = this.o;
    const host = o.cluster.choose({ hashKey: o.hashKey, original: o.original });
    if (!host) return this.#fail(F.UH, 503, 'no healthy upstream');
    this.host = host;
    o.cluster.connectTcp(host, (err, up) => {
      if (err || !up) {
        if (err?.reason !== 'overflow') o.cluster.report(host, { local: 'connect-failure' });
        return err?.reason === 'overflow' ? this.#fail(F.UO, 503, 'upstream connect error or disconnect/reset before headers. reset reason: overflow') : this.#fail(F.UF, 503, 'upstream connect error or disconnect/reset before headers. reset reason: connection failure');
      }
      if (this.closed || o.client.destroyed) return void up.destroy();
      this.up = up;
      up.setNoDelay(true);
      if ('tcp' in o.stats) {
        this.series = o.stats.tcp(host).get(this.flags);
        this.series.opened.inc();
        this.#sessions.add(this);
      } else up.once('data', onFirstUpstreamData);
      (up as Sock)[kSession] = this;
      if (o.head?.length) up.write(o.head);
      if (o.established) o.client.write(o.established);
      splice(o.client, up);
    });
  }

  #fail(flag: number, status: number, body: string): void {
    this.flags |= flag;
    const c = this.o.client;
    if ('tcp' in this.o.stats) {
      this.series = this.o.stats.tcp(this.host).get(this.flags);
      this.series.opened.inc();
    } else this.status = status;
    if (this.o.failure && c.writable) c.end(this.o.failure(status, body));
    else c.destroy();
  }

  /** Adds the bytes moved since the last flush to the counters. */
  flush(): void {
    const s = this.series;
    if (!s) return;
    const c = this.o.client;
    const inb = c.bytesRead;
    const out = c.bytesWritten;
    s.received.inc(inb - this.reportedIn);
    s.sent.inc(out - this.reportedOut);
    this.reportedIn = inb;
    this.reportedOut = out;
  }

  /** Called once when the client socket closes. */
  finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.#sessions.delete(this);
    this.up?.destroy();
    const o = this.o;
    const c = o.client;
    const ms = performance.now() - this.t0;
    if ('tcp' in o.stats) {
      this.flush();
      this.series?.closed.inc();
    } else {
      const s = o.stats.http(this.host).get(this.status, this.flags);
      s.requests.inc();
      s.duration.observe(ms);
      s.requestBytes.observe(c.bytesRead);
      s.responseBytes.observe(c.bytesWritten);
    }
    if (!o.live.cfg.accessLog) return;
    o.lst.engine.log(
      formatAccessLog({
        start: this.start,
        method: o.method,
        path: o.path,
        protocol: o.method ? 'HTTP/1.1' : undefined,
        status: this.status,
        flags: this.flags,
        details: 'tcp' in o.stats ? undefined : 'via_upstream',
        bytesReceived: c.bytesRead,
        bytesSent: c.bytesWritten,
        durationMs: ms,
        authority: o.authority,
        upstreamHost: this.host?.key,
        upstreamCluster: o.cluster.config.name,
        upstreamLocal: this.up?.localAddress ? `${this.up.localAddress}:${this.up.localPort}` : undefined,
        downstreamLocal: `${c.localAddress}:${c.localPort}`,
        downstreamRemote: `${c.remoteAddress}:${c.remotePort}`,
        serverName: o.serverName,
        routeName: o.routeName,
      }),
    );
  }
}

function onClientClose(this: Sock): void {
  this[kSession]?.finish();
}

function onFirstUpstreamData(this: Sock, chunk: Buffer): void {
  const s = this[kSession];
  if (!s) return;
  // `HTTP/1.1 101 ...`: the status is at bytes 9..12.
  const st = Number(chunk.subarray(9, 12).toString('latin1'));
  if (Number.isInteger(st)) s.status = st;
}

/** A raw HTTP error response that closes the connection (CONNECT and upgrade paths). */
export function rawResponse(status: number, body: string, server: string, reason = ''): string {
  const text = body ? `${body}` : '';
  return `HTTP/1.1 ${status} ${reason || statusText(status)}\r\n${text ? 'content-type: text/plain\r\n' : ''}content-length: ${Buffer.byteLength(text)}\r\nserver: ${server}\r\nconnection: close\r\n\r\n${text}`;
}

function statusText(s: number): string {
  switch (s) {
    case 400:
      return 'Bad Request';
    case 403:
      return 'Forbidden';
    case 404:
      return 'Not Found';
    case 502:
      return 'Bad Gateway';
    case 503:
      return 'Service Unavailable';
    default:
      return 'Error';
  }
}

/** Flushes every session's byte counters on one coarse interval. */
export class TcpFlusher {
  readonly sessions = new Set<TcpSession>();
  #timer: NodeJS.Timeout;

  constructor(intervalMs = 15000) {
    // Istio reports TCP metrics periodically too (tcp_reporting_duration, 15 s by default).
    this.#timer = setInterval(() => {
      for (const s of this.sessions) s.flush();
    }, intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer. */
  close(): void {
    clearInterval(this.#timer);
  }
}
