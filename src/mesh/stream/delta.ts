/**
 * Config deltas (Skiff's incremental xDS): after the full snapshot a proxy gets on connect, the
 * control plane sends only what changed since the version the proxy was last sent — top-level
 * fields whole, clusters by name, route configs by name with their virtual hosts either given
 * again or referred to by their index in the base route config. The proxy merges a delta into its
 * last applied config; everything not named keeps its object identity, which is what lets the
 * proxy keep the compiled parts of it (compile.ts).
 */
import type { ProxyConfig, RouteConfig, VirtualHost } from '../proxy/index.ts';

/** A route config in a delta: its fields, with each virtual host new or the index of an unchanged one in the base. */
export type RouteConfigDelta = Omit<RouteConfig, 'virtualHosts'> & { virtualHosts: Array<VirtualHost | number> };

/** The changes from version `base` to `version`; absent parts are unchanged. */
export interface ConfigDelta {
  /** Top-level fields replaced whole (everything but `routes` and `clusters`). */
  set?: Partial<ProxyConfig>;
  /** Top-level fields removed. */
  remove?: string[];
  /** Clusters added or replaced, by name. */
  clusters?: ProxyConfig['clusters'];
  removeClusters?: string[];
  /** Route configs added or changed, by name. */
  routes?: Record<string, RouteConfigDelta>;
  removeRoutes?: string[];
}

/** A delta that does not fit the config it is applied to (control plane and proxy disagree on the base). */
export class DeltaBaseError extends Error {
  readonly code = 'SKIFF_ERR_CONFIG_DELTA_BASE';
}

/**
 * The config `base` + `d`, as a new object: `base` is not modified, and every part the delta does not
 * name is the same object as in `base`. Throws DeltaBaseError when a virtual host index is out of range.
 */
export function applyDelta(base: ProxyConfig, d: ConfigDelta): ProxyConfig {
  const out = { ...base, ...d.set } as ProxyConfig;
  for (const k of d.remove ?? []) delete (out as unknown as Record<string, unknown>)[k];
  if (d.clusters || d.removeClusters?.length) {
    const clusters = { ...base.clusters, ...d.clusters };
    for (const name of d.removeClusters ?? []) delete clusters[name];
    out.clusters = clusters;
  }
  if (d.routes || d.removeRoutes?.length) {
    const routes = { ...base.routes };
    for (const name of d.removeRoutes ?? []) delete routes[name];
    for (const [name, rd] of Object.entries(d.routes ?? {})) {
      const old = base.routes?.[name]?.virtualHosts ?? [];
      const virtualHosts = rd.virtualHosts.map((v) => {
        if (typeof v !== 'number') return v;
        const vh = old[v];
        if (!vh) throw new DeltaBaseError(`route config "${name}": virtual host #${v} is not in the base config`);
        return vh;
      });
      routes[name] = { ...rd, virtualHosts };
    }
    out.routes = routes;
  }
  return out;
}
