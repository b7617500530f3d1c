/**
 * Built-in stand-in for httpbin (`kennethreitz/httpbin`, `honester/httpbin`, `mccutchen/go-httpbin`): answers
 * as the Python httpbin does — same JSON shapes and layout, same limits, same error pages — for the endpoints
 * service-mesh tutorials use (/get, /anything, /status, /delay, /headers, ...).
 */
import http from 'node:http';
import { listen, type AppOptions, type RunningApp } from '../serve.ts';
import { send, sendError, type Ctx } from './respond.ts';
import { ROUTES, type Route } from './routes.ts';

/** httpbin's caps, and the /status picker (exported for tests and callers that want the same semantics). */
export { LIMITS, pickStatus } from './routes.ts';

export type { AppOptions, RunningApp } from '../serve.ts';

/** Defaults of the original image; bodies past maxBody answer 413. */
export const DEFAULTS = { port: 80, maxBody: 10 * 1024 * 1024 } as const;

function decodePath(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw; // Werkzeug leaves undecodable escapes as they are
  }
}

/** The Allow header for a route, as Flask lists it (HEAD with GET, OPTIONS always). */
function allowOf(route: Route): string {
  const methods = route.methods ?? ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'TRACE'];
  return [...methods, ...(methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ');
}

function allows(route: Route, method: string): boolean {
  if (route.methods === null) return true;
  return route.methods.includes(method) || (method === 'HEAD' && route.methods.includes('GET'));
}

/** Starts the httpbin server; resolves once it listens. */
export function start(opts: AppOptions): Promise<RunningApp> {
  const log = opts.log;
  let fallbackHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;

  function run(route: Route, ctx: Ctx): void {
    try {
      route.handle(ctx);
    } catch (err) {
      // e.g. a header value Node refuses; the original would answer 500 too
      log?.(`httpbin: ${ctx.req.method} ${ctx.req.url} failed: ${(err as Error).message}`);
      if (!ctx.res.headersSent) sendError(ctx, 500);
      else ctx.res.destroy();
    }
  }

  function tooLarge(ctx: Ctx): void {
    ctx.req.resume();
    ctx.res.once('finish', () => ctx.req.socket.destroy()); // stop an oversized upload rather than drain it
    sendError(ctx, 413, { connection: 'close' });
  }

  function readBody(route: Route, ctx: Ctx): void {
    if (Number(ctx.req.headers['content-length'] ?? 0) > DEFAULTS.maxBody) return tooLarge(ctx);
    const chunks: Buffer[] = [];
    let size = 0;
    function onData(chunk: Buffer): void {
      size += chunk.length;
      if (size <= DEFAULTS.maxBody) return void chunks.push(chunk);
      ctx.req.off('data', onData).off('end', onEnd);
      tooLarge(ctx);
    }
    function onEnd(): void {
      ctx.body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      run(route, ctx);
    }
    ctx.req.on('data', onData).on('end', onEnd);
  }

  function onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = decodePath(q === -1 ? url : url.slice(0, q));
    const method = req.method ?? 'GET';
    const ctx: Ctx = { req, res, match: NO_MATCH, query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)), body: EMPTY, fallbackHost };
    for (const route of ROUTES) {
      const m = route.re.exec(path);
      if (m === null) continue;
      ctx.match = m;
      if (method === 'OPTIONS') {
        req.resume();
        return send(ctx, 200, '', 'text/html; charset=utf-8', { allow: allowOf(route) }); // Flask's automatic OPTIONS
      }
      if (!allows(route, method)) {
        req.resume();
        return sendError(ctx, 405, { allow: allowOf(route) });
      }
      if (route.body) return readBody(route, ctx);
      req.resume(); // bodies of other endpoints are never read; drain so keep-alive stays usable
      return run(route, ctx);
    }
    req.resume();
    sendError(ctx, 404);
  }

  const server = http.createServer(onRequest);
  return listen(server, opts).then((app) => {
    fallbackHost = `${fallbackHost}:${app.port}`;
    log?.(`httpbin listening at: http://${opts.host}:${app.port}`);
    return app;
  });
}

const EMPTY = Buffer.alloc(0);
const NO_MATCH = /^/.exec('') as RegExpExecArray; // placeholder until a route matches

