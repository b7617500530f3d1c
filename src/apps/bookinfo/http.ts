// The small HTTP server every Bookinfo service runs on, plus response and header helpers.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Handles one request; `url` is already parsed. Throwing (or rejecting) answers 500. */
export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void | Promise<void>;

/** Where and how an AppServer listens. */
export interface ListenOptions {
  host: string;
  port: number;
  log?: (line: string) => void;
}

/**
 * Trace and context headers the Bookinfo apps copy from the incoming request to their calls
 * (the list kept in sync across details.rb, LibertyRestEndpoint.java and productpage.py).
 */
export const PROPAGATED_HEADERS: readonly string[] = [
  'x-request-id',
  'x-ot-span-context',
  'x-datadog-trace-id',
  'x-datadog-parent-id',
  'x-datadog-sampling-priority',
  'traceparent',
  'tracestate',
  'x-cloud-trace-context',
  'grpc-trace-bin',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'b3',
  'sw8',
  'end-user',
  'user-agent',
  'cookie',
  'authorization',
  'jwt',
];

/** A listening service: one http.Server with an access log and an idempotent close(). */
export class AppServer {
  #server: http.Server;
  #closing: Promise<void> | undefined;

  /** Starts listening and resolves once the socket is bound. */
  static listen(handler: Handler, opts: ListenOptions): Promise<AppServer> {
    const app = new AppServer(handler, opts.log);
    return new Promise((resolve, reject) => {
      app.#server.once('error', reject);
      app.#server.listen(opts.port, opts.host, () => {
        app.#server.off('error', reject);
        resolve(app);
      });
    });
  }

  private constructor(handler: Handler, log: ((line: string) => void) | undefined) {
    this.#server = http.createServer((req, res) => dispatch(handler, req, res, log));
  }

  /** The bound port (useful when listening on port 0). */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Stops accepting, drops open connections and resolves when the server is closed; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      // Keep-alive and in-flight connections would hold close() open; these apps have nothing to drain.
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }
}

/** Runs the handler, turns failures into 500 and writes one access-log line when the response is done. */
function dispatch(handler: Handler, req: http.IncomingMessage, res: http.ServerResponse, log: ((line: string) => void) | undefined): void {
  const started = Date.now();
  if (log) {
    res.once('finish', () => {
      const who = req.socket.remoteAddress ?? '-';
      log(`${who} "${req.method} ${req.url} HTTP/${req.httpVersion}" ${res.statusCode} ${Date.now() - started}ms`);
    });
  }
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    sendText(res, 400, 'Bad Request');
    return;
  }
  Promise.resolve()
    .then(() => handler(req, res, url))
    .catch((err: unknown) => {
      log?.(`request "${req.method} ${req.url}" failed: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) sendText(res, 500, 'Internal Server Error');
      else res.destroy();
    });
}

/** Answers with a JSON body. */
export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json', JSON.stringify(value));
}

/** Answers with a plain-text (or other `type`) body. */
export function sendText(res: http.ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8'): void {
  send(res, status, type, text);
}

/** Writes status, content type and body in one go. */
function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Copies the PROPAGATED_HEADERS present on `req` into a plain header object. */
export function forwardHeaders(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of PROPAGATED_HEADERS) {
    const v = req.headers[name];
    if (v !== undefined) out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** Reads a request body as text, up to `limit` bytes (larger bodies are cut off). */
export function readBody(req: http.IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
