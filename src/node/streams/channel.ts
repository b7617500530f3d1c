/**
 * The Kubernetes channel protocol over WebSocket (`v5.channel.k8s.io`, `v4.channel.k8s.io`): one binary
 * message per chunk, byte 0 the channel. Also the Status bodies that end an exec, and the non-101
 * answers that reject an upgrade so that kubectl prints the reason.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/** Channel numbers of the remotecommand protocol. */
export const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** Subprotocols we speak for exec and attach, best first. v5 adds the close-stdin signal on channel 255. */
export const execProtocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

/** The subprotocol kubectl's port-forward offers: SPDY/3.1 tunneled through the WebSocket. */
export const portForwardTunnelProtocol = 'SPDY/3.1+portforward.k8s.io';

/** Picks the first protocol of ours that the client offered, or false (ws then sends no protocol header). */
export function pickProtocol(offered: Set<string>, ours: readonly string[]): string | false {
  for (const p of ours) if (offered.has(p)) return p;
  return false;
}

/** Completes a WebSocket upgrade with one of `protocols`; undefined when the client offered none of them. */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, protocols: readonly string[]): Promise<WebSocket | undefined> {
  const offered = new Set(String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  const chosen = pickProtocol(offered, protocols);
  if (!chosen) return Promise.resolve(undefined);
  // ws refuses subprotocols that are not RFC 7230 tokens, and `SPDY/3.1+portforward.k8s.io` has a '/'.
  // It is already chosen, so ws is shown a token and answers with the real name (it does not check ours).
  req.headers['sec-websocket-protocol'] = 'k8s';
  // One server per upgrade is cheap (no listener, no timers) and keeps no state between sessions.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: () => chosen });
  return new Promise((resolve) => wss.handleUpgrade(req, socket, head, (ws) => resolve(ws)));
}

/** True when the request asks for a WebSocket (kubectl's first try); false for its SPDY/3.1 retry. */
export function isWebSocket(req: IncomingMessage): boolean {
  return String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** A metav1.Status as the API server answers it. */
export function failureStatus(reason: string, code: number, message: string, details?: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) };
}

/** Answers an upgrade with a non-101 Status JSON: kubectl then prints `Error from server (<reason>): <message>`. */
export function rejectUpgrade(socket: Duplex, status: Record<string, unknown>): void {
  const body = JSON.stringify(status);
  const code = Number(status.code) || 500;
  socket.end(`HTTP/1.1 ${code} ${String(status.reason ?? 'Error')}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * Answers an upgrade with a plain-text error, as the kubelet does for its own failures (container not
 * found): kubectl prints `error: unable to upgrade connection: <text>`.
 */
export function rejectUpgradeText(socket: Duplex, code: number, text: string): void {
  socket.end(`HTTP/1.1 ${code} Error\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}

/** The channel-3 Status for a finished process: Success, or NonZeroExitCode carrying the code. */
export function exitStatus(argv: readonly string[], code: number): Record<string, unknown> {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${argv.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** The channel-3 Status for a process that could not be started at all. */
export function internalErrorStatus(message: string): Record<string, unknown> {
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 };
}

/** Callbacks of a channel session. */
export interface ChannelHandlers {
  stdin?(data: Buffer): void;
  /** Stdin ended: channel 255 [0] in v5, or the socket closing. */
  stdinEnd?(): void;
  resize?(size: { width: number; height: number }): void;
  /** The client went away before we finished. */
  closed?(): void;
}

/** Above this many queued bytes the producer is asked to pause; kubectl reads as fast as the terminal does. */
const highWater = 1 << 20;

/** One exec/attach session on a WebSocket: demultiplexes client frames, multiplexes output. */
export class ChannelSession {
  #ws: WebSocket;
  #done = false;
  #stdinEnded = false;
  #handlers: ChannelHandlers;
  #drainWaiters: Array<() => void> = [];

  constructor(ws: WebSocket, handlers: ChannelHandlers) {
    this.#ws = ws;
    this.#handlers = handlers;
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(isBinary ? data : Buffer.from(data)));
    ws.on('close', () => {
      this.#endStdin();
      if (!this.#done) {
        this.#done = true;
        handlers.closed?.();
      }
      this.#wakeDrain();
    });
    ws.on('error', () => ws.terminate());
  }

  /** True once finish() ran or the client left. */
  get done(): boolean {
    return this.#done;
  }

  /** Sends bytes on an output channel; resolves when the socket can take more (backpressure for the caller). */
  write(channel: number, data: Buffer): Promise<void> | undefined {
    if (this.#done || data.length === 0) return undefined;
    const frame = Buffer.allocUnsafe(data.length + 1);
    frame[0] = channel;
    data.copy(frame, 1);
    this.#ws.send(frame, { binary: true }, () => this.#wakeDrain());
    if (this.#ws.bufferedAmount < highWater) return undefined;
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Sends the channel-3 Status and a close frame 1000: kubectl needs both (it hangs without the close). */
  finish(status: Record<string, unknown>): void {
    if (this.#done) return;
    this.#done = true;
    const body = Buffer.from(JSON.stringify(status));
    const frame = Buffer.allocUnsafe(body.length + 1);
    frame[0] = Channel.error;
    body.copy(frame, 1);
    this.#ws.send(frame, { binary: true });
    this.#ws.close(1000);
    // A client that never answers the close must not keep the socket forever.
    setTimeout(() => this.#ws.terminate(), 5000).unref();
  }

  /** Drops the connection without a status (the process is gone and nobody listens). */
  terminate(): void {
    this.#done = true;
    this.#ws.terminate();
  }

  #wakeDrain(): void {
    if (this.#ws.bufferedAmount >= highWater && this.#ws.readyState === this.#ws.OPEN) return;
    const w = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const f of w) f();
  }

  #endStdin(): void {
    if (this.#stdinEnded) return;
    this.#stdinEnded = true;
    this.#handlers.stdinEnd?.();
  }

  #onMessage(data: Buffer): void {
    if (data.length === 0) return;
    const ch = data[0];
    const payload = data.subarray(1);
    if (ch === Channel.stdin) {
      if (!this.#stdinEnded && payload.length) this.#handlers.stdin?.(payload);
    } else if (ch === Channel.resize) {
      const size = parseSize(payload);
      if (size) this.#handlers.resize?.(size);
    } else if (ch === Channel.close) {
      if (payload[0] === Channel.stdin) this.#endStdin();
    }
  }
}

/** Parses `{"Width":120,"Height":30}`; undefined for anything else. */
export function parseSize(payload: Buffer): { width: number; height: number } | undefined {
  try {
    const v = JSON.parse(payload.toString()) as { Width?: unknown; Height?: unknown };
    const width = Number(v.Width);
    const height = Number(v.Height);
    if (Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) return { width, height };
  } catch {
    // A malformed resize is ignored, as the kubelet does.
  }
  return undefined;
}
