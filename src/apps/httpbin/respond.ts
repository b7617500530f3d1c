/** The per-request context handlers get, and the few ways httpbin answers. */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { errorPage } from './pages.ts';
import { pyDumps } from './pyjson.ts';

/** One request being answered. */
export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  /** The route's regex match against the decoded path. */
  match: RegExpExecArray;
  query: URLSearchParams;
  /** The request body; empty unless the route reads bodies. */
  body: Buffer;
  /** host:port to show in URLs when the request has no Host header. */
  fallbackHost: string;
}

/** Flask's default content type. */
export const HTML = 'text/html; charset=utf-8';
/** jsonify's content type. */
export const JSON_TYPE = 'application/json';

/** Adds httpbin's CORS headers (its after_request hook runs on every response, errors included). */
export function addCors(req: IncomingMessage, headers: OutgoingHttpHeaders): void {
  headers['access-control-allow-origin'] = req.headers.origin ?? '*';
  headers['access-control-allow-credentials'] = 'true';
  if (req.method === 'OPTIONS') {
    headers['access-control-allow-methods'] = 'GET, POST, PUT, DELETE, PATCH, OPTIONS';
    headers['access-control-max-age'] = '3600';
    const wanted = req.headers['access-control-request-headers'];
    if (wanted !== undefined) headers['access-control-allow-headers'] = wanted;
  }
}

/** Sends a complete response; 204 and 304 go without body and Content-Length, as HTTP requires. */
export function send(ctx: Ctx, status: number, body: string | Buffer, contentType: string | null, extra?: OutgoingHttpHeaders): void {
  const bodiless = status === 204 || status === 304;
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  const headers: OutgoingHttpHeaders = {};
  if (contentType !== null) headers['content-type'] = contentType;
  if (!bodiless) headers['content-length'] = buf.length;
  addCors(ctx.req, headers);
  if (extra !== undefined) Object.assign(headers, extra);
  ctx.res.writeHead(status, headers);
  ctx.res.end(bodiless ? undefined : buf);
}

/** Sends `value` as httpbin's jsonify does: pretty, sorted, with a trailing newline. */
export function sendJson(ctx: Ctx, value: unknown, status = 200, extra?: OutgoingHttpHeaders): void {
  send(ctx, status, `${pyDumps(value, true)}\n`, JSON_TYPE, extra);
}

/** Sends Werkzeug's HTML error page for the status. */
export function sendError(ctx: Ctx, status: number, extra?: OutgoingHttpHeaders): void {
  send(ctx, status, errorPage(status), 'text/html', extra);
}
