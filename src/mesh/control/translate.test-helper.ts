/**
 * Builds a MeshWorld by hand for translation tests: namespaces, Services with cluster IPs, pods
 * synthesized from Deployments (ReplicaSet owner, pod-template-hash, 127.42.x.y IPs), bare pods,
 * EndpointSlices as the endpoint controller would write them, and the Istio objects as given.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { KObject } from '../../api/index.ts';
import type { MeshWorld } from './world.ts';

/** Where the course fixtures live when ../shared is present. */
export const courseDir = new URL('../../../../shared/fixtures/course/istio/', import.meta.url);

/** True when the course fixtures are available. */
export function haveCourse(): boolean {
  return existsSync(courseDir);
}

// Parsing YAML costs tens of milliseconds per file while the parser warms up: parse each file once.
const parsed = new Map<string, KObject[]>();

/** The objects of a YAML file (course fixture path relative to courseDir, or a URL), placed in `ns`. */
export function loadYaml(file: string | URL, ns: string): KObject[] {
  const url = typeof file === 'string' ? new URL(file, courseDir) : file;
  let docs = parsed.get(url.href);
  if (!docs) parsed.set(url.href, (docs = yamlObjects(readFileSync(url, 'utf8'), '')));
  return structuredClone(docs).map((o) => {
    if (!o.metadata.namespace) o.metadata.namespace = ns;
    return o;
  });
}

/** A local testdata file's objects. */
export function testdata(name: string, ns: string): KObject[] {
  return loadYaml(new URL(`./testdata/${name}`, import.meta.url), ns);
}

const istioKinds: Record<string, keyof Omit<MeshWorld, 'mesh'>> = {
  VirtualService: 'virtualServices',
  DestinationRule: 'destinationRules',
  Gateway: 'gateways',
  ServiceEntry: 'serviceEntries',
  Sidecar: 'sidecars',
};

/** Options for worldOf. */
export interface WorldOptions {
  mesh?: MeshWorld['mesh'];
  /** Give every pod an istio-proxy container (default true). */
  inject?: boolean;
}

function shortHash(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h.toString(36).slice(0, 8).padEnd(8, 'x');
}

function findPort(pod: KObject, target: number | string | undefined, port: number): number | undefined {
  if (target === undefined) return port;
  if (typeof target === 'number') return target;
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === target) return p.containerPort;
  return undefined;
}

/**
 * A world from a list of objects: Deployments become pods, Pods get IPs, Services get cluster IPs,
 * EndpointSlices are derived; creationTimestamps follow list order when missing.
 */
export function worldOf(objects: KObject[], opts: WorldOptions = {}): MeshWorld {
  const w: MeshWorld = { namespaces: [], services: [], endpointSlices: [], pods: [], virtualServices: [], destinationRules: [], gateways: [], serviceEntries: [], sidecars: [], mesh: opts.mesh };
  let ip = 10;
  let svcIp = 10;
  let t = 0;
  const stamp = (o: KObject) => {
    t++;
    o.metadata.creationTimestamp ??= new Date(Date.UTC(2025, 0, 1, 0, 0, t)).toISOString().replace('.000', '');
  };
  const sidecar = { name: 'istio-proxy', image: 'skiff/proxy' };
  const addPod = (pod: KObject) => {
    stamp(pod);
    pod.status = { phase: 'Running', podIP: `127.42.0.${ip++}`, conditions: [{ type: 'Ready', status: 'True' }], ...(pod.status ?? {}) };
    if (opts.inject !== false && !pod.metadata.labels?.istio) pod.spec.containers = [...pod.spec.containers, sidecar];
    w.pods.push(pod);
  };
  const namespaces = new Set<string>();
  for (const o of objects) {
    const ns = o.metadata.namespace ?? 'default';
    if (o.kind !== 'Namespace') namespaces.add(ns);
    if (o.kind === 'Namespace') {
      stamp(o);
      w.namespaces.push(o);
    } else if (o.kind === 'Service') {
      stamp(o);
      o.spec ??= {};
      o.spec.clusterIP ??= `127.43.0.${svcIp++}`;
      w.services.push(o);
    } else if (o.kind === 'Deployment') {
      const hash = shortHash(`${ns}/${o.metadata.name}`);
      const rs = `${o.metadata.name}-${hash}`;
      for (let i = 0; i < (o.spec?.replicas ?? 1); i++) {
        const tpl = structuredClone(o.spec.template);
        addPod({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: `${rs}-${shortHash(`${rs}${i}`).slice(0, 5)}`,
            namespace: ns,
            labels: { ...(tpl.metadata?.labels ?? {}), 'pod-template-hash': hash },
            annotations: tpl.metadata?.annotations,
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, uid: `uid-${rs}`, controller: true }],
          },
          spec: tpl.spec,
        });
      }
    } else if (o.kind === 'Pod') {
      addPod(o);
    } else if (istioKinds[o.kind!]) {
      stamp(o);
      (w[istioKinds[o.kind!]] as KObject[]).push(o);
    }
  }
  for (const ns of namespaces) if (!w.namespaces.some((n) => n.metadata.name === ns)) w.namespaces.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'istio-injection': 'enabled' } } });
  for (const svc of w.services) {
    const sel = svc.spec.selector as Record<string, string> | undefined;
    if (!sel) continue;
    const pods = w.pods.filter((p) => p.metadata.namespace === svc.metadata.namespace && Object.entries(sel).every(([k, v]) => p.metadata.labels?.[k] === v));
    const first = pods[0];
    const ports = (svc.spec.ports ?? []).map((sp: { name?: string; port: number; targetPort?: number | string; protocol?: string }) => ({
      name: sp.name ?? '',
      port: first ? findPort(first, sp.targetPort, sp.port) : undefined,
      protocol: sp.protocol ?? 'TCP',
    }));
    w.endpointSlices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${svc.metadata.name}-abcde`, namespace: svc.metadata.namespace, labels: { 'kubernetes.io/service-name': svc.metadata.name! } },
      addressType: 'IPv4',
      ports: ports.filter((p: { port?: number }) => p.port !== undefined),
      endpoints: pods.map((p) => ({
        addresses: [p.status.podIP],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: { kind: 'Pod', namespace: p.metadata.namespace, name: p.metadata.name },
      })),
    });
  }
  return w;
}

/** The objects of a YAML string (for inline fixtures); objects without a namespace go to `ns`. */
export function yamlObjects(text: string, ns: string): KObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJSON() as KObject)
    .filter((o) => o && typeof o === 'object' && o.kind)
    .map((o) => {
      o.metadata ??= {};
      if (ns) o.metadata.namespace ??= ns;
      return o;
    });
}

/** The pod named with this prefix (Deployment pods carry generated suffixes). */
export function podNamed(w: MeshWorld, prefix: string, ns?: string): KObject {
  const p = w.pods.find((x) => x.metadata.name!.startsWith(prefix) && (!ns || x.metadata.namespace === ns));
  if (!p) throw new Error(`no pod ${prefix}`);
  return p;
}
