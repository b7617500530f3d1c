// Test helpers: a tiny forward proxy that maps service names to local ports and records what
// passes through it (the role the sidecar plays in Skiff), and a small GET client.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request seen by the proxy. */
export interface SeenRequest {
  host: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

/** Where the proxy sends a service name: a local port, or 'down' for a 503 like Envoy's "no healthy upstream". */
export type Route = number | 'down';

/** A recording forward proxy for absolute-form requests. */
export class TestProxy {
  readonly routes = new Map<string, Route>();
  readonly seen: SeenRequest[] = [];
  #server: http.Server;

  /** Starts a proxy on 127.0.0.1:0. */
  static async start(): Promise<TestProxy> {
    const p = new TestProxy();
    await new Promise<void>((resolve) => p.#server.listen(0, '127.0.0.1', resolve));
    return p;
  }

  private constructor() {
    this.#server = http.createServer((req, res) => this.#forward(req, res));
  }

  /** The proxy URL to put in HTTP_PROXY. */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Requests seen for one service name. */
  to(host: string): SeenRequest[] {
    return this.seen.filter((s) => s.host === host);
  }

  /** Stops the proxy and drops its connections. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const target = new URL(req.url ?? '/');
    this.seen.push({ host: target.hostname, path: target.pathname + target.search, headers: req.headers });
    const route = this.routes.get(target.hostname);
    if (route === undefined || route === 'down') {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('no healthy upstream');
      return;
    }
    const up = http.request(
      { host: '127.0.0.1', port: route, method: req.method, path: target.pathname + target.search, headers: req.headers, agent: false },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(503);
      res.end('upstream connect error');
    });
    req.pipe(up);
  }
}

/** A response as the tests see it. */
export interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends one request to 127.0.0.1:port and reads the whole answer. */
export function request(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
