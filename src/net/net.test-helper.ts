/** Test fixtures for the proxies: free ports, pods with explicit loopback IPs, tiny app servers, raw HTTP. */
import http from 'node:http';
import net from 'node:net';
import type { Registry } from '../api/registry.ts';
import type { KObject } from '../api/types.ts';

/** A port free on `host` right now (bind to 0, read it, release it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A port free on every one of the hosts. */
export async function freePortOn(hosts: string[]): Promise<number> {
  for (;;) {
    const p = await freePort(hosts[0]);
    const ok = await Promise.all(hosts.map((h) => canBind(h, p)));
    if (ok.every(Boolean)) return p;
  }
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/**
 * An app server on ip:port answering its name; `/echo` answers the request body, and an Upgrade
 * request gets a 101 and then an echo of the raw stream (a WebSocket stand-in).
 */
export async function appServer(ip: string, port: number, name: string): Promise<http.Server> {
  const s = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = req.url === '/echo' ? Buffer.concat(chunks).toString() : `${name}\n`;
      res.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': name, 'x-client': req.socket.remoteAddress ?? '' });
      res.end(body);
    });
  });
  s.on('upgrade', (req: http.IncomingMessage, sock: net.Socket, head: Buffer) => {
    sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\nX-Served-By: ${name}\r\n\r\n`);
    if (head.length) sock.write(head);
    sock.pipe(sock);
  });
  await new Promise<void>((resolve) => s.listen(port, ip, resolve));
  return s;
}

/** A plain TCP echo server. */
export async function echoServer(ip: string, port: number): Promise<net.Server> {
  const s = net.createServer((c) => c.pipe(c));
  await new Promise<void>((resolve) => s.listen(port, ip, resolve));
  return s;
}

/** Closes servers, dropping their connections. */
export async function closeAll(servers: Array<http.Server | net.Server>): Promise<void> {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          if ('closeAllConnections' in s) s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
}

/** Creates a pod with one container port named `http` and marks it Running with the given IP, as the node agent would. */
export async function runPod(registry: Registry, ns: string, name: string, o: { ip: string; port: number; labels?: Record<string, string>; ready?: boolean; annotations?: Record<string, string> }): Promise<KObject> {
  await registry.create('pods', ns, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: o.labels ?? {}, annotations: o.annotations },
    spec: { containers: [{ name: 'app', image: 'hello:1', ports: [{ name: 'http', containerPort: o.port }] }] },
  });
  return setPodStatus(registry, ns, name, o.ip, o.ready ?? true);
}

/** Writes a Running status with the IP and the Ready condition. */
export function setPodStatus(registry: Registry, ns: string, name: string, ip: string, ready: boolean): KObject {
  const cur = registry.getSync('pods', ns, name);
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const cond = ready ? 'True' : 'False';
  const status = {
    phase: 'Running',
    podIP: ip,
    podIPs: [{ ip }],
    hostIP: '127.0.0.1',
    startTime: now,
    conditions: [
      { type: 'Ready', status: cond, lastTransitionTime: now },
      { type: 'ContainersReady', status: cond, lastTransitionTime: now },
    ],
  };
  return registry.writeSync('pods', ns, { ...cur, status }, 'status');
}

/** One GET on a fresh connection; resolves with status and body, rejects on connection errors. */
export function get(host: string, port: number, path = '/'): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Sends raw bytes on a fresh connection and resolves with everything received until `until` matches or the peer closes. */
export function raw(host: string, port: number, data: string, until?: RegExp, more?: (s: net.Socket, got: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    let got = '';
    let stage = 0;
    s.setEncoding('utf8');
    s.on('data', (c: string) => {
      got += c;
      if (stage === 0 && more && /\r\n\r\n/.test(got)) {
        stage = 1;
        more(s, got);
      } else if (until && until.test(got)) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.write(data);
  });
}
