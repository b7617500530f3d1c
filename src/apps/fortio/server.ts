// Fortio's echo/debug HTTP server (fhttp/http_server.go + http_utils.go): `/` echoes the body,
// `/debug` describes the request, and both honour the query arguments `status`, `delay`,
// `size`, `header` and `close`, including their probabilistic `v:pct,v:pct` forms.
import http from 'node:http';
import os from 'node:os';
import { VERSION } from './errors.ts';
import { formatDuration, parseDuration } from './format.ts';

/** Server options. */
export interface EchoServerOptions { host: string; port: number; debugPath?: string; uiPath?: string; log?: (line: string) => void }

/** Fortio's caps: echo delays at most 1.5s, payloads at most 256KiB. */
export const ECHO_LIMITS = { maxDelayMs: 1500, maxPayload: 256 * 1024 } as const;

const PAYLOAD = Buffer.alloc(ECHO_LIMITS.maxPayload, 'Fortio echo payload 0123456789abcdefghijklmnopqrstuvwxyz\n');

/** Picks a value from fortio's `v` or `v1:p1,v2:p2` syntax; `fallback` when no roll hits, undefined on bad input. */
export function pickWeighted(spec: string, fallback: string, roll = Math.random() * 100): string | undefined {
  const list = spec.split(',');
  if (list.length === 1 && !spec.includes(':')) return spec;
  // Validate the whole table first (fortio rejects a sum over 100% before rolling).
  const values: string[] = [];
  const cumulative: number[] = [];
  let acc = 0;
  for (const entry of list) {
    const parts = entry.split(':');
    if (parts.length !== 2) return undefined;
    const p = Number((parts[1] as string).replace(/%$/, ''));
    if (!Number.isFinite(p) || p < 0 || p > 100) return undefined;
    acc += p;
    const rounded = Math.round(acc * 1e4) / 1e4;
    if (rounded > 100) return undefined;
    values.push(parts[0] as string);
    cumulative.push(rounded);
  }
  for (let i = 0; i < values.length; i++) if (roll <= (cumulative[i] as number)) return values[i];
  return fallback;
}

/** Fortio's status argument: a code or weighted list, 400 when unparsable. */
export function echoStatus(spec: string | null, roll?: number): number {
  if (!spec) return 200;
  const v = pickWeighted(spec, '200', roll);
  const n = v === undefined ? NaN : Number(v);
  return Number.isInteger(n) && n >= 100 && n <= 999 ? n : 400;
}

/** Fortio's delay argument in ms (capped), 0 when absent or invalid. */
export function echoDelayMs(spec: string | null, roll?: number): number {
  if (!spec) return 0;
  const v = pickWeighted(spec, '0s', roll);
  const ns = v === undefined ? undefined : parseDuration(v);
  return ns === undefined || ns < 0 ? 0 : Math.min(ns / 1e6, ECHO_LIMITS.maxDelayMs);
}

/** Fortio's size argument: payload bytes or -1 for "echo the body". */
export function echoSize(spec: string | null, roll?: number): number {
  if (!spec) return -1;
  const v = pickWeighted(spec, '', roll);
  const n = v === undefined || v === '' ? NaN : Number(v);
  if (!Number.isInteger(n)) return -1;
  return Math.min(Math.max(n, 0), ECHO_LIMITS.maxPayload);
}

/** Fortio's single-probability flags (`close=true`, `close=25`). */
export function rollProbability(spec: string | null, roll = Math.random() * 100): boolean {
  if (!spec || spec === 'false') return false;
  if (spec === 'true') return true;
  const p = Number(spec);
  return Number.isFinite(p) ? roll <= p : true;
}

function canonical(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
}

/** Fortio's echo + debug HTTP server as a closeable object. */
export class EchoServer {
  readonly #server: http.Server;
  readonly #opts: EchoServerOptions;
  readonly #started = Date.now();
  #closed: Promise<void> | null = null;

  constructor(opts: EchoServerOptions) {
    this.#opts = opts;
    this.#server = http.createServer({ keepAliveTimeout: 30_000 }, this.#handle);
  }

  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#opts.port, this.#opts.host, () => {
        this.#server.off('error', reject);
        const addr = this.#server.address();
        const port = typeof addr === 'object' && addr ? addr.port : this.#opts.port;
        this.#opts.log?.(`Fortio ${VERSION} http-echo server listening on tcp ${this.#opts.host}:${port}`);
        resolve(port);
      });
    });
  }

  /** Stops accepting and drops open connections; idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closed;
  }

  readonly #handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => this.#route(req, res, Buffer.concat(chunks)));
  };

  #route(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams;
    const debugPath = (this.#opts.debugPath ?? '/debug').replace(/\/$/, '');
    const uiPath = this.#opts.uiPath ?? '/fortio/';
    const delay = echoDelayMs(q.get('delay'));
    let respond: () => void;
    if (url.pathname === uiPath || url.pathname === uiPath.replace(/\/$/, '')) respond = () => this.#ui(res);
    else if (url.pathname === debugPath) respond = () => this.#debug(req, res, body);
    else respond = () => this.#echo(req, res, body, q);
    // Common args (fortio's handleCommonArgs): close and extra headers, applied to every handler.
    if (rollProbability(q.get('close'))) res.setHeader('Connection', 'close');
    for (const h of q.getAll('header')) {
      const i = h.indexOf(':');
      if (i > 0) res.appendHeader(h.slice(0, i), h.slice(i + 1));
    }
    if (delay > 0) setTimeout(respond, delay);
    else respond();
  }

  #echo(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, q: URLSearchParams): void {
    const status = echoStatus(q.get('status'));
    const size = echoSize(q.get('size'));
    if (size >= 0) {
      if (!res.hasHeader('Content-Type')) res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', size);
      res.writeHead(status);
      res.end(PAYLOAD.subarray(0, size));
      return;
    }
    const ct = req.headers['content-type'];
    if (ct && !res.hasHeader('Content-Type')) res.setHeader('Content-Type', ct);
    res.setHeader('Content-Length', body.length);
    res.writeHead(status);
    res.end(body);
  }

  #debug(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const up = formatDuration(Math.round((Date.now() - this.#started) / 100) * 1e8);
    let out = `Φορτίο version ${VERSION} echo debug server up for ${up} on ${os.hostname()} - request from ${req.socket.remoteAddress}:${req.socket.remotePort}\n\n`;
    out += `${req.method} ${req.url} HTTP/${req.httpVersion}\n\nheaders:\n\nHost: ${req.headers.host ?? ''}`;
    const grouped = new Map<string, string[]>();
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = canonical(raw[i] as string);
      if (name === 'Host') continue;
      const list = grouped.get(name) ?? [];
      list.push(raw[i + 1] as string);
      grouped.set(name, list);
    }
    for (const name of [...grouped.keys()].sort()) out += `\n${name}: ${(grouped.get(name) as string[]).join(',')}`;
    out += `\n\nbody:\n\n${debugSummary(body, 512)}\n`;
    if (!res.hasHeader('Content-Type')) res.setHeader('Content-Type', 'text/plain; charset=UTF-8');
    const buf = Buffer.from(out);
    res.setHeader('Content-Length', buf.length);
    res.writeHead(200);
    res.end(buf);
  }

  #ui(res: http.ServerResponse): void {
    const html = `<!DOCTYPE html>\n<html><head><title>Φορτίο (fortio) v${VERSION}</title></head>\n<body><h1>Φορτίο (fortio) v${VERSION} control UI</h1>\n` +
      `<p>Skiff built-in fortio: the load-test UI is not available; use <code>fortio load</code> from a shell.</p>\n` +
      `<p>Echo server: <a href="../debug">debug</a>, echo on <code>/</code> with ?status=503&amp;delay=10ms&amp;size=100&amp;header=X:Y&amp;close=true</p>\n</body></html>\n`;
    const buf = Buffer.from(html);
    res.setHeader('Content-Type', 'text/html; charset=UTF-8');
    res.setHeader('Content-Length', buf.length);
    res.writeHead(200);
    res.end(buf);
  }
}

/** Fortio's DebugSummary: printable text as-is, otherwise a truncated quoted form. */
function debugSummary(buf: Buffer, max: number): string {
  const s = buf.toString('utf8');
  if (buf.length <= max) return s;
  const half = Math.floor(max / 2) - 2;
  return `${s.slice(0, half)}...${s.slice(s.length - half)}`;
}
