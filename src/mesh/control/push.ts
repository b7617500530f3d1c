/**
 * A proxy config as the control plane sends it (DESIGN §4): cut into JSON fragments — top-level
 * fields, clusters by name, route configs by name with their virtual hosts. Configs built from one
 * index share sub-objects (translate.ts), so a FragmentWriter serializes each shared cluster and
 * route config once however many proxies get it, and a part the next index carries over is not
 * serialized again. Two versions of a proxy's config compare fragment by fragment; a full snapshot
 * is the fragments spliced together, a delta (stream/delta.ts) names only those that changed, and
 * virtual hosts that did not change go as their index in the route config the proxy has.
 */
import type { Cluster, ProxyConfig, RouteConfig } from '../proxy/model.ts';
import { clustersOf } from './translate.ts';

/** A route config as fragments. */
interface RouteText {
  /** JSON of the route config without `virtualHosts` (an object, closing brace included). */
  head: string;
  vhosts: string[];
  /** vhost JSON → index, made when a delta against this version is first needed. */
  index?: Map<string, number>;
  /** Whole JSON, made when a snapshot first needs it. */
  full?: string;
  /** The last delta computed from this version (every proxy sharing both versions reuses it). */
  deltaTo?: { next: RouteText; json: string };
}

/** Name → JSON of a cluster map that proxies share. */
interface TextMap {
  map: Map<string, string>;
  /** The last comparison with a newer version (every proxy sharing both versions reuses it). */
  diffTo?: { next: TextMap; touched: string[] };
}

/** A proxy's clusters: a shared map plus its own clusters, which win on a name clash. */
interface ClustersText {
  shared: TextMap;
  own: Map<string, string>;
}

/** A config as fragments: what was sent to a proxy, the unit of comparison and of deltas. */
export interface ConfigText {
  /** Top-level keys in the config's order (`routes` and `clusters` included), for snapshots. */
  keys: string[];
  /** JSON of every top-level field but `routes` and `clusters`. */
  top: Map<string, string>;
  clusters: ClustersText;
  routes: Map<string, RouteText>;
}

/** An empty name → JSON map (never written to). */
const noOwn: Map<string, string> = new Map();

const q = JSON.stringify;

/**
 * Serializes configs into fragments. It caches by object identity: config objects are never changed
 * once built, and a part the next push's index carries over (world.ts carried()) is the same object,
 * so one writer can serve every push, and a carried part is serialized once in its life.
 */
export class FragmentWriter {
  #json = new WeakMap<object, string>();
  #routes = new WeakMap<RouteConfig, RouteText>();
  #maps = new WeakMap<Record<string, Cluster>, TextMap>();

  #text(o: object): string {
    let t = this.#json.get(o);
    if (t === undefined) this.#json.set(o, (t = q(o)));
    return t;
  }

  #route(rc: RouteConfig): RouteText {
    let r = this.#routes.get(rc);
    if (!r) {
      const { virtualHosts, ...rest } = rc;
      r = { head: q(rest), vhosts: virtualHosts.map((vh) => this.#text(vh)) };
      this.#routes.set(rc, r);
    }
    return r;
  }

  #map(clusters: Record<string, Cluster>): TextMap {
    let m = this.#maps.get(clusters);
    if (!m) {
      m = { map: new Map() };
      for (const name in clusters) m.map.set(name, this.#text(clusters[name]));
      this.#maps.set(clusters, m);
    }
    return m;
  }

  #clusters(clusters: Record<string, Cluster>): ClustersText {
    const parts = clustersOf(clusters);
    if (!parts) return { shared: this.#map(clusters), own: noOwn };
    const own = new Map<string, string>();
    for (const c of parts.own) own.set(c.name, this.#text(c));
    return { shared: this.#map(parts.shared), own };
  }

  /** The fragments of `cfg`. */
  encode(cfg: ProxyConfig): ConfigText {
    const out: ConfigText = { keys: [], top: new Map(), clusters: { shared: { map: noOwn }, own: noOwn }, routes: new Map() };
    for (const [k, v] of Object.entries(cfg)) {
      if (v === undefined) continue;
      out.keys.push(k);
      if (k === 'clusters') out.clusters = this.#clusters(cfg.clusters);
      else if (k === 'routes') for (const [name, rc] of Object.entries(cfg.routes)) out.routes.set(name, this.#route(rc));
      else out.top.set(k, typeof v === 'object' && v !== null ? this.#text(v) : q(v));
    }
    return out;
  }
}

/** `{"virtualHosts":[...]}` merged into a route config's head. */
function withVhosts(head: string, vhosts: string): string {
  return head === '{}' ? `{"virtualHosts":[${vhosts}]}` : `${head.slice(0, -1)},"virtualHosts":[${vhosts}]}`;
}

function routeJson(r: RouteText): string {
  return (r.full ??= withVhosts(r.head, r.vhosts.join(',')));
}

function sameRoute(a: RouteText, b: RouteText): boolean {
  if (a === b) return true;
  if (a.head !== b.head || a.vhosts.length !== b.vhosts.length) return false;
  for (let i = 0; i < a.vhosts.length; i++) if (a.vhosts[i] !== b.vhosts[i]) return false;
  return true;
}

/** A route config of a delta: unchanged virtual hosts as their index in `prev`. */
function routeDelta(prev: RouteText, next: RouteText): string {
  if (prev.deltaTo?.next === next) return prev.deltaTo.json;
  if (!prev.index) {
    prev.index = new Map();
    for (let i = prev.vhosts.length - 1; i >= 0; i--) prev.index.set(prev.vhosts[i], i);
  }
  const index = prev.index;
  const json = withVhosts(next.head, next.vhosts.map((v) => index.get(v)?.toString() ?? v).join(','));
  prev.deltaTo = { next, json };
  return json;
}

/** The JSON of cluster `name` in `c`, or undefined. */
function clusterJson(c: ClustersText, name: string): string | undefined {
  return c.own.get(name) ?? c.shared.map.get(name);
}

/** Names whose JSON may differ between two versions of a shared map (changed, added or removed). */
function touchedNames(prev: TextMap, next: TextMap): string[] {
  if (prev === next) return [];
  if (prev.diffTo?.next === next) return prev.diffTo.touched;
  const touched: string[] = [];
  for (const [k, v] of next.map) if (prev.map.get(k) !== v) touched.push(k);
  for (const k of prev.map.keys()) if (!next.map.has(k)) touched.push(k);
  prev.diffTo = { next, touched };
  return touched;
}

/** JSON of a whole snapshot (what JSON.stringify of the config gives, up to key order inside route configs). */
export function snapshotJson(t: ConfigText): string {
  const parts: string[] = [];
  for (const k of t.keys) {
    let v: string;
    if (k === 'clusters') {
      const { shared, own } = t.clusters;
      const list: string[] = [];
      for (const [n, c] of shared.map) list.push(`${q(n)}:${own.get(n) ?? c}`);
      for (const [n, c] of own) if (!shared.map.has(n)) list.push(`${q(n)}:${c}`);
      v = `{${list.join(',')}}`;
    } else if (k === 'routes') {
      v = `{${[...t.routes].map(([n, r]) => `${q(n)}:${routeJson(r)}`).join(',')}}`;
    } else {
      v = t.top.get(k)!;
    }
    parts.push(`${q(k)}:${v}`);
  }
  return `{${parts.join(',')}}`;
}

/** Members (`"set":{...},...`, no braces) of the delta from `prev` to `next`, or undefined when nothing changed. */
export function deltaJson(prev: ConfigText, next: ConfigText): string | undefined {
  const out: string[] = [];
  const changed = (a: Map<string, string>, b: Map<string, string>, set: string, remove: string): void => {
    const s: string[] = [];
    for (const [k, v] of b) if (a.get(k) !== v) s.push(`${q(k)}:${v}`);
    const r: string[] = [];
    for (const k of a.keys()) if (!b.has(k)) r.push(q(k));
    if (s.length) out.push(`${q(set)}:{${s.join(',')}}`);
    if (r.length) out.push(`${q(remove)}:[${r.join(',')}]`);
  };
  changed(prev.top, next.top, 'set', 'remove');
  // Only names the shared maps differ on, or that either side has of its own, can have changed.
  const names = new Set(touchedNames(prev.clusters.shared, next.clusters.shared));
  for (const k of prev.clusters.own.keys()) names.add(k);
  for (const k of next.clusters.own.keys()) names.add(k);
  const set: string[] = [];
  const removed: string[] = [];
  for (const k of names) {
    const a = clusterJson(prev.clusters, k);
    const b = clusterJson(next.clusters, k);
    if (b === undefined) {
      if (a !== undefined) removed.push(q(k));
    } else if (a !== b) set.push(`${q(k)}:${b}`);
  }
  if (set.length) out.push(`"clusters":{${set.join(',')}}`);
  if (removed.length) out.push(`"removeClusters":[${removed.join(',')}]`);
  const routes: string[] = [];
  for (const [name, r] of next.routes) {
    const p = prev.routes.get(name);
    if (p && sameRoute(p, r)) continue;
    routes.push(`${q(name)}:${p ? routeDelta(p, r) : routeJson(r)}`);
  }
  const gone = [...prev.routes.keys()].filter((n) => !next.routes.has(n));
  if (routes.length) out.push(`"routes":{${routes.join(',')}}`);
  if (gone.length) out.push(`"removeRoutes":${q(gone)}`);
  return out.length ? out.join(',') : undefined;
}
