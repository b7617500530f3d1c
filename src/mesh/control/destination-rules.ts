/**
 * DestinationRules per namespace and host (§3.1, push_context setDestinationRules and
 * mergeDestinationRule): rules of a namespace for the same host are merged — subsets concatenated
 * (first name wins), the first top-level policy wins — except rules with a workloadSelector, which
 * stay apart and are never exported.
 */
import type { KObject } from '../../api/index.ts';
import { byAge, meta, parseExportTo, resolveHost, sortWildcards, type ExportTo } from './hosts.ts';
import type { DestinationRuleSpec, SubsetSpec, TrafficPolicySpec } from './istio-types.ts';

/** DestinationRules of one namespace for one host, merged (mergeDestinationRule). */
export interface MergedDr {
  host: string;
  namespace: string;
  trafficPolicy?: TrafficPolicySpec;
  subsets: SubsetSpec[];
  exportTo: ExportTo;
  /** Set for a DestinationRule with a workloadSelector (never merged with others). */
  selector?: Record<string, string>;
  /** Clusters and default routes built under this rule, shared by all proxies that resolve to it. */
  memo: Map<string, unknown>;
}

/** DestinationRules of one namespace by host: exact hosts and wildcards (longest first). */
export interface DrTable {
  exact: Map<string, MergedDr[]>;
  wild: Array<[string, MergedDr[]]>;
}

function emptyTable(): DrTable {
  return { exact: new Map(), wild: [] };
}

/** Merges a DestinationRule into a namespace table (subsets concatenated, first top-level policy wins). */
function mergeDr(table: DrTable, spec: DestinationRuleSpec, host: string, ns: string, exportTo: ExportTo): void {
  const wild = host.startsWith('*');
  let list = wild ? table.wild.find(([h]) => h === host)?.[1] : table.exact.get(host);
  if (!list) {
    list = [];
    if (wild) table.wild.push([host, list]);
    else table.exact.set(host, list);
  }
  const selector = spec.workloadSelector?.matchLabels;
  const fresh = (): MergedDr => ({ host, namespace: ns, trafficPolicy: spec.trafficPolicy, subsets: [...(spec.subsets ?? [])], exportTo, memo: new Map() });
  if (selector && Object.keys(selector).length) {
    list.push({ ...fresh(), selector });
    return;
  }
  const merged = list.find((d) => !d.selector);
  if (!merged) {
    list.push(fresh());
    return;
  }
  for (const s of spec.subsets ?? []) if (!merged.subsets.some((x) => x.name === s.name)) merged.subsets.push(s);
  if (!merged.trafficPolicy && spec.trafficPolicy) merged.trafficPolicy = spec.trafficPolicy;
  // A later rule's explicit exportTo applies when the first had none.
  if (merged.exportTo === undefined && exportTo !== undefined) merged.exportTo = exportTo;
}

/**
 * DestinationRules indexed as push_context setDestinationRules does: per namespace the rules its
 * proxies see first (exported to their own namespace), per namespace the rules exported elsewhere,
 * and the root namespace's private rules (seen by proxies of the root namespace).
 */
export function indexDestinationRules(objects: KObject[], rootNamespace: string): { drLocal: Map<string, DrTable>; drExported: Map<string, DrTable>; drRootLocal: DrTable } {
  const drLocal = new Map<string, DrTable>();
  const drExported = new Map<string, DrTable>();
  const drRootLocal = emptyTable();
  const rawDr = objects.map((o) => ({ ...meta(o), spec: (o.spec ?? {}) as DestinationRuleSpec }));
  // Rules with a workloadSelector first, then by age (sortConfigBySelectorAndCreationTime).
  rawDr.sort((a, b) => Number(!!b.spec.workloadSelector) - Number(!!a.spec.workloadSelector) || byAge(a, b));
  for (const d of rawDr) {
    if (typeof d.spec.host !== 'string') continue;
    const host = resolveHost(d.spec.host, d.namespace);
    // Rules with a workloadSelector are never exported.
    const exportTo = d.spec.workloadSelector ? new Set([d.namespace]) : parseExportTo(d.spec.exportTo, d.namespace);
    if (exportTo === undefined || exportTo.has(d.namespace)) {
      let t = drLocal.get(d.namespace);
      if (!t) drLocal.set(d.namespace, (t = emptyTable()));
      mergeDr(t, d.spec, host, d.namespace, exportTo);
    }
    const privateOnly = exportTo !== undefined && exportTo.size === 1 && exportTo.has(d.namespace);
    if (!privateOnly) {
      let t = drExported.get(d.namespace);
      if (!t) drExported.set(d.namespace, (t = emptyTable()));
      mergeDr(t, d.spec, host, d.namespace, exportTo);
    } else if (d.namespace === rootNamespace) {
      mergeDr(drRootLocal, d.spec, host, d.namespace, exportTo);
    }
  }
  for (const t of [...drLocal.values(), ...drExported.values(), drRootLocal]) sortWildcards(t.wild);
  return { drLocal, drExported, drRootLocal };
}
