// Shared fixtures for the API unit tests: a real Store on a temp dir with a real Registry, and a real
// ApiServer over HTTPS on 127.0.0.1:0 with a fresh PKI. Every fixture has an idempotent close().
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Store } from '../store/index.ts';
import { Registry } from './registry.ts';
import { ApiServer } from './server.ts';
import { ensurePki } from './tls.ts';
import type { KObject } from './types.ts';

/** A registry over a fresh store, with the system namespaces the CLI seeds. */
export interface RegistryFixture {
  dir: string;
  store: Store;
  reg: Registry;
  close(): void;
}

/** Makes a Store in a new temp dir, a Registry on it, and the namespaces default, kube-system, kube-public. */
export function makeRegistry(opts: { historySize?: number; namespaces?: string[] } = {}): RegistryFixture {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-'));
  const store = new Store(join(dir, 'db'), opts.historySize ? { historySize: opts.historySize } : {});
  const reg = new Registry(store);
  for (const name of opts.namespaces ?? ['default', 'kube-system', 'kube-public']) {
    reg.createSync('namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  let closed = false;
  return {
    dir,
    store,
    reg,
    close() {
      if (closed) return;
      closed = true;
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A ConfigMap body. */
export function configMap(name: string, labels?: Record<string, string>, data: Record<string, string> = { k: 'v' }): KObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(labels ? { labels } : {}) }, data };
}

/** A minimal valid Deployment body. */
export function deployment(name: string, replicas = 1): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
    },
  };
}

/** A namespaced CRD `widgets.example.com` (kind Widget) with a structural schema and a status subresource. */
export function widgetCrd(): KObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList', shortNames: ['wd'] },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1 }, color: { type: 'string' } } },
                status: { type: 'object', properties: { ready: { type: 'boolean' } } },
              },
            },
          },
        },
      ],
    },
  };
}

/** A response read to the end. */
export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** A running ApiServer with a client bound to its CA and token. */
export interface ServerFixture extends RegistryFixture {
  port: number;
  token: string;
  server: ApiServer;
  /** Sends one request; `token: null` sends none. */
  send(method: string, path: string, o?: { body?: string | Buffer | object; headers?: Record<string, string>; token?: string | null }): Promise<Reply>;
  /** Opens a streaming GET (a watch) and hands back the live response. */
  open(path: string, headers?: Record<string, string>): Promise<IncomingMessage>;
  closeAll(): Promise<void>;
}

/** Starts a real ApiServer over HTTPS on 127.0.0.1:0 in front of a fresh registry. */
export async function startServer(opts: { historySize?: number } = {}): Promise<ServerFixture> {
  const f = makeRegistry(opts);
  const pki = await ensurePki(f.dir, { dns: ['localhost'], ips: ['127.0.0.1'] });
  const token = 'test-token-0123456789';
  const server = new ApiServer(f.reg, { host: '127.0.0.1', port: 0, tls: { key: pki.keyPem, cert: pki.certPem }, tokens: [token] });
  const port = await server.listen();
  const agent = new Agent({ ca: pki.caPem, keepAlive: false });
  const open: IncomingMessage[] = [];
  const headersFor = (tok: string | null | undefined, extra: Record<string, string> | undefined): Record<string, string> => ({
    Accept: 'application/json',
    ...(tok === null ? {} : { Authorization: `Bearer ${tok ?? token}` }),
    ...extra,
  });
  return {
    ...f,
    port,
    token,
    server,
    send(method, path, o = {}) {
      const body = o.body === undefined ? undefined : typeof o.body === 'string' || Buffer.isBuffer(o.body) ? o.body : JSON.stringify(o.body);
      // Content-Length always: Node sends a DELETE body without framing otherwise.
      const framing: Record<string, string> = body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) } : {};
      const headers = headersFor(o.token, { ...framing, ...o.headers });
      return new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text) });
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    },
    open(path, headers) {
      return new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method: 'GET', path, agent, headers: headersFor(undefined, headers) }, (res) => {
          open.push(res);
          resolve(res);
        });
        req.on('error', reject);
        req.end();
      });
    },
    async closeAll() {
      for (const r of open) r.destroy();
      await server.close();
      agent.destroy();
      f.close();
    },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Event = { type: string; object: any };

/** Reads newline-delimited JSON events from a watch response; `next(n)` waits for the next n of them. */
export function eventReader(res: IncomingMessage): { next(n: number, timeoutMs?: number): Promise<Event[]>; ended(): boolean } {
  const events: Event[] = [];
  let buf = '';
  let ended = false;
  let wake: (() => void) | undefined;
  res.on('data', (c: Buffer) => {
    buf += c.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) events.push(JSON.parse(line) as Event);
    }
    wake?.();
  });
  res.on('end', () => {
    ended = true;
    wake?.();
  });
  return {
    ended: () => ended,
    async next(n, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < n) {
        if (ended) throw new Error(`stream ended with ${events.length} of ${n} events`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out with ${events.length} of ${n} events: ${JSON.stringify(events.map((e) => e.type))}`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = undefined;
      }
      return events.splice(0, n);
    },
  };
}
