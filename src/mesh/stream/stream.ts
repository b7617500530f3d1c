/**
 * The config stream between the control plane and its proxies (DESIGN §1, §4), Skiff's small
 * xDS: one connection per proxy on loopback, an HTTP/1.1 upgrade to line-framed JSON (lines.ts). The control plane sends a whole versioned snapshot
 * (`config`) on connect, then deltas (`delta`, delta.ts) on top of the version it last sent; the
 * proxy answers each with `ack` or `nack` (keeping its previous config on NACK, as Envoy does). A
 * delta whose base is not the proxy's current version is NACKed with `resync`, and the control
 * plane answers that with a full snapshot. The proxy reconnects with capped backoff and keeps
 * serving its last good config while the control plane is away.
 */
import net from 'node:net';
import type { ProxyConfig } from '../proxy/index.ts';
import { applyDelta, type ConfigDelta, DeltaBaseError } from './delta.ts';
import { Lines, streamProtocol } from './lines.ts';

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
  /** The handshake must finish within this. */
  handshakeMs: 5000,
  /** The largest message a proxy takes (a snapshot of a big mesh is a few MB). */
  maxMessageBytes: 64 << 20,
};

/** What a stream client reports to its owner. */
export interface StreamClientOptions {
  /** `http://127.0.0.1:<port>` (`ws://` is taken as the same). */
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
  /** Called with true before a config or delta is merged and applied, with false once every pending one is answered. */
  busy?(on: boolean): void;
  log?(e: Record<string, unknown>): void;
  backoffMs?: number;
  maxMessageBytes?: number;
  maxBackoffMs?: number;
}

/** A proxy's end of the stream: connects, applies snapshots in order, ACKs/NACKs, reconnects. */
export class StreamClient {
  #opts: StreamClientOptions;
  #conn: Lines | undefined;
  #socket: net.Socket | undefined;
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
    if (this.#socket || this.#closed) return;
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
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #state(connected: boolean): void {
    this.#opts.onState?.({ connected, lastVersion: this.#lastVersion, lastNack: this.#lastNack });
  }

  #connect(): void {
    const url = new URL(this.#opts.address.replace(/^ws/, 'http'));
    const path = `${streamPath}?pod=${encodeURIComponent(`${this.#opts.namespace}/${this.#opts.pod}`)}`;
    // The answer's head, up to its blank line; what follows it is the first messages.
    let head: Buffer | undefined = Buffer.alloc(0);
    // Reads bypass the stream machinery (onread into one buffer): a push wakes every sidecar, and
    // Readable's bookkeeping was a tenth of what a sidecar spends on a one-route delta.
    const socket = net.connect({
      port: Number(url.port || 80),
      host: url.hostname,
      onread: {
        buffer: Buffer.allocUnsafe(64 * 1024),
        callback: (n: number, buf: Uint8Array): boolean => {
          const chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
          if (head) onHead(chunk);
          else this.#conn?.receive(chunk);
          return true;
        },
      },
    });
    this.#socket = socket;
    socket.setTimeout(streamDefaults.handshakeMs, () => socket.destroy(new Error('config stream handshake timed out')));
    socket.once('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer ${this.#opts.token}\r\nconnection: Upgrade\r\nupgrade: ${streamProtocol}\r\n\r\n`);
    });
    const onHead = (chunk: Buffer): void => {
      const all: Buffer = Buffer.concat([head!, chunk]);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) {
        head = all;
        if (all.length > 16384) socket.destroy(new Error('config stream handshake: answer head too long'));
        return;
      }
      head = undefined;
      const status = /^HTTP\/1\.1 (\d{3})/.exec(all.toString('latin1', 0, Math.min(end, 64)))?.[1];
      if (status !== '101') {
        this.#opts.log?.({ level: 'warn', msg: 'control plane refused the config stream', address: this.#opts.address, status: status ?? 'not HTTP' });
        return void socket.destroy();
      }
      socket.setTimeout(0);
      this.#conn = new Lines(socket, (text) => this.#message(text), this.#opts.maxMessageBytes ?? streamDefaults.maxMessageBytes, 'manual');
      this.#delay = this.#opts.backoffMs ?? streamDefaults.backoffMs;
      this.#opts.log?.({ level: 'info', msg: 'connected to the control plane', address: this.#opts.address });
      this.#state(true);
      this.#conn.receive(all.subarray(end + 4));
    };
    socket.on('error', () => {});
    socket.on('close', () => {
      const wasOpen = this.#conn?.socket === socket;
      if (this.#socket === socket) this.#socket = undefined;
      if (wasOpen) this.#conn = undefined;
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

  #message(text: string): void {
    let msg: ConfigMessage | DeltaMessage;
    try {
      msg = JSON.parse(text) as ConfigMessage | DeltaMessage;
    } catch {
      return;
    }
    if (msg.type === 'config') this.#pending = [msg];
    else if (msg.type === 'delta') this.#pending.push(msg);
    else return;
    if (!this.#applying) this.#opts.busy?.(true);
    void this.#drain();
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
        const open = this.#conn?.open === true;
        this.#state(open);
        if (open) this.#conn!.send(JSON.stringify(reply));
      }
    } finally {
      this.#applying = false;
      this.#opts.busy?.(false);
    }
  }

  /** The last applied config with `d` merged in; DeltaBaseError when `d` was made for another version. */
  #merge(d: DeltaMessage): ProxyConfig {
    if (!this.#config || d.base !== this.#lastVersion) throw new DeltaBaseError(`delta from version ${d.base}, but the proxy has ${this.#lastVersion ?? 'no config'}`);
    return applyDelta(this.#config, d);
  }
}
