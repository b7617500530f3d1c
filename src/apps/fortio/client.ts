// A port of fortio's FastClient (fhttp/http_client.go): one raw socket per thread, the
// request bytes compiled once, a minimal HTTP/1.1 response parser, and the same socket
// policy: keep the socket only for a complete 2xx/418 keep-alive response; a non-ok
// status, `Connection: close`, a missing length or an error forces a new socket next time.
import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import { Histogram } from './stats.ts';
import { LogLevel, type Logger } from './log.ts';

/** Fortio's pseudo status for transport errors (refused, reset, timeout, bad response). */
export const SOCKET_ERROR = -1;

/** Where to connect: the origin itself or an HTTP proxy. */
export interface Hop { host: string; port: number }

/** Everything a client needs, validated by the caller. */
export interface ClientOptions {
  url: URL;
  method: string;
  /** Extra request headers as [name, value]; a `Host` entry overrides the Host header. */
  headers: ReadonlyArray<readonly [string, string]>;
  payload?: Buffer;
  keepalive: boolean;
  timeoutMs: number;
  /** HTTP proxy to send absolute-URL requests to (http:// URLs only). */
  proxy?: Hop;
  /** Skip TLS verification for https:// (fortio's -k). */
  insecure?: boolean;
  /** Read error responses fully (curl) instead of stopping at the status line (load). */
  readErrorBodies?: boolean;
  threadId: number;
  logger?: Logger;
  userAgent: string;
}

/** True for the codes fortio treats as success. */
export function codeIsOK(code: number): boolean {
  return (code >= 200 && code <= 299) || code === 418;
}

/** Builds the request bytes once (fortio does the same in NewFastClient). */
export function buildRequest(o: Pick<ClientOptions, 'url' | 'method' | 'headers' | 'payload' | 'keepalive' | 'proxy' | 'userAgent'>): Buffer {
  const u = o.url;
  const target = o.proxy ? `${u.protocol}//${u.host}${u.pathname}${u.search}` : `${u.pathname || '/'}${u.search}`;
  let host = u.host;
  let ua: string | undefined = o.userAgent;
  const extra: string[] = [];
  for (const [k, v] of o.headers) {
    const lk = k.toLowerCase();
    if (lk === 'host') host = v;
    else if (lk === 'user-agent') ua = v === '' ? undefined : v;
    else extra.push(`${k}: ${v}\r\n`);
  }
  let head = `${o.method} ${target} HTTP/1.1\r\nHost: ${host}\r\n`;
  if (!o.keepalive) head += 'Connection: close\r\n';
  if (ua !== undefined) head += `User-Agent: ${ua}\r\n`;
  head += extra.join('');
  if (o.payload && o.payload.length > 0) head += `Content-Length: ${o.payload.length}\r\n`;
  head += '\r\n';
  const hb = Buffer.from(head, 'latin1');
  return o.payload && o.payload.length > 0 ? Buffer.concat([hb, o.payload]) : hb;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const RE_CL = /\r\ncontent-length:[ \t]*(\d+)/;
const RE_CHUNKED = /\r\ntransfer-encoding:[^\r]*chunked/;
const RE_CLOSE = /\r\nconnection:[ \t]*close/;

function noop(): void {}

/**
 * Seconds elapsed since a performance.now() stamp, truncated to whole nanoseconds so values
 * print like Go's time.Duration.Seconds() (0.000499, not 0.00049899999999).
 */
export function secondsSince(startMs: number): number {
  return Math.round((performance.now() - startMs) * 1e6) / 1e9;
}

/** One fortio "thread": a persistent connection and the parser for its responses. */
export class FastClient {
  /** Sockets opened (or attempted) so far, fortio's per-thread socket count. */
  socketCount = 0;
  /** Connection establishment times in seconds. */
  readonly connectStats = new Histogram(0, 0.001);
  /** How many connections went to each `ip:port`. */
  readonly ipUsage = new Map<string, number>();

  readonly #o: ClientOptions;
  readonly #req: Buffer;
  readonly #hop: Hop;
  readonly #bodyless: boolean;
  #socket: net.Socket | null = null;
  #connected = false;
  #connectStart = 0;
  #buf = Buffer.allocUnsafe(16 * 1024);
  #size = 0;
  #code = SOCKET_ERROR;
  #headerLen = 0;
  #parsed = false;
  #end = -1; // byte offset where the response ends; -1 = until close or chunked
  #chunkPos = -1; // offset of the next chunk-size line in chunked mode
  #scanFrom = 0;
  #keep = true;
  #reused = false;
  #retried = false;
  #deadline = 0;
  #resolve: ((code: number) => void) | null = null;

  constructor(o: ClientOptions) {
    this.#o = o;
    this.#req = buildRequest(o);
    this.#hop = o.proxy ?? { host: o.url.hostname.replace(/^\[|\]$/g, ''), port: Number(o.url.port) || (o.url.protocol === 'https:' ? 443 : 80) };
    this.#bodyless = o.method === 'HEAD';
  }

  /** Total bytes (headers + body) of the last response. */
  get size(): number {
    return this.#size;
  }

  /** Header bytes of the last response (0 for non-ok codes, as fortio reports). */
  get headerLen(): number {
    return this.#headerLen;
  }

  /** Raw bytes of the last response. */
  get data(): Buffer {
    return this.#buf.subarray(0, this.#size);
  }

  /**
   * Sends the request and resolves with the status code (or -1). Never rejects.
   * The Promise is the one allocation per call we keep: the run loop is async/await.
   */
  fetch(): Promise<number> {
    this.#size = 0;
    this.#code = SOCKET_ERROR;
    this.#headerLen = 0;
    this.#parsed = false;
    this.#end = -1;
    this.#chunkPos = -1;
    this.#scanFrom = 0;
    this.#keep = this.#o.keepalive;
    this.#retried = false;
    this.#deadline = performance.now() + this.#o.timeoutMs;
    return new Promise<number>((resolve) => {
      this.#resolve = resolve;
      this.#send();
    });
  }

  /** Fails the in-flight request with -1 if its deadline passed; called by one shared sweeper timer. */
  expire(now: number): void {
    if (this.#resolve === null || now < this.#deadline) return;
    this.#o.logger?.log(LogLevel.Error, 'Timeout error (incomplete/invalid response)', { size: this.#size, thread: this.#o.threadId });
    this.#finish(SOCKET_ERROR, false);
  }

  /** Closes the connection; idempotent. */
  close(): void {
    this.#drop();
  }

  #send(): void {
    this.#reused = this.#socket !== null;
    if (this.#socket === null) this.#connect();
    (this.#socket as net.Socket).write(this.#req);
  }

  #connect(): void {
    this.socketCount++;
    this.#connected = false;
    this.#connectStart = performance.now();
    const { host, port } = this.#hop;
    let sock: net.Socket;
    if (this.#o.url.protocol === 'https:' && !this.#o.proxy) {
      sock = tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, rejectUnauthorized: !this.#o.insecure });
      sock.on('secureConnect', this.#onConnect);
    } else {
      sock = net.connect({ host, port });
      sock.on('connect', this.#onConnect);
    }
    sock.setNoDelay(true);
    sock.on('data', this.#onData);
    sock.on('end', this.#onGone);
    sock.on('close', this.#onGone);
    sock.on('error', this.#onGone);
    this.#socket = sock;
  }

  // Handlers are fields bound once per client (not per request or per socket).
  readonly #onConnect = (): void => {
    this.#connected = true;
    this.connectStats.record(secondsSince(this.#connectStart));
    const s = this.#socket;
    const addr = s?.remoteAddress ?? this.#hop.host;
    const key = `${net.isIPv6(addr) ? `[${addr}]` : addr}:${s?.remotePort ?? this.#hop.port}`;
    this.ipUsage.set(key, (this.ipUsage.get(key) ?? 0) + 1);
  };

  readonly #onData = (chunk: Buffer): void => {
    if (this.#resolve === null) return; // stray bytes on an idle socket: ignore
    const need = this.#size + chunk.length;
    if (need > this.#buf.length) {
      const nb = Buffer.allocUnsafe(Math.max(need, this.#buf.length * 2));
      this.#buf.copy(nb, 0, 0, this.#size);
      this.#buf = nb;
    }
    chunk.copy(this.#buf, this.#size);
    this.#size = need;
    this.#parse();
  };

  readonly #onGone = (err?: unknown): void => {
    if (this.#resolve === null) {
      this.#drop(); // server closed an idle keep-alive socket: reconnect on next fetch
      return;
    }
    if (this.#reused && this.#size === 0 && !this.#retried) {
      // Like fortio: a reused socket may have died while idle; retry once on a fresh one.
      this.#retried = true;
      this.#drop();
      this.#send();
      return;
    }
    if (this.#parsed && this.#end === -1 && this.#chunkPos === -1) {
      this.#finish(this.#code, false); // read-until-close response is complete
      return;
    }
    const attrs = { err: err instanceof Error ? err.message : 'EOF', size: this.#size, thread: this.#o.threadId };
    this.#o.logger?.log(LogLevel.Error, this.#connected ? 'Read error' : 'Unable to connect', attrs);
    if (!this.#connected) {
      this.connectStats.record(secondsSince(this.#connectStart));
      const key = `${this.#hop.host}:${this.#hop.port}`;
      this.ipUsage.set(key, (this.ipUsage.get(key) ?? 0) + 1);
    }
    this.#finish(this.#parsed ? this.#code : SOCKET_ERROR, false);
  };

  #parse(): void {
    const buf = this.#buf;
    if (!this.#parsed) {
      if (this.#size < 12) return;
      if (this.#code === SOCKET_ERROR) {
        this.#code = (buf[9]! - 48) * 100 + (buf[10]! - 48) * 10 + (buf[11]! - 48);
        if (!codeIsOK(this.#code)) {
          this.#o.logger?.log(LogLevel.Warning, 'Non ok http code', {
            code: this.#code, status: buf.toString('latin1', 0, 12), thread: this.#o.threadId,
          });
          if (!this.#o.readErrorBodies) {
            this.#finish(this.#code, false);
            return;
          }
        }
      }
      const idx = buf.subarray(0, this.#size).indexOf(CRLFCRLF, this.#scanFrom);
      if (idx < 0) {
        this.#scanFrom = Math.max(0, this.#size - 3);
        return;
      }
      this.#parsed = true;
      this.#headerLen = idx + 4;
      const h = buf.toString('latin1', 0, this.#headerLen).toLowerCase();
      const cl = RE_CL.exec(h);
      if (this.#bodyless || this.#code === 204 || this.#code === 304) this.#end = this.#headerLen;
      else if (cl) this.#end = this.#headerLen + Number(cl[1]);
      else if (RE_CHUNKED.test(h)) this.#chunkPos = this.#headerLen;
      else {
        this.#o.logger?.log(LogLevel.Warning, 'Content-length missing', { header_len: this.#headerLen, thread: this.#o.threadId });
        this.#keep = false;
      }
      if (RE_CLOSE.test(h)) this.#keep = false;
    }
    if (this.#chunkPos >= 0) this.#parseChunks();
    else if (this.#end >= 0 && this.#size >= this.#end) this.#finish(this.#code, this.#keep);
  }

  #parseChunks(): void {
    const view = this.#buf.subarray(0, this.#size);
    for (;;) {
      const lineEnd = view.indexOf('\r\n', this.#chunkPos, 'latin1');
      if (lineEnd < 0) return;
      const len = parseInt(view.toString('latin1', this.#chunkPos, lineEnd), 16);
      if (Number.isNaN(len)) {
        this.#finish(SOCKET_ERROR, false);
        return;
      }
      if (len === 0) {
        // Last chunk: done once the (possibly empty) trailer section ends.
        if (view.indexOf(CRLFCRLF, lineEnd) >= 0) this.#finish(this.#code, this.#keep);
        return;
      }
      const next = lineEnd + 2 + len + 2;
      if (next > this.#size) return;
      this.#chunkPos = next;
    }
  }

  #finish(code: number, keep: boolean): void {
    const resolve = this.#resolve;
    if (resolve === null) return;
    this.#resolve = null;
    this.#code = code;
    if (!codeIsOK(code) && !this.#o.readErrorBodies) this.#headerLen = 0;
    if (!keep || !this.#keep || !codeIsOK(code)) this.#drop();
    resolve(code);
  }

  #drop(): void {
    const s = this.#socket;
    if (s === null) return;
    this.#socket = null;
    s.off('data', this.#onData);
    s.off('end', this.#onGone);
    s.off('close', this.#onGone);
    s.off('error', this.#onGone);
    s.off('connect', this.#onConnect);
    s.off('secureConnect', this.#onConnect);
    s.on('error', noop);
    s.destroy();
  }
}
