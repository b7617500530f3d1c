/**
 * Built-in stand-in for `honester/hello-server`, the course demo behind Istio routing and circuit-breaking
 * tutorials: every path answers `Hello server - <VERSION>`; `RANDOM_ERROR=<p>` fails a request with 503 with
 * probability p, and `LOG=1` logs one line per request (`Hello server - v2 - 200`, `Hello server - v2 - 503 (random)`).
 */
import http from 'node:http';
import { listen, type AppOptions, type RunningApp } from '../serve.ts';

export type { AppOptions, RunningApp } from '../serve.ts';

/** Defaults of the original image. */
export const DEFAULTS = { port: 8080, version: 'v1' } as const;

/** The reply, compiled once from env so the request path allocates nothing of its own. */
interface Reply {
  status: number;
  headers: http.OutgoingHttpHeaders;
  body: Buffer;
  logLine: string;
}

/** Parses a probability, clamping to [0, 1]; anything unparsable means "never". */
export function errorRate(raw: string | undefined): number {
  const p = Number(raw?.trim() || 0);
  if (!Number.isFinite(p) || p <= 0) return 0;
  return p >= 1 ? 1 : p;
}

/** True when a flag variable such as LOG is set to something other than empty, "0" or "false". */
export function flagOn(raw: string | undefined): boolean {
  const v = raw?.trim().toLowerCase() ?? '';
  return v !== '' && v !== '0' && v !== 'false';
}

// The tutorials show `curl` output one reply per line, so the original body ends with a newline; we do too.
function reply(status: number, text: string, logSuffix: string): Reply {
  const body = Buffer.from(`${text}\n`);
  const headers = { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length };
  return { status, headers, body, logLine: logSuffix };
}

/** Starts the hello server; resolves once it listens. */
export function start(opts: AppOptions): Promise<RunningApp> {
  const version = opts.env.VERSION?.trim() || DEFAULTS.version;
  const rate = errorRate(opts.env.RANDOM_ERROR);
  const log = flagOn(opts.env.LOG) ? opts.log : undefined;
  const ok = reply(200, `Hello server - ${version}`, `Hello server - ${version} - 200`);
  const failed = reply(503, `Hello server - ${version} - 503 (random)`, `Hello server - ${version} - 503 (random)`);

  function onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume(); // any request body is ignored; drain it so keep-alive connections stay usable
    const r = rate > 0 && Math.random() < rate ? failed : ok;
    res.writeHead(r.status, r.headers);
    res.end(r.body);
    log?.(r.logLine);
  }

  const server = http.createServer(onRequest);
  return listen(server, opts);
}

