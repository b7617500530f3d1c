/**
 * Service address allocation, as the apiserver's service registry does it: cluster IPs from
 * 127.43.0.0/16 and node ports from 30000-32767, as an admission hook. The allocation state is the
 * set of stored Services, read at each allocation (O(services), and never stale), so nothing needs
 * releasing. Plus the LoadBalancer status controller (k3s ServiceLB style: ingress 127.0.0.1).
 */
import type { AdmissionHook, Client, Closeable, KObject, Registry } from '../api/index.ts';
import { invalid } from '../api/index.ts';
import type { Informer, Informers } from './informer.ts';
import { WorkQueue, type ReconcileResult } from './queue.ts';
import { jsonEqual, keyOf, type Log, noLog, splitKey } from './util.ts';

export const serviceDefaults = {
  cidr: '127.43.0.0/16',
  /** Reserved for the `kubernetes` Service in `default`. */
  kubernetesIP: '127.43.0.1',
  nodePortMin: 30000,
  nodePortMax: 32767,
  loadBalancerIP: '127.0.0.1',
};

/** Parses dotted IPv4 into a number, or undefined. */
export function ipToNum(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

/** Formats a number as dotted IPv4. */
export function numToIp(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function parseCidr(cidr: string): { base: number; size: number } {
  const [ip, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return { base: (ipToNum(ip) ?? 0) - ((ipToNum(ip) ?? 0) % size), size };
}

function clusterIPsOf(spec: KObject['spec'] | undefined): string[] {
  if (!spec) return [];
  if (Array.isArray(spec.clusterIPs) && spec.clusterIPs.length) return spec.clusterIPs.filter((s: unknown): s is string => typeof s === 'string' && s !== '');
  return typeof spec.clusterIP === 'string' && spec.clusterIP ? [spec.clusterIP] : [];
}

function needsNodePorts(spec: KObject['spec'] | undefined): boolean {
  const t = spec?.type;
  return t === 'NodePort' || (t === 'LoadBalancer' && spec?.allocateLoadBalancerNodePorts !== false);
}

type Port = { port?: number; protocol?: string; nodePort?: number; name?: string };

/**
 * A type change leaves fields of the old type behind when the client sent the whole object back
 * (edit, replace, patch): clear those that still hold the old value, as the apiserver's
 * dropTypeDependentFields does, so the update validates.
 */
function dropTypeDependentFields(spec: NonNullable<KObject['spec']>, oldSpec: NonNullable<KObject['spec']>): void {
  const type = spec.type ?? 'ClusterIP';
  const oldType = oldSpec.type ?? 'ClusterIP';
  if (type === oldType) return;
  const same = (k: string): boolean => jsonEqual(spec[k], oldSpec[k]);
  if (type === 'ExternalName' && oldType !== 'ExternalName') {
    for (const k of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy']) if (spec[k] !== undefined && same(k)) delete spec[k];
  }
  if (type !== 'LoadBalancer' && oldType === 'LoadBalancer') {
    for (const k of ['allocateLoadBalancerNodePorts', 'loadBalancerClass', 'healthCheckNodePort']) if (spec[k] !== undefined && same(k)) delete spec[k];
  }
  if ((type === 'ClusterIP' || type === 'ExternalName') && spec.externalTrafficPolicy !== undefined && same('externalTrafficPolicy')) delete spec.externalTrafficPolicy;
}

/** The admission hook for `services`: allocates and keeps cluster IPs and node ports. */
export function serviceAdmission(registry: Registry): AdmissionHook {
  const range = parseCidr(serviceDefaults.cidr);
  const reserved = ipToNum(serviceDefaults.kubernetesIP) ?? 0;
  return (obj, old, info) => {
    const spec = (obj.spec ??= {});
    const type = spec.type ?? 'ClusterIP';
    if (old) dropTypeDependentFields(spec, old.spec ?? {});
    const name = obj.metadata.name ?? '';
    const ns = obj.metadata.namespace ?? '';
    const others = registry.listSync('services', undefined).items.filter((s) => !(s.metadata.name === name && s.metadata.namespace === ns));
    const fail = (field: string, message: string): never => {
      throw invalid(info, name, [{ reason: 'FieldValueInvalid', field, message }]);
    };

    if (type !== 'ExternalName') {
      let ips = clusterIPsOf(spec);
      const oldIPs = old && old.spec?.type !== 'ExternalName' ? clusterIPsOf(old.spec) : [];
      // An omitted cluster IP is carried over on update (it is immutable; validation checks changes).
      if (!ips.length && oldIPs.length) ips = oldIPs;
      if (ips[0] === 'None') {
        spec.clusterIP = 'None';
        spec.clusterIPs = ['None'];
      } else if (ips.length) {
        const ip = ips[0];
        const n = ipToNum(ip);
        if (n !== undefined && ip !== oldIPs[0]) {
          const quoted = `[]string{${ips.map((s) => JSON.stringify(s)).join(', ')}}`;
          const isKubernetes = name === 'kubernetes' && ns === 'default';
          if (n < range.base || n >= range.base + range.size || n === range.base || n === range.base + range.size - 1) {
            fail('spec.clusterIPs', `Invalid value: ${quoted}: failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${serviceDefaults.cidr}`);
          }
          if ((n === reserved && !isKubernetes) || others.some((s) => clusterIPsOf(s.spec).includes(ip))) {
            fail('spec.clusterIPs', `Invalid value: ${quoted}: failed to allocate IP ${ip}: provided IP is already allocated`);
          }
        }
        if (n !== undefined) {
          spec.clusterIP = ip;
          spec.clusterIPs = [ip];
        }
      } else {
        const used = new Set<number>();
        for (const s of others) for (const ip of clusterIPsOf(s.spec)) used.add(ipToNum(ip) ?? -1);
        const isKubernetes = name === 'kubernetes' && ns === 'default';
        let found: number | undefined;
        if (isKubernetes && !used.has(reserved)) found = reserved;
        else {
          // Random start, then linear probe: spreads addresses so a just-freed one is rarely reused at once.
          const span = range.size - 2;
          const start = Math.floor(Math.random() * span);
          for (let i = 0; i < span; i++) {
            const cand = range.base + 1 + ((start + i) % span);
            if (cand === reserved || used.has(cand)) continue;
            found = cand;
            break;
          }
        }
        if (found === undefined) fail('spec.clusterIPs', `Invalid value: []string(nil): failed to allocate IP: range is full`);
        spec.clusterIP = numToIp(found!);
        spec.clusterIPs = [spec.clusterIP];
      }
      spec.ipFamilies ??= ['IPv4'];
      spec.ipFamilyPolicy ??= 'SingleStack';
    }

    const ports: Port[] = Array.isArray(spec.ports) ? spec.ports : [];
    const oldPorts: Port[] = old && Array.isArray(old.spec?.ports) ? old.spec.ports : [];
    if (needsNodePorts(spec)) {
      const used = new Set<number>();
      for (const s of others) for (const p of (s.spec?.ports ?? []) as Port[]) if (typeof p.nodePort === 'number') used.add(p.nodePort);
      const mine = new Set<number>(oldPorts.map((p) => p.nodePort).filter((n): n is number => typeof n === 'number'));
      // Requested ports first, so an allocation below never takes one that is asked for.
      ports.forEach((p, i) => {
        if (typeof p.nodePort !== 'number' || p.nodePort === 0) return;
        if (p.nodePort < serviceDefaults.nodePortMin || p.nodePort > serviceDefaults.nodePortMax) return; // validation reports the range
        if (used.has(p.nodePort) && !mine.has(p.nodePort)) fail(`spec.ports[${i}].nodePort`, `Invalid value: ${p.nodePort}: provided port is already allocated`);
      });
      const taken = new Set<number>([...used, ...ports.map((p) => p.nodePort).filter((n): n is number => typeof n === 'number' && n > 0)]);
      for (const p of ports) {
        if (typeof p.nodePort === 'number' && p.nodePort > 0) continue;
        const prev = oldPorts.find((o) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP') && typeof o.nodePort === 'number');
        if (prev && !used.has(prev.nodePort!)) {
          p.nodePort = prev.nodePort;
          taken.add(p.nodePort!);
          continue;
        }
        const span = serviceDefaults.nodePortMax - serviceDefaults.nodePortMin + 1;
        const start = Math.floor(Math.random() * span);
        let got: number | undefined;
        for (let i = 0; i < span; i++) {
          const cand = serviceDefaults.nodePortMin + ((start + i) % span);
          if (!taken.has(cand)) {
            got = cand;
            break;
          }
        }
        if (got === undefined) fail('spec.ports[0].nodePort', 'Invalid value: 0: failed to allocate a nodePort: range is full');
        p.nodePort = got;
        taken.add(got!);
      }
    } else if (old && needsNodePorts(old.spec)) {
      // Type changed away from NodePort/LoadBalancer: drop node ports left over from the old object.
      for (const p of ports) {
        if (p.nodePort !== undefined && oldPorts.some((o) => o.nodePort === p.nodePort)) delete p.nodePort;
      }
    }
  };
}

/** Gives LoadBalancer Services an ingress address (127.0.0.1) and clears it when the type changes. */
export class LoadBalancerController implements Closeable {
  #client: Client;
  #queue: WorkQueue;
  #services: Informer;
  #unsubscribe: () => void;
  #closed = false;

  constructor(client: Client, informers: Informers, opts: { log?: Log } = {}) {
    this.#client = client;
    this.#queue = new WorkQueue((k) => this.#sync(k), { name: 'service-lb-controller', log: opts.log ?? noLog });
    this.#services = informers.get('services');
    this.#unsubscribe = this.#services.onChange((t, svc) => {
      if (t !== 'DELETED') this.#queue.add(keyOf(svc));
    });
    void informers.synced(['services']).then(() => this.#queue.start());
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    this.#queue.close();
  }

  async #sync(key: string): Promise<ReconcileResult> {
    const [ns, name] = splitKey(key);
    const svc = this.#services.get(ns, name);
    if (!svc) return;
    const isLB = svc.spec?.type === 'LoadBalancer';
    const cur = svc.status?.loadBalancer?.ingress;
    const want = isLB ? [{ ip: serviceDefaults.loadBalancerIP, ipMode: 'VIP' }] : undefined;
    if (!isLB && !cur) return;
    if (jsonEqual(cur, want)) return;
    const status = { ...(svc.status ?? {}), loadBalancer: want ? { ingress: want } : {} };
    await this.#client.updateStatus('services', ns, { ...svc, status });
  }
}
