/**
 * The config stream between the control plane and its proxies (DESIGN §1, §4), Skiff's small
 * xDS: one WebSocket per proxy on loopback. The control plane sends whole versioned snapshots
 * (`config`); the proxy answers each with `ack` or `nack` (keeping its previous config on NACK, as
 * Envoy does). The proxy reconnects with capped backoff and keeps serving its last good config
 * while the control plane is away.
 */
import WebSocket from 'ws';
import type { ProxyConfig } from '../proxy/index.ts';

/** Control plane → proxy. */
export interface ConfigMessage {
  type: 'config';
  version: string;
  nonce: string;
  config: ProxyConfig;
}

/** Proxy → control plane. */
export type ReplyMessage = { type: 'ack'; version: string; nonce: string } | { type: 'nack'; version: string; nonce: string; error: string };

/** The path a proxy connects to; `pod` is `<namespace>/<name>`. */
export const streamPath = '/v1/config';

/** Stream client defaults. */
export const streamDefaults = {
  /** First reconnect delay; doubles up to maxBackoffMs (with jitter). */
  backoffMs: 100,
  maxBackoffMs: 5000,
};

/** What a stream client reports to its owner. */
export interface StreamClientOptions {
  /** `ws://127.0.0.1:<port>` */
  address: string;
  token: string;
  namespace: string;
  pod: string;
  /** Applies a snapshot; a rejection is NACKed with its message and the old config stays. */
  apply(config: ProxyConfig, version: string): Promise<void>;
  /** Connection state changes, for the proxy's admin view. */
  onState?(s: { connected: boolean; lastVersion?: string; lastNack?: string }): void;
  log?(e: Record<string, unknown>): void;
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** A proxy's end of the stream: connects, applies snapshots in order, ACKs/NACKs, reconnects. */
export class StreamClient {
  #opts: StreamClientOptions;
  #ws: WebSocket | undefined;
  #closed = false;
  #delay: number;
  #timer: NodeJS.Timeout | undefined;
  #lastVersion: string | undefined;
  #lastNack: string | undefined;
  // Snapshots are applied one at a time, in arrival order; a newer one waiting replaces an older one.
  #applying = false;
  #pending: ConfigMessage | undefined;

  constructor(opts: StreamClientOptions) {
    this.#opts = opts;
    this.#delay = opts.backoffMs ?? streamDefaults.backoffMs;
  }

  /** Starts connecting; idempotent. */
  start(): void {
    if (this.#ws || this.#closed) return;
    this.#connect();
  }

  /** The last version applied. */
  get version(): string | undefined {
    return this.#lastVersion;
  }

  /** Stops for good; idempotent. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#ws?.terminate();
    this.#ws = undefined;
  }

  #state(connected: boolean): void {
    this.#opts.onState?.({ connected, lastVersion: this.#lastVersion, lastNack: this.#lastNack });
  }

  #connect(): void {
    const url = `${this.#opts.address}${streamPath}?pod=${encodeURIComponent(`${this.#opts.namespace}/${this.#opts.pod}`)}`;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.#opts.token}` }, perMessageDeflate: false, handshakeTimeout: 5000 });
    this.#ws = ws;
    ws.on('open', () => {
      this.#delay = this.#opts.backoffMs ?? streamDefaults.backoffMs;
      this.#opts.log?.({ level: 'info', msg: 'connected to the control plane', address: this.#opts.address });
      this.#state(true);
    });
    ws.on('message', (data) => {
      let msg: ConfigMessage;
      try {
        msg = JSON.parse(String(data)) as ConfigMessage;
      } catch {
        return;
      }
      if (msg.type !== 'config') return;
      this.#pending = msg;
      void this.#drain();
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      if (this.#ws === ws) this.#ws = undefined;
      this.#state(false);
      if (this.#closed) return;
      // Full jitter keeps many sidecars from reconnecting in lockstep after a control-plane restart.
      const wait = Math.floor(this.#delay / 2 + (Math.random() * this.#delay) / 2);
      this.#delay = Math.min(this.#delay * 2, this.#opts.maxBackoffMs ?? streamDefaults.maxBackoffMs);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        if (!this.#closed) this.#connect();
      }, wait);
    });
  }

  async #drain(): Promise<void> {
    if (this.#applying) return;
    this.#applying = true;
    try {
      while (this.#pending) {
        const msg = this.#pending;
        this.#pending = undefined;
        let reply: ReplyMessage;
        try {
          await this.#opts.apply(msg.config, msg.version);
          this.#lastVersion = msg.version;
          this.#lastNack = undefined;
          reply = { type: 'ack', version: msg.version, nonce: msg.nonce };
        } catch (e) {
          this.#lastNack = (e as Error).message;
          reply = { type: 'nack', version: msg.version, nonce: msg.nonce, error: this.#lastNack };
          this.#opts.log?.({ level: 'warn', msg: 'config rejected', version: msg.version, error: this.#lastNack });
        }
        this.#state(this.#ws?.readyState === WebSocket.OPEN);
        if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(reply));
      }
    } finally {
      this.#applying = false;
    }
  }
}
