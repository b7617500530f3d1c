/**
 * The config stream between the control plane and its proxies (DESIGN §1, §4), Skiff's small
 * xDS: one WebSocket per proxy on loopback. The control plane sends a whole versioned snapshot
 * (`config`) on connect, then deltas (`delta`, delta.ts) on top of the version it last sent; the
 * proxy answers each with `ack` or `nack` (keeping its previous config on NACK, as Envoy does). A
 * delta whose base is not the proxy's current version is NACKed with `resync`, and the control
 * plane answers that with a full snapshot. The proxy reconnects with capped backoff and keeps
 * serving its last good config while the control plane is away.
 */
import WebSocket from 'ws';
import type { ProxyConfig } from '../proxy/index.ts';
import { applyDelta, type ConfigDelta, DeltaBaseError } from './delta.ts';

/** Control plane → proxy: a whole snapshot. */
export interface ConfigMessage {
  type: 'config';
  version: string;
  nonce: string;
  config: ProxyConfig;
}

/** Control plane → proxy: the changes from version `base` (the last one sent) to `version`. */
export interface DeltaMessage extends ConfigDelta {
  type: 'delta';
  version: string;
  nonce: string;
  base: string;
}

/** Proxy → control plane. `resync`: the proxy does not have the delta's base; it needs a full snapshot. */
export type ReplyMessage = { type: 'ack'; version: string; nonce: string } | { type: 'nack'; version: string; nonce: string; error: string; resync?: boolean };

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
  /**
   * Applies a snapshot; a rejection is NACKed with its message and the old config stays. After a
   * delta, the config is the last applied one with the delta merged in: the parts the delta does
   * not name are the same objects as in the previous call (the proxy keeps their compiled form).
   */
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
  /** The last applied config: the base of the next delta. */
  #config: ProxyConfig | undefined;
  // Messages are applied one at a time, in arrival order; a snapshot drops everything waiting before
  // it, deltas wait their turn (each builds on the one before).
  #applying = false;
  #pending: Array<ConfigMessage | DeltaMessage> = [];

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
      let msg: ConfigMessage | DeltaMessage;
      try {
        msg = JSON.parse(String(data)) as ConfigMessage | DeltaMessage;
      } catch {
        return;
      }
      if (msg.type === 'config') this.#pending = [msg];
      else if (msg.type === 'delta') this.#pending.push(msg);
      else return;
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
      let msg: ConfigMessage | DeltaMessage | undefined;
      while ((msg = this.#pending.shift())) {
        let reply: ReplyMessage;
        try {
          const config = msg.type === 'config' ? msg.config : this.#merge(msg);
          await this.#opts.apply(config, msg.version);
          this.#config = config;
          this.#lastVersion = msg.version;
          this.#lastNack = undefined;
          reply = { type: 'ack', version: msg.version, nonce: msg.nonce };
        } catch (e) {
          this.#lastNack = (e as Error).message;
          reply = { type: 'nack', version: msg.version, nonce: msg.nonce, error: this.#lastNack };
          if (e instanceof DeltaBaseError) reply.resync = true;
          this.#opts.log?.({ level: 'warn', msg: 'config rejected', version: msg.version, error: this.#lastNack });
        }
        this.#state(this.#ws?.readyState === WebSocket.OPEN);
        if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(reply));
      }
    } finally {
      this.#applying = false;
    }
  }

  /** The last applied config with `d` merged in; DeltaBaseError when `d` was made for another version. */
  #merge(d: DeltaMessage): ProxyConfig {
    if (!this.#config || d.base !== this.#lastVersion) throw new DeltaBaseError(`delta from version ${d.base}, but the proxy has ${this.#lastVersion ?? 'no config'}`);
    return applyDelta(this.#config, d);
  }
}
