/**
 * `pods/portforward`, as kubectl 1.32 speaks it: SPDY/3.1 with the `portforward.k8s.io` protocol, either
 * tunneled through a WebSocket (subprotocol `SPDY/3.1+portforward.k8s.io`, its first try) or on the raw
 * upgraded connection (`Upgrade: SPDY/3.1`, its fallback). Each local connection opens an error stream
 * and a data stream with the same `requestid`; the data stream is joined to a TCP connection to the pod.
 */
import { connect } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { KObject, UpgradeHandler } from '../../api/index.ts';
import { acceptWebSocket, isWebSocket, portForwardTunnelProtocol, rejectUpgrade, rejectUpgradeText } from './channel.ts';
import type { StreamDeps } from './exec.ts';
import { SpdySession, type SpdyStream, type Transport } from './spdy.ts';
import { StreamError, badRequest } from './target.ts';

/** The pod annotation that maps container ports to the ports the processes really listen on. */
export const portMapAnnotation = 'skiff.dev/port-map';

/** Reads `skiff.dev/port-map` (`{"8080": 18080}`); bad JSON or values are ignored, not fatal. */
export function portMapOf(pod: KObject): Map<number, number> {
  const m = new Map<number, number>();
  const raw = pod.metadata.annotations?.[portMapAnnotation];
  if (!raw) return m;
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    for (const [k, to] of Object.entries(v)) {
      const from = Number(k);
      const port = Number(to);
      if (validPort(from) && validPort(port)) m.set(from, port);
    }
  } catch {
    // A malformed annotation forwards ports unchanged.
  }
  return m;
}

function validPort(n: number): boolean {
  return Number.isInteger(n) && n > 0 && n < 65536;
}

/** The `portforward` upgrade handler. */
export function portForwardHandler(deps: StreamDeps): UpgradeHandler {
  return (route, req, socket, head) => {
    serve(deps, route, req, socket, head).catch((e: Error) => {
      deps.log?.({ msg: 'port-forward failed', namespace: route.ns, pod: route.name, err: e.message });
      socket.destroy();
    });
  };
}

async function serve(deps: StreamDeps, route: { ns: string; name: string }, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  let pod: KObject;
  let podIP: string;
  try {
    pod = await deps.client.get('pods', route.ns, route.name);
    if (!(pod.spec as { nodeName?: string } | undefined)?.nodeName) throw badRequest(`pod ${route.name} does not have a host assigned`);
    const names = ((pod.spec as { containers?: Array<{ name: string }> } | undefined)?.containers ?? []).map((c) => c.name);
    const info = names.map((n) => deps.runtime.container(route.ns, route.name, n)).find((i) => i?.podIP);
    // The kubelet's answer when it has no sandbox for the pod.
    if (!info) throw new StreamError(500, 'InternalError', `pod not found ("${route.name}_${route.ns}")`, true);
    podIP = info.podIP;
  } catch (e) {
    if (e instanceof StreamError && e.plain) return rejectUpgradeText(socket, e.code, e.message);
    const st = e instanceof StreamError || typeof (e as { toStatus?: unknown }).toStatus === 'function' ? (e as StreamError).toStatus() : undefined;
    return rejectUpgrade(socket, st ?? { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'InternalError', code: 500, message: String((e as Error).message) });
  }
  let transport: Transport;
  if (isWebSocket(req)) {
    const ws = await acceptWebSocket(req, socket, head, [portForwardTunnelProtocol]);
    if (!ws) return rejectUpgrade(socket, badRequest(`port-forward needs the WebSocket subprotocol ${portForwardTunnelProtocol}`).toStatus());
    transport = {
      write: (d) => ws.send(d, { binary: true }),
      close: () => ws.close(1000),
      onData: (cb) => void ws.on('message', (d: Buffer) => cb(d)),
      onClose: (cb) => void ws.on('close', cb),
    };
    ws.on('error', () => ws.terminate());
  } else {
    const versions = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((s) => s.trim());
    if (!versions.includes('portforward.k8s.io')) return rejectUpgrade(socket, badRequest('unable to upgrade: no portforward.k8s.io protocol requested').toStatus());
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n');
    transport = {
      write: (d) => void socket.write(d),
      close: () => socket.end(),
      onData: (cb) => {
        socket.on('data', cb);
        if (head.length) queueMicrotask(() => cb(head));
      },
      onClose: (cb) => void socket.on('close', cb),
    };
    socket.on('error', () => socket.destroy());
  }
  deps.log?.({ msg: 'port-forward', namespace: route.ns, pod: route.name, transport: isWebSocket(req) ? 'websocket' : 'spdy' });
  new PortForwardSession({ ns: route.ns, pod: route.name, uid: pod.metadata.uid ?? '', podIP, portMap: portMapOf(pod) }, transport);
}

/** What a session needs to know about its pod. */
interface PodTarget {
  ns: string;
  pod: string;
  uid: string;
  podIP: string;
  portMap: Map<number, number>;
}

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
}

/** One kubectl port-forward connection: pairs streams by requestid and joins each pair to a TCP connection. */
class PortForwardSession {
  #pod: PodTarget;
  #spdy: SpdySession;
  #pairs = new Map<string, Pair>();
  #sockets = new Set<Duplex>();

  constructor(pod: PodTarget, t: Transport) {
    this.#pod = pod;
    this.#spdy = new SpdySession(t, (s) => this.#onStream(s), () => this.#closed());
  }

  #closed(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    this.#pairs.clear();
  }

  #onStream(s: SpdyStream): void {
    const type = s.headers.streamtype;
    const key = s.headers.requestid ?? s.headers.port ?? '';
    if (type !== 'data' && type !== 'error') return s.reset();
    const pair = this.#pairs.get(key) ?? {};
    pair[type] = s;
    this.#pairs.set(key, pair);
    if (type === 'error') s.onend = () => undefined;
    if (pair.data && pair.error) {
      this.#pairs.delete(key);
      this.#forward(pair.data, pair.error);
    }
  }

  #forward(data: SpdyStream, error: SpdyStream): void {
    const port = Number(data.headers.port);
    const fail = (msg: string): void => {
      error.write(Buffer.from(msg));
      error.end();
      data.end();
      this.#spdy.forget(data.id);
      this.#spdy.forget(error.id);
    };
    if (!validPort(port)) return fail(`invalid port ${JSON.stringify(data.headers.port ?? '')}: must be 1-65535`);
    const target = this.#pod.portMap.get(port) ?? port;
    const { podIP, pod, uid } = this.#pod;
    const sock = connect({ host: podIP, port: target });
    this.#sockets.add(sock);
    let connected = false;
    sock.setNoDelay(true);
    sock.on('connect', () => (connected = true));
    data.ondata = (d) => void sock.write(d);
    data.onend = (reset) => (reset ? sock.destroy() : sock.end());
    sock.on('data', (d: Buffer) => data.write(d));
    sock.on('end', () => data.end());
    sock.on('error', (e: Error) => {
      // The kubelet's wording, so kubectl's "an error occurred forwarding" line reads as upstream's.
      if (!connected) error.write(Buffer.from(`error forwarding port ${port} to pod ${pod}, uid ${uid}: failed to connect to ${podIP}:${target}: ${e.message}`));
    });
    sock.on('close', () => {
      this.#sockets.delete(sock);
      data.end();
      error.end();
      this.#spdy.forget(data.id);
      this.#spdy.forget(error.id);
    });
  }
}
