/**
 * The service proxy (kube-proxy for Skiff's loopback networking, DESIGN §3): listeners on cluster
 * IPs, NodePorts and LoadBalancer ports forwarding TCP to ready endpoints, plus the in-pod HTTP
 * proxy on every running pod's IP. Watches services, endpoints and pods through shared informers;
 * routing state changes synchronously with each event, listeners reconcile through a work queue.
 */
import type { Client, KObject } from '../api/index.ts';
import { Informers, WorkQueue } from '../controllers/index.ts';
import { ClusterIndex, type Resolved, type ServiceEntry } from './cluster.ts';
import { isLoopback } from './names.ts';
import { PodProxies } from './pod-proxy.ts';
import { resolveName } from './route.ts';
import { type ForwardTarget, TcpListener } from './tcp.ts';

/** Defaults of ServiceProxyOptions, applied once in the constructor. */
export const serviceProxyDefaults = {
  /** Port of the in-pod HTTP proxy on each pod IP (what HTTP_PROXY points at). */
  proxyPort: 15080,
  /** Address NodePorts listen on. */
  nodePortHost: '127.0.0.1',
  /** Address LoadBalancer ports listen on when free (k3s ServiceLB style). */
  loadBalancerHost: '127.0.0.1',
};

/** Options of ServiceProxy. */
export interface ServiceProxyOptions {
  client: Client;
  proxyPort?: number;
  nodePortHost?: string;
  log?: (e: Record<string, unknown>) => void;
}

/** A listener the proxy should have for a service. */
export interface DesiredListener {
  host: string;
  port: number;
  target: ForwardTarget;
}

/** One listener as reported by listeners(): open, or failed with its error code. */
export interface ListenerInfo {
  address: string;
  kind: ForwardTarget['kind'] | 'pod-proxy';
  owner: string;
  error?: string;
}

/**
 * The listeners a service needs: each TCP port on the cluster IP (not for headless or ExternalName),
 * on the NodePort for NodePort/LoadBalancer, and on the LoadBalancer host for LoadBalancer.
 */
export function desiredListeners(svc: ServiceEntry, hosts: { nodePortHost: string; loadBalancerHost: string }): DesiredListener[] {
  const out: DesiredListener[] = [];
  if (svc.type === 'ExternalName') return out;
  const withIP = svc.clusterIP !== '' && svc.clusterIP !== 'None' && isLoopback(svc.clusterIP);
  for (const p of (svc.obj.spec?.ports ?? []) as Array<{ port?: number; nodePort?: number; protocol?: string }>) {
    if ((p.protocol ?? 'TCP') !== 'TCP' || typeof p.port !== 'number') continue;
    const t = (kind: ForwardTarget['kind']): ForwardTarget => ({ owner: svc.key, ns: svc.ns, name: svc.name, port: p.port!, kind });
    if (withIP) out.push({ host: svc.clusterIP, port: p.port, target: t('cluster') });
    if ((svc.type === 'NodePort' || svc.type === 'LoadBalancer') && typeof p.nodePort === 'number' && p.nodePort > 0) {
      out.push({ host: hosts.nodePortHost, port: p.nodePort, target: t('node') });
    }
    if (svc.type === 'LoadBalancer') out.push({ host: hosts.loadBalancerHost, port: p.port, target: t('lb') });
  }
  return out;
}

/** Cluster IP, NodePort and LoadBalancer forwarding plus the in-pod HTTP proxies of one node. */
export class ServiceProxy {
  #client: Client;
  #o: typeof serviceProxyDefaults;
  #log: (e: Record<string, unknown>) => void;
  #index = new ClusterIndex();
  #informers: Informers | undefined;
  #queue: WorkQueue;
  #tcp = new Map<string, TcpListener>();
  /** Addresses that failed to bind, logged once per (address, error code). */
  #failed = new Map<string, { owner: string; kind: ListenerInfo['kind']; code: string }>();
  #pods: PodProxies;
  #unsubscribe: Array<() => void> = [];
  #started = false;
  #closing: Promise<void> | undefined;
  // Bound once: every TcpListener shares it.
  #pickTarget = (ns: string, name: string, port: number, clientIP: string | undefined) => this.#index.pickTarget(ns, name, port, clientIP);

  constructor(opts: ServiceProxyOptions) {
    this.#client = opts.client;
    this.#o = {
      ...serviceProxyDefaults,
      ...(opts.proxyPort !== undefined ? { proxyPort: opts.proxyPort } : {}),
      ...(opts.nodePortHost !== undefined ? { nodePortHost: opts.nodePortHost } : {}),
    };
    this.#log = opts.log ?? (() => {});
    this.#queue = new WorkQueue((k) => this.#sync(k), { name: 'service-proxy', log: this.#log });
    this.#pods = new PodProxies({ view: this.#index, port: this.#o.proxyPort });
  }

  /** Lists and watches services, endpoints and pods; resolves once the caches are synced (listeners open right after). */
  async start(): Promise<void> {
    if (this.#started || this.#closing) return;
    this.#started = true;
    const inf = (this.#informers = new Informers(this.#client, { log: this.#log }));
    this.#unsubscribe.push(
      inf.get('services').onChange((t, svc) => {
        this.#index.onService(t, svc);
        this.#queue.add(`s:${svc.metadata.namespace ?? ''}/${svc.metadata.name ?? ''}`);
      }),
      inf.get('endpoints').onChange((t, ep) => this.#index.onEndpoints(t, ep)),
      inf.get('pods').onChange((t, pod, old) => {
        for (const ip of this.#index.onPod(t, pod, old)) this.#queue.add(`p:${ip}`);
      }),
    );
    await inf.synced(['services', 'endpoints', 'pods']);
    this.#queue.start();
  }

  /** Closes every listener and open connection, the watches and the queue; idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const u of this.#unsubscribe.splice(0)) u();
      this.#queue.close();
      this.#informers?.close();
      const ls = [...this.#tcp.values()];
      this.#tcp.clear();
      await Promise.all([...ls.map((l) => l.close()), this.#pods.close()]);
    })();
    return this.#closing;
  }

  /** Picks a ready endpoint for a service port (round robin or ClientIP affinity); used by the ingress controller too. */
  pick(ns: string, service: string, port: number | string, clientIP?: string): { host: string; port: number } | undefined {
    return this.#index.pickTarget(ns, service, port, clientIP);
  }

  /** Resolves a name as seen from a namespace: svc, svc.ns, svc.ns.svc, svc.ns.svc.cluster.local, a cluster IP, a pod IP. */
  resolve(fromNs: string, host: string): Resolved | undefined {
    return resolveName(this.#index, fromNs, host.toLowerCase());
  }

  /** Every listener, open or failed to bind (diagnostics and tests). */
  listeners(): ListenerInfo[] {
    const out: ListenerInfo[] = [];
    for (const l of this.#tcp.values()) out.push({ address: l.address, kind: l.target.kind, owner: l.target.owner });
    for (const ip of this.#pods.ips()) out.push({ address: `${ip}:${this.#pods.port}`, kind: 'pod-proxy', owner: podKey(this.#index.podByIP(ip)) });
    for (const [address, f] of this.#failed) out.push({ address, kind: f.kind, owner: f.owner, error: f.code });
    return out;
  }

  async #sync(key: string): Promise<void> {
    if (this.#closing) return;
    if (key.startsWith('p:')) await this.#syncPod(key.slice(2));
    else await this.#syncService(key.slice(2));
  }

  async #syncPod(ip: string): Promise<void> {
    const pod = this.#index.podByIP(ip);
    const want = !!pod && pod.status?.phase === 'Running' && isLoopback(ip);
    if (!want) {
      this.#failed.delete(`${ip}:${this.#pods.port}`);
      return this.#pods.closeOne(ip);
    }
    if (this.#pods.has(ip)) return;
    try {
      await this.#pods.open(ip);
      this.#failed.delete(`${ip}:${this.#pods.port}`);
    } catch (e) {
      this.#bindFailed(`${ip}:${this.#pods.port}`, podKey(pod), 'pod-proxy', e);
    }
  }

  async #syncService(key: string): Promise<void> {
    const i = key.indexOf('/');
    const entry = this.#index.service(key.slice(0, i), key.slice(i + 1));
    const want = entry ? desiredListeners(entry, this.#o) : [];
    const wanted = new Set<string>();
    for (const w of want) {
      const addr = `${w.host}:${w.port}`;
      wanted.add(addr);
      const cur = this.#tcp.get(addr);
      if (cur) {
        // Cluster IPs and NodePorts are unique by allocation, so another owner here is stale (its
        // delete is still queued): take over. A LoadBalancer port only ever takes a free port.
        if (cur.target.owner === key || w.target.kind !== 'lb') cur.target = w.target;
        continue;
      }
      const l = new TcpListener(w.host, w.port, w.target, this.#pickTarget);
      this.#tcp.set(addr, l);
      try {
        await l.listen();
        this.#failed.delete(addr);
        if (this.#closing) await l.close();
      } catch (e) {
        if (this.#tcp.get(addr) === l) this.#tcp.delete(addr);
        void l.close();
        // ServiceLB semantics: a LoadBalancer port that is taken (or privileged) is simply not served.
        if (w.target.kind !== 'lb') this.#bindFailed(addr, key, w.target.kind, e);
      }
    }
    for (const [addr, l] of this.#tcp) {
      if (l.target.owner === key && !wanted.has(addr)) {
        this.#tcp.delete(addr);
        await l.close();
      }
    }
    for (const [addr, f] of this.#failed) if (f.owner === key && !wanted.has(addr)) this.#failed.delete(addr);
  }

  #bindFailed(address: string, owner: string, kind: ListenerInfo['kind'], e: unknown): void {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    const prev = this.#failed.get(address);
    this.#failed.set(address, { owner, kind, code });
    if (prev?.code === code) return;
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    const hint =
      code === 'EACCES' && port < 1024
        ? 'ports below 1024 need root; pods still reach the service by name or cluster IP through their HTTP proxy'
        : code === 'EADDRINUSE'
          ? 'another process holds the port'
          : undefined;
    this.#log({ level: 'warn', msg: `cannot listen on ${address} for ${kind === 'pod-proxy' ? 'pod' : 'service'} "${owner}": ${code}`, address, owner, kind, code, ...(hint ? { hint } : {}) });
  }
}

function podKey(pod: KObject | undefined): string {
  return pod ? `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}` : '';
}
