/**
 * One cluster at run time: its hosts, balancer, pool and outlier detector. The balancing set (healthy
 * hosts, or all ready hosts in panic) is recomputed only when health changes, so choose() is a
 * balancer pick plus, for retries, a few more picks to avoid hosts already tried.
 *
 * Protocols: HTTP/1.1 clusters use pool.ts; `protocol: 'http2'` clusters use h2-pool.ts for requests
 * (TCP tunnels, WebSocket upgrades included, always dial through pool.ts).
 *
 * Readiness: Istio sends Envoy only ready endpoints, so not-ready endpoints (listed for the admin
 * view) count nowhere: not in the panic percentage, not in maxEjectionPercent, never balanced to.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { Cluster } from '../model.ts';
import type {
  ChooseContext,
  ClusterStats,
  Outcome,
  StreamFailure,
  UpstreamCluster,
  UpstreamHost,
  UpstreamRequest,
} from './types.ts';
import { HostState, hostKey } from './host.ts';
import { type Balancer, createBalancer, hash32 } from './balancers.ts';
import { H2Pool } from './h2-pool.ts';
import { Pool } from './pool.ts';
import { type DetectorOwner, OutlierDetector } from './outlier.ts';

/** Host selection attempts when a retry asks to avoid hosts (Istio's host_selection_retry_max_attempts). */
const SELECTION_ATTEMPTS = 5;
/** Passthrough destinations remembered before idle ones are forgotten. */
const PASSTHROUGH_HOSTS = 1024;

export interface ClusterRuntime {
  localAddress: string;
  now: () => number;
  random: () => number;
}

function balancerKey(c: Cluster): string {
  return `${c.lbPolicy}/${c.ringHash?.minimumRingSize ?? ''}/${c.maglev?.tableSize ?? ''}`;
}

/** The run-time cluster (implements the router's UpstreamCluster contract). */
export class ClusterImpl implements UpstreamCluster, DetectorOwner {
  #config: Cluster;
  readonly #rt: ClusterRuntime;
  #hosts = new Map<string, HostState>();
  /** Endpoints in config order, ready or not. */
  #list: HostState[] = [];
  #ready: HostState[] = [];
  /** What the balancer balances over: healthy hosts, or all ready ones in panic. */
  #active: HostState[] = [];
  #panic = false;
  #dirty = true;
  #balancer: Balancer;
  #balancerKey: string;
  #hashing: boolean;
  #passthrough: boolean;
  readonly #pool: Pool;
  /** Set while the cluster is HTTP/2: requests go there. */
  #h2: H2Pool | undefined;
  /** HTTP/2 pools left behind by a switch to HTTP/1.1, finishing their streams until close(). */
  readonly #oldH2: H2Pool[] = [];
  #detector: OutlierDetector | undefined;
  readonly #originals = new Map<string, HostState>();
  #retriesActive = 0;
  #retryTotal = 0;
  #retryOverflow = 0;
  #closed = false;

  constructor(config: Cluster, rt: ClusterRuntime) {
    this.#config = config;
    this.#rt = rt;
    this.#pool = new Pool(config, rt.localAddress);
    this.#balancer = createBalancer(config, rt.random);
    this.#balancerKey = balancerKey(config);
    this.#hashing = config.lbPolicy === 'RING_HASH' || config.lbPolicy === 'MAGLEV';
    this.#passthrough = config.type === 'passthrough' || config.lbPolicy === 'PASSTHROUGH';
    this.update(config);
  }

  get config(): Cluster {
    return this.#config;
  }

  /** Applies a new version of the cluster: hosts that stay keep their state, new ones join, removed ones drain. */
  update(config: Cluster): void {
    this.#config = config;
    const next = new Map<string, HostState>();
    const list: HostState[] = [];
    for (const ep of config.type === 'eds' ? config.endpoints : []) {
      const key = hostKey(ep.address, ep.port);
      if (next.has(key)) continue;
      let h = this.#hosts.get(key);
      if (h === undefined) h = new HostState(ep, key);
      else h.setEndpoint(ep);
      next.set(key, h);
      list.push(h);
    }
    for (const [key, h] of this.#hosts) {
      if (next.has(key)) continue;
      this.#detector?.forget(h);
      this.#pool.drainHost(h);
      this.#h2?.drainHost(h);
    }
    this.#hosts = next;
    this.#list = list;
    const ready = list.filter(isReady);
    for (const h of this.#ready) if (!h.endpoint.ready) this.#detector?.forget(h);
    this.#ready = ready;

    this.#pool.configure(config);
    if (config.protocol === 'http2') {
      if (this.#h2) this.#h2.configure(config);
      else this.#h2 = new H2Pool(config, this.#rt.localAddress);
    } else if (this.#h2) {
      this.#h2.drain();
      this.#oldH2.push(this.#h2);
      this.#h2 = undefined;
    }
    const bk = balancerKey(config);
    if (bk !== this.#balancerKey) {
      this.#balancer = createBalancer(config, this.#rt.random);
      this.#balancerKey = bk;
    }
    this.#hashing = config.lbPolicy === 'RING_HASH' || config.lbPolicy === 'MAGLEV';
    this.#passthrough = config.type === 'passthrough' || config.lbPolicy === 'PASSTHROUGH';

    const od = config.type === 'eds' ? config.outlierDetection : undefined;
    if (od && this.#detector) this.#detector.configure(od);
    else if (od) this.#detector = new OutlierDetector(od, this, this.#rt.now, this.#rt.random);
    else if (this.#detector) {
      this.#detector.close(this.#list);
      this.#detector = undefined;
    }
    this.#dirty = true;
  }

  /** DetectorOwner: the hosts outlier detection counts. */
  detectorHosts(): readonly HostState[] {
    return this.#ready;
  }

  /** DetectorOwner: ejections changed, recompute the balancing set on the next pick. */
  healthChanged(): void {
    this.#dirty = true;
  }

  #recompute(): void {
    this.#dirty = false;
    const ready = this.#ready;
    const healthy = ready.filter(isHealthy);
    const threshold = this.#config.healthyPanicThreshold;
    // Envoy: below healthy_panic_threshold % healthy, balance over every host; 0 disables panic.
    this.#panic = threshold > 0 && ready.length > 0 && (100 * healthy.length) / ready.length < threshold;
    this.#active = this.#panic ? ready : healthy;
    if (this.#active.length > 0) this.#balancer.reset(this.#active);
  }

  choose(ctx: ChooseContext): UpstreamHost | undefined {
    if (this.#config.type === 'blackhole' || this.#closed) return undefined;
    if (this.#passthrough) return this.#original(ctx.original);
    if (this.#dirty) this.#recompute();
    if (this.#active.length === 0) return undefined;
    const hash = this.#hashing && ctx.hashKey !== undefined ? hash32(ctx.hashKey) : undefined;
    const b = this.#balancer;
    let h = b.pick(hash, 0);
    const avoid = ctx.avoid;
    if (avoid !== undefined && avoid.size > 0) {
      for (let i = 1; i < SELECTION_ATTEMPTS && avoid.has(h.key); i++) h = b.pick(hash, i);
    }
    return h;
  }

  /** ORIGINAL_DST: the host the client dialled, remembered so its pool and counters persist. */
  #original(o: ChooseContext['original']): HostState | undefined {
    if (o === undefined) return undefined;
    const key = hostKey(o.address, o.port);
    let h = this.#originals.get(key);
    if (h === undefined) {
      if (this.#originals.size >= PASSTHROUGH_HOSTS) this.#forgetIdleOriginals();
      h = new HostState({ address: o.address, port: o.port, ready: true }, key);
      this.#originals.set(key, h);
    }
    return h;
  }

  #forgetIdleOriginals(): void {
    for (const [key, h] of this.#originals) {
      if (h.cxActive === 0 && h.rqActive === 0 && h.pendingLive === 0) this.#originals.delete(key);
    }
  }

  request(host: UpstreamHost, req: UpstreamRequest, cb: (err: StreamFailure | undefined, creq?: http.ClientRequest) => void): { cancel(): void } {
    if (this.#config.type === 'blackhole') {
      cb({ reason: 'connect-failure', detail: 'blackhole cluster' });
      return NO_CANCEL;
    }
    const h2 = this.#h2;
    if (h2 !== undefined) return h2.request(host as HostState, req, cb);
    return this.#pool.request(host as HostState, req, cb);
  }

  report(host: UpstreamHost, outcome: Outcome): void {
    const h = host as HostState;
    if ('local' in outcome || outcome.status >= 500) h.rqError++;
    this.#detector?.report(h, outcome);
  }

  tryRetry(): boolean {
    if (this.#retriesActive >= this.#config.circuitBreakers.maxRetries) {
      this.#retryOverflow++;
      return false;
    }
    this.#retriesActive++;
    this.#retryTotal++;
    return true;
  }

  retryDone(): void {
    if (this.#retriesActive > 0) this.#retriesActive--;
  }

  connectTcp(host: UpstreamHost, cb: (err: StreamFailure | undefined, socket?: net.Socket) => void): void {
    if (this.#config.type === 'blackhole') return cb({ reason: 'connect-failure', detail: 'blackhole cluster' });
    this.#pool.connectTcp(host as HostState, cb);
  }

  /** Runs the outlier-detection interval sweep now (tests drive time through the injected clock). */
  tickOutlier(): void {
    this.#detector?.tick();
  }

  /** True while a removed cluster still has connections or pending requests. */
  get busy(): boolean {
    const h2 = this.#h2;
    return this.#pool.cxActive > 0 || this.#pool.pendingActive > 0 || (h2 !== undefined && (h2.cxActive > 0 || h2.pendingActive > 0));
  }

  stats(): ClusterStats {
    const p = this.#pool;
    const q = this.#h2;
    const d = this.#detector;
    const hosts: ClusterStats['hosts'] = [];
    for (const h of this.#passthrough ? this.#originals.values() : this.#list) {
      const ready = h.endpoint.ready;
      const flags = (h.ejected ? '/failed_outlier_check' : '') + (ready ? '' : '/failed_eds_health');
      hosts.push({
        address: h.address,
        port: h.port,
        healthy: ready && !h.ejected,
        healthFlags: flags || 'healthy',
        cx_active: h.cxActive,
        rq_active: h.rqActive,
        rq_total: h.rqTotal,
        rq_error: h.rqError,
        consecutive5xx: h.consecutive5xx,
        ejections: h.ejections,
        labels: h.endpoint.labels,
      });
    }
    return {
      name: this.#config.name,
      upstream_cx_total: p.cxTotal + (q?.cxTotal ?? 0),
      upstream_cx_active: p.cxActive + (q?.cxActive ?? 0),
      upstream_cx_overflow: p.cxOverflow + (q?.cxOverflow ?? 0),
      upstream_rq_total: p.rqTotal + (q?.rqTotal ?? 0),
      upstream_rq_active: p.rqActive + (q?.rqActive ?? 0),
      upstream_rq_pending_active: p.pendingActive + (q?.pendingActive ?? 0),
      upstream_rq_pending_overflow: p.pendingOverflow + (q?.pendingOverflow ?? 0),
      upstream_rq_retry: this.#retryTotal,
      upstream_rq_retry_overflow: this.#retryOverflow,
      outlier_detection_ejections_active: d?.ejectionsActive ?? 0,
      outlier_detection_ejections_overflow: d?.ejectionsOverflow ?? 0,
      outlier_detection_ejections_enforced_total: d?.ejectionsEnforcedTotal ?? 0,
      hosts,
    };
  }

  /** The cluster left the config: no new picks, connections finish their requests then close. */
  drain(): void {
    this.#pool.drain();
    this.#h2?.drain();
    this.#detector?.close([]);
  }

  /** Destroys connections, fails pending requests, stops timers; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#detector?.close([]);
    this.#pool.close();
    this.#h2?.close();
    for (const old of this.#oldH2) old.close();
  }
}

const NO_CANCEL = Object.freeze({ cancel(): void {} });

function isReady(h: HostState): boolean {
  return h.endpoint.ready;
}

function isHealthy(h: HostState): boolean {
  return !h.ejected;
}
