/**
 * The proxy engine: one object per sidecar or gateway. It owns the listeners, the cluster manager,
 * the stats and the live config; apply() compiles a config, binds the listeners it adds, updates
 * the clusters and swaps the snapshot in one assignment, or throws ProxyConfigError and leaves
 * everything as it was (the NACK path).
 */
import { Registry } from '../../telemetry/index.ts';
import { type AdminSource, clusterPrometheus, serveAdmin, serveAgent, serveHealth } from './admin.ts';
import { bindClusters, type Compiled, compileConfig } from './compile.ts';
import type { Engine, ListenerCtx, Live } from './engine.ts';
import { ProxyConfigError, ProxyListenError } from './errors.ts';
import { ownedRequestHeaders } from './headers.ts';
import { Listener, type ListenerRole } from './listeners.ts';
import { type ProxyConfig, proxyPorts } from './model.ts';
import { PeerCache } from './peer.ts';
import { onGatewayRequest, onInboundRequest, onOutboundRequest } from './router.ts';
import { ProxyStats, StatsScope } from './stats.ts';
import { type ReporterOptions, TraceReporter } from './trace-reporter.ts';
import { TcpFlusher } from './tunnel.ts';
import { type ClusterManager, createClusterManager } from './upstream/index.ts';

/** How a Proxy is made (defaults in proxyDefaults). */
export interface ProxyOptions {
  podIP: string;
  /** Sidecars: where the app listens (inbound traffic goes there; `localhost` calls too). Default podIP. */
  appIP?: string;
  kind: 'sidecar' | 'gateway';
  /** Access-log lines, one per call; default stdout. */
  log?: (line: string) => void;
  /** Structured events (listener bound, config applied/rejected, drain). */
  logEvent?: (e: Record<string, unknown>) => void;
  /** Epoch milliseconds; default Date.now. */
  now?: () => number;
  /** Port overrides (0 = any free port; tests). Numbers, since `typeof proxyPorts` has literal types. */
  ports?: Partial<Record<keyof typeof proxyPorts, number>>;
  /** Randomness for weights, faults, backoff and mirrors; default Math.random (tests inject). */
  random?: () => number;
  /** How long drainInbound() and removed listeners wait for in-flight work; default 5000 (Istio's terminationDrainDuration). */
  drainTimeoutMs?: number;
  /** Span reporting limits (flush interval, queue and batch sizes); defaults in reporterDefaults. */
  tracing?: ReporterOptions;
}

/** Defaults of ProxyOptions, applied once in the constructor. */
export const proxyDefaults = {
  drainTimeoutMs: 5000,
  log: (line: string): void => void process.stdout.write(`${line}\n`),
  logEvent: (e: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(e)}\n`),
  now: (): number => Date.now(),
  random: Math.random,
};

type ListenerName = 'admin' | 'agent' | 'health' | 'outbound';

/** One sidecar or gateway proxy: listeners, clusters, stats and the live config. */
export class Proxy {
  readonly #podIP: string;
  readonly #appIP: string | undefined;
  readonly #kind: 'sidecar' | 'gateway';
  readonly #ports: { admin: number; agent: number; health: number; outbound: number };
  readonly #logEvent: (e: Record<string, unknown>) => void;
  readonly #now: () => number;
  readonly #drainMs: number;
  readonly #stats = new ProxyStats(new Registry());
  readonly #manager: ClusterManager;
  readonly #flusher = new TcpFlusher();
  readonly #tracer: TraceReporter;
  readonly #engine: Engine;
  readonly #startedAt: number;
  #fixed = new Map<ListenerName, Listener>();
  /** Inbound (sidecar) or gateway listeners by `<protocol>:<bindPort>`. */
  #dynamic = new Map<string, Listener>();
  /** Listeners removed by a config, draining; close() cuts them short. */
  #retiring = new Set<Listener>();
  #started = false;
  #closed = false;
  #inboundDrained = false;
  #appliedAt: number | undefined;
  #cp: { connected: boolean; lastVersion?: string; lastNack?: string } = { connected: false };
  #queue: Promise<void> = Promise.resolve();
  #admin: AdminSource;

  constructor(opts: ProxyOptions) {
    this.#podIP = opts.podIP;
    this.#appIP = opts.appIP;
    this.#kind = opts.kind;
    const p = { ...proxyPorts, ...opts.ports };
    this.#ports = { admin: p.admin, agent: p.agent, health: p.health, outbound: p.outbound };
    this.#logEvent = opts.logEvent ?? proxyDefaults.logEvent;
    this.#now = opts.now ?? proxyDefaults.now;
    this.#drainMs = opts.drainTimeoutMs ?? proxyDefaults.drainTimeoutMs;
    this.#startedAt = this.#now();
    this.#manager = createClusterManager({ localAddress: opts.podIP, now: opts.now });
    const tracer = (this.#tracer = new TraceReporter(opts.tracing));
    const admin = (this.#admin = this.#adminSource());
    const ports = this.#ports;
    const fixed = this.#fixed;
    const wellKnown = (name: ListenerName): number => (ports[name] === 0 ? (fixed.get(name)?.address?.port ?? -1) : ports[name]);
    this.#engine = {
      live: undefined,
      stats: this.#stats,
      peers: new PeerCache(),
      tracer,
      podIP: opts.podIP,
      appIP: opts.appIP,
      now: this.#now,
      random: opts.random ?? proxyDefaults.random,
      log: opts.log ?? proxyDefaults.log,
      serveLocal(port, req, res, path) {
        if (port === wellKnown('admin')) serveAdmin(admin, req, res, path);
        else if (port === wellKnown('agent')) serveAgent(admin, req, res, path);
        else if (port === wellKnown('health')) serveHealth(admin, req, res, path);
        else return false;
        return true;
      },
    };
    this.#stats.registry.collect((out) => clusterPrometheus(admin, out));
    this.#stats.registry.collect((out) => tracer.prometheus(out));
  }

  /** True once a config is applied and the proxy's own listeners are bound. */
  get ready(): boolean {
    return this.#started && this.#engine.live !== undefined && !this.#closed;
  }

  /** The metrics registry (what /stats/prometheus exposes). */
  get registry(): Registry {
    return this.#stats.registry;
  }

  /** A bound address: the fixed listeners by name, or an inbound/gateway listener by its bind port. */
  address(which: ListenerName | number): { address: string; port: number } | undefined {
    if (typeof which === 'number') {
      for (const [k, l] of this.#dynamic) if (k.endsWith(`:${which}`)) return l.address;
      return undefined;
    }
    return this.#fixed.get(which)?.address;
  }

  /** Binds admin, agent and health (and the outbound listener on sidecars) on the pod IP. */
  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    const plain = (fn: typeof serveAdmin): ListenerRole => ({ kind: 'plain', onRequest: (req, res) => fn(this.#admin, req, res, req.url ?? '/') });
    const want: Array<[ListenerName, ListenerRole, ListenerCtx['kind']]> = [
      ['admin', plain(serveAdmin), 'outbound'],
      ['agent', plain(serveAgent), 'outbound'],
      ['health', plain(serveHealth), 'outbound'],
    ];
    if (this.#kind === 'sidecar') want.push(['outbound', { kind: 'http', onRequest: onOutboundRequest, connect: true, upgrade: true }, 'outbound']);
    for (const [name, role, kind] of want) {
      const l = new Listener(name, this.#ctx(kind), role, this.#flusher.sessions);
      try {
        await l.listen(this.#podIP, this.#ports[name]);
      } catch (e) {
        await l.close();
        await Promise.all([...this.#fixed.values()].map((x) => x.close()));
        this.#fixed.clear();
        throw new ProxyListenError(`cannot listen on ${this.#podIP}:${this.#ports[name]} (${name}): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      this.#fixed.set(name, l);
      this.#logEvent({ event: 'listener_bound', msg: `listening on ${this.#podIP}:${l.address?.port} (${name})`, listener: name, address: `${this.#podIP}:${l.address?.port}` });
    }
    this.#started = true;
  }

  /** Compiles and swaps in a config; throws ProxyConfigError and keeps the previous one when it is invalid. */
  apply(config: ProxyConfig, version: string): Promise<void> {
    const run = this.#queue.then(() => this.#apply(config, version));
    // Serialize applies; a rejected apply must not block the next one.
    this.#queue = run.catch(() => {});
    return run;
  }

  async #apply(config: ProxyConfig, version: string): Promise<void> {
    if (this.#closed) throw new ProxyConfigError('the proxy is closed');
    let c: Compiled;
    const prev = this.#engine.live?.cfg;
    try {
      // Parts of the live config that the new one shares by identity (a delta's unchanged parts) are reused.
      c = compileConfig(config, version, this.#appIP, prev);
    } catch (e) {
      const err = e instanceof ProxyConfigError ? e : new ProxyConfigError(`invalid config: ${(e as Error).message}`);
      this.#logEvent({ event: 'config_rejected', msg: `config ${version} rejected: ${err.message}`, version, code: err.code });
      throw err;
    }
    const desired = this.#desiredListeners(c);
    const opened = new Map<string, Listener>();
    for (const [key, d] of desired) {
      if (this.#dynamic.has(key)) continue;
      // Same port, other protocol: the old listener must let go of the port first. (If the new one
      // then fails to bind, the port stays closed until a config binds it: a rare, logged case.)
      for (const [k, old] of this.#dynamic) {
        if (k.endsWith(`:${d.port}`)) {
          this.#dynamic.delete(k);
          await old.close();
        }
      }
      const l = new Listener(d.name, d.ctx, d.role, this.#flusher.sessions);
      try {
        await l.listen(this.#podIP, d.port);
      } catch (e) {
        await Promise.all([l.close(), ...[...opened.values()].map((x) => x.close())]);
        const err = new ProxyConfigError(`${d.name}: cannot listen on ${this.#podIP}:${d.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        this.#logEvent({ event: 'config_rejected', msg: `config ${version} rejected: ${err.message}`, version, code: err.code });
        throw err;
      }
      opened.set(key, l);
    }
    try {
      // The same cluster set object means nothing changed (compileConfig): the live clusters stay as they are.
      if (c.clusters !== prev?.clusters) this.#manager.update(c.clusters);
    } catch (e) {
      await Promise.all([...opened.values()].map((x) => x.close()));
      const err = new ProxyConfigError(`clusters: ${(e as Error).message}`);
      this.#logEvent({ event: 'config_rejected', msg: `config ${version} rejected: ${err.message}`, version, code: err.code });
      throw err;
    }
    // Reused parts were bound while this cluster set was live; with a new set every destination is bound again.
    bindClusters(c, (name) => this.#manager.get(name), c.clusters !== prev?.clusters);
    const live: Live = { cfg: c, source: new StatsScope(this.#stats, c.node), destination: new StatsScope(this.#stats, c.node) };
    // The swap: requests started before keep their snapshot, new ones see this one.
    const first = this.#appliedAt === undefined;
    this.#engine.live = live;
    this.#appliedAt = this.#now();
    this.#tracer.configure(c.source.tracing, c.node);
    for (const [key, l] of this.#dynamic) {
      const d = desired.get(key);
      if (d) {
        l.ctx.inbound = d.ctx.inbound;
        l.ctx.gateway = d.ctx.gateway;
      } else {
        this.#dynamic.delete(key);
        this.#retire(l);
      }
    }
    for (const [key, l] of opened) this.#dynamic.set(key, l);
    // Only the first config is logged, as istio-proxy logs only that it became ready: a line per push
    // costs each of a node's sidecars a write and the node agent a read on every mesh change.
    // /config_dump shows the live version and when it was applied.
    if (first) this.#logEvent({ event: 'config_applied', msg: `config ${version} applied`, version, listeners: this.#dynamic.size, clusters: Object.keys(c.clusters).length });
  }

  #retire(l: Listener): void {
    this.#retiring.add(l);
    void l.drain(this.#drainMs).finally(() => this.#retiring.delete(l));
  }

  #desiredListeners(c: Compiled): Map<string, { name: string; port: number; role: ListenerRole; ctx: ListenerCtx }> {
    const out = new Map<string, { name: string; port: number; role: ListenerRole; ctx: ListenerCtx }>();
    if (this.#kind === 'sidecar' && !this.#inboundDrained) {
      for (const inb of c.inbound) {
        const ctx = this.#ctx('inbound');
        ctx.inbound = inb;
        const role: ListenerRole = inb.src.protocol === 'tcp' ? { kind: 'tcp' } : { kind: 'http', onRequest: onInboundRequest, upgrade: true };
        out.set(inb.key, { name: `inbound port ${inb.src.port}`, port: inb.src.bindPort, role, ctx });
      }
    }
    if (this.#kind === 'gateway' && !this.#inboundDrained) {
      for (const gw of c.gateway) {
        const ctx = this.#ctx('gateway');
        ctx.gateway = gw;
        const role: ListenerRole = gw.src.protocol === 'tcp' ? { kind: 'tcp' } : { kind: 'http', onRequest: onGatewayRequest, upgrade: true };
        out.set(gw.key, { name: `gateway port ${gw.src.port}`, port: gw.src.bindPort, role, ctx });
      }
    }
    return out;
  }

  #ctx(kind: ListenerCtx['kind']): ListenerCtx {
    return {
      kind,
      engine: this.#engine,
      server: kind === 'outbound' ? 'envoy' : 'istio-envoy',
      owned: kind === 'gateway' ? ownedRequestHeaders.gateway : ownedRequestHeaders.sidecar,
      draining: false,
    };
  }

  /** Control-plane connection state, shown by /config_dump. */
  setControlPlaneState(s: { connected: boolean; lastVersion?: string; lastNack?: string }): void {
    this.#cp = { ...s };
  }

  /** Stops accepting inbound (or gateway) traffic and waits for in-flight work; outbound keeps working. */
  async drainInbound(): Promise<void> {
    this.#inboundDrained = true;
    const all = [...this.#dynamic.values()];
    this.#dynamic.clear();
    this.#logEvent({ event: 'drain_inbound', msg: `draining ${all.length} inbound listeners`, listeners: all.length });
    await Promise.all(all.map((l) => l.drain(this.#drainMs)));
  }

  /** Closes every listener, connection and upstream pool; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#flusher.close();
    const all = [...this.#fixed.values(), ...this.#dynamic.values(), ...this.#retiring];
    this.#fixed.clear();
    this.#dynamic.clear();
    this.#retiring.clear();
    for (const s of this.#flusher.sessions) s.o.client.destroy();
    await Promise.all(all.map((l) => l.close()));
    // After the listeners: the spans of requests cut by the close are in the last report.
    await this.#tracer.close();
    await this.#manager.close();
  }

  #adminSource(): AdminSource {
    const self = this;
    return {
      get ready() {
        return self.ready;
      },
      kind: this.#kind,
      podIP: this.#podIP,
      startedAt: this.#startedAt,
      now: this.#now,
      config: () => this.#engine.live?.cfg,
      appliedAt: () => this.#appliedAt,
      controlPlane: () => this.#cp,
      clusters: () => this.#manager.all(),
      listeners: () =>
        [...this.#fixed.values(), ...this.#dynamic.values()].map((l) => ({
          name: l.name,
          address: l.address ? `${l.address.address}:${l.address.port}` : undefined,
          kind: l.ctx.inbound ? 'inbound' : l.ctx.gateway ? 'gateway' : l.name,
          draining: l.ctx.draining,
          connections: l.connections,
        })),
      registry: this.#stats.registry,
      extraStats: () => this.#tracer.stats(),
    };
  }
}
