/**
 * Shared pieces of the upstream tests: cluster configs, loopback HTTP servers that can hold
 * responses, a one-call request helper, and a deterministic random source.
 */
import http from 'node:http';
import type net from 'node:net';
import { type Cluster, type Endpoint, MAX_U32 } from '../model.ts';
import type { StreamFailure, UpstreamCluster, UpstreamHost } from './types.ts';

/** A cluster config with Istio's defaults (limits 2^32−1, keep-alive, 10 s connect timeout). */
export function makeCluster(over: Partial<Cluster> = {}): Cluster {
  return {
    name: 'outbound|80||svc.ns.svc.cluster.local',
    type: 'eds',
    protocol: 'http1',
    endpoints: [],
    lbPolicy: 'ROUND_ROBIN',
    connectTimeoutMs: 10_000,
    circuitBreakers: { maxConnections: MAX_U32, maxPendingRequests: MAX_U32, maxRequests: MAX_U32, maxRetries: MAX_U32 },
    maxRequestsPerConnection: 0,
    idleTimeoutMs: 3_600_000,
    healthyPanicThreshold: 50,
    ...over,
  };
}

/** Fake endpoints for balancing tests (never dialled). */
export function fakeEndpoints(n: number, extra: Partial<Endpoint> = {}): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ({ address: `127.0.9.${i + 1}`, port: 8080, ready: true, ...extra }));
}

/** A random source replaying `values` in a loop. */
export function sequence(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

export interface TestServer {
  address: string;
  port: number;
  endpoint: Endpoint;
  /** Connections accepted so far. */
  accepted: number;
  /** Connections open now. */
  readonly open: Set<net.Socket>;
  /** Highest number of connections open at once. */
  maxOpen: number;
  /** Remote addresses of accepted connections. */
  peers: string[];
  /** Requests waiting because `hold` is on; release() answers them. */
  held: http.ServerResponse[];
  hold: boolean;
  release(): void;
  /** Resolves when the number of open connections is `n`. */
  waitOpen(n: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * An HTTP server on `address:0` answering `/status/<code>` with that code and anything else with 200
 * and the path; while `hold` is true it keeps responses until release().
 */
export async function startServer(address = '127.0.0.1', delayMs = 0): Promise<TestServer> {
  const open = new Set<net.Socket>();
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const check = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (open.size === waiters[i].n) {
        waiters[i].resolve();
        waiters.splice(i, 1);
      }
    }
  };
  const answer = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const m = /^\/status\/(\d+)/.exec(req.url ?? '');
    res.statusCode = m ? Number(m[1]) : 200;
    res.end(req.url);
  };
  const srv = http.createServer((req, res) => {
    req.resume();
    if (ts.hold) {
      (res as http.ServerResponse & { req2?: http.IncomingMessage }).req2 = req;
      ts.held.push(res);
      return;
    }
    if (delayMs > 0) setTimeout(answer, delayMs, req, res);
    else answer(req, res);
  });
  srv.keepAliveTimeout = 60_000;
  srv.on('connection', (s: net.Socket) => {
    ts.accepted++;
    ts.peers.push(s.remoteAddress ?? '');
    open.add(s);
    ts.maxOpen = Math.max(ts.maxOpen, open.size);
    check();
    s.on('close', () => {
      open.delete(s);
      check();
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, address, resolve));
  const port = (srv.address() as net.AddressInfo).port;
  const ts: TestServer = {
    address,
    port,
    endpoint: { address, port, ready: true },
    accepted: 0,
    open,
    maxOpen: 0,
    peers: [],
    held: [],
    hold: false,
    release() {
      const held = ts.held.splice(0);
      for (const res of held) answer((res as http.ServerResponse & { req2: http.IncomingMessage }).req2, res);
    },
    waitOpen(n) {
      if (open.size === n) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push({ n, resolve }));
    },
    close() {
      for (const s of open) s.destroy();
      return new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
  return ts;
}

export type Result = { status: number; body: string } | { failure: StreamFailure };

/** Sends GET `path` to `host` through the cluster; resolves with the response or the stream failure. */
export function send(c: UpstreamCluster, host: UpstreamHost, path = '/'): Promise<Result> {
  return new Promise((resolve, reject) => {
    c.request(host, { method: 'GET', path, headers: ['host', 'svc'] }, (err, creq) => {
      if (err) return resolve({ failure: err });
      creq!.on('error', reject);
      creq!.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      creq!.end();
    });
  });
}

/** Waits until `cond()` holds, polling on the event loop (no timing assertion: the test's own timeout bounds it). */
export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 2));
}
