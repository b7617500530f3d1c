// Outbound HTTP for the Bookinfo apps. Inside Skiff a pod reaches other services through the
// sidecar, which it finds through HTTP_PROXY; so a call sends the absolute URL to the proxy the
// way curl does, and only connects directly (Node resolves the name) when no proxy applies.
import http from 'node:http';

/** Environment variables as a pod sees them. */
export type Env = Record<string, string | undefined>;

/** Stable codes for failed upstream calls. */
export type UpstreamErrorCode = 'SKIFF_ERR_UPSTREAM_TIMEOUT' | 'SKIFF_ERR_UPSTREAM_CONNECT' | 'SKIFF_ERR_UPSTREAM_URL';

/** An upstream call that produced no response: timed out, refused, reset or badly addressed. */
export class UpstreamError extends Error {
  readonly code: UpstreamErrorCode;
  /** Builds the error with its stable code and, when known, the underlying cause. */
  constructor(code: UpstreamErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'UpstreamError';
    this.code = code;
  }
}

/** What a call sends; `timeoutMs` bounds the whole exchange, from connect to the last body byte. */
export interface UpstreamRequest {
  env: Env;
  timeoutMs: number;
  headers?: Record<string, string>;
  method?: string;
  body?: string;
}

/** A complete upstream response with its body read as text. */
export interface UpstreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** The proxy for `target` from http_proxy/HTTP_PROXY unless NO_PROXY/no_proxy exempts it; undefined means connect directly. */
export function proxyFor(target: URL, env: Env): URL | undefined {
  if (target.protocol !== 'http:') return undefined;
  // curl reads only the lowercase name; Skiff sets the uppercase one, so take either.
  const raw = env.http_proxy || env.HTTP_PROXY;
  if (!raw) return undefined;
  if (bypassesProxy(target, env.no_proxy ?? env.NO_PROXY)) return undefined;
  try {
    return new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    return undefined;
  }
}

/** Whether a NO_PROXY list (`*`, host names, `.domain` suffixes, optional `:port`) exempts `target`. */
export function bypassesProxy(target: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = stripBrackets(target.hostname.toLowerCase());
  const port = target.port || '80';
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry);
    const name = stripBrackets(m ? m[1]! : entry).replace(/^\*?\./, '');
    if (m?.[2] !== undefined && m[2] !== port) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** Performs one HTTP request to `url` and reads the whole body; rejects with an UpstreamError when no response arrives in time. */
export function upstreamRequest(url: string, req: UpstreamRequest): Promise<UpstreamResponse> {
  let target: URL;
  try {
    target = new URL(url);
  } catch (err) {
    return Promise.reject(new UpstreamError('SKIFF_ERR_UPSTREAM_URL', `cannot call "${url}": not a valid URL`, err));
  }
  if (target.protocol !== 'http:') {
    return Promise.reject(new UpstreamError('SKIFF_ERR_UPSTREAM_URL', `cannot call "${url}": only http: is supported`));
  }
  const proxy = proxyFor(target, req.env);
  const headers: Record<string, string> = { ...req.headers, host: target.host };
  if (proxy && (proxy.username || proxy.password)) {
    const cred = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    headers['proxy-authorization'] = `Basic ${Buffer.from(cred).toString('base64')}`;
  }
  const options: http.RequestOptions = {
    method: req.method ?? 'GET',
    host: stripBrackets((proxy ?? target).hostname),
    port: Number((proxy ?? target).port || 80),
    // Absolute-form through a proxy (RFC 9112 §3.2.2), origin-form when direct.
    path: proxy ? target.href : target.pathname + target.search,
    headers,
    // No pooling, like the original (python requests without a session): every call is a new
    // connection, so load spreads across endpoints and nothing idles after close().
    agent: false,
  };
  return new Promise<UpstreamResponse>((resolve, reject) => {
    let settled = false;
    const finish = (err: UpstreamError | undefined, res?: UpstreamResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        request.destroy();
        reject(err);
      } else {
        resolve(res!);
      }
    };
    const request = http.request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => finish(new UpstreamError('SKIFF_ERR_UPSTREAM_CONNECT', `cannot call "${url}": response aborted (${e.message})`, e)));
    });
    const timer = setTimeout(() => {
      finish(new UpstreamError('SKIFF_ERR_UPSTREAM_TIMEOUT', `cannot call "${url}": no response within ${req.timeoutMs} ms`));
    }, req.timeoutMs);
    request.on('error', (e) => {
      const via = proxy ? ` via proxy ${proxy.host}` : '';
      finish(new UpstreamError('SKIFF_ERR_UPSTREAM_CONNECT', `cannot call "${url}"${via}: ${e.message}`, e));
    });
    request.end(req.body);
  });
}

/** Removes the brackets URL puts around IPv6 literals. */
function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
