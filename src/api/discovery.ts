/** Discovery documents, legacy and aggregated (apidiscovery.k8s.io/v2), built from the catalog. */
import type { ResourceInfo } from './types.ts';

const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** The Content-Type kubectl requires to read an aggregated discovery answer. */
export const aggregatedContentType = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

function groupsOf(resources: ResourceInfo[]): Map<string, ResourceInfo[]> {
  const m = new Map<string, ResourceInfo[]>();
  for (const r of resources) {
    if (!r.group) continue;
    let l = m.get(r.group);
    if (!l) m.set(r.group, (l = []));
    l.push(r);
  }
  return m;
}

function versionsOf(list: ResourceInfo[]): string[] {
  // The preferred version is the one most resources of the group prefer; the rest follow.
  const seen: string[] = [];
  for (const r of list) if (!seen.includes(r.versions[0])) seen.push(r.versions[0]);
  for (const r of list) for (const v of r.versions) if (!seen.includes(v)) seen.push(v);
  return seen;
}

/** `GET /api` (legacy). */
export function legacyCoreVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

/** `GET /apis` (legacy). */
export function legacyGroupList(resources: ResourceInfo[]): object {
  const groups = [...groupsOf(resources)].map(([name, list]) => {
    const versions = versionsOf(list).map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
    return { name, versions, preferredVersion: versions[0] };
  });
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

/** `GET /apis/<group>` (legacy). */
export function legacyGroup(resources: ResourceInfo[], group: string): object | undefined {
  const list = resources.filter((r) => r.group === group);
  if (!list.length) return undefined;
  const versions = versionsOf(list).map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions, preferredVersion: versions[0] };
}

/** `GET /api/v1` or `/apis/<group>/<version>`: an APIResourceList, or undefined when nothing is served there. */
export function resourceList(resources: ResourceInfo[], group: string, version: string): object | undefined {
  const list = resources.filter((r) => r.group === group && r.versions.includes(version));
  if (!list.length) return undefined;
  const out: object[] = [];
  for (const r of list) {
    const res: Record<string, unknown> = {
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs ?? allVerbs,
    };
    if (r.shortNames.length) res.shortNames = r.shortNames;
    if (r.categories.length) res.categories = r.categories;
    out.push(res);
    for (const sub of r.subresources) {
      const kind = sub === 'scale' ? 'Scale' : sub === 'status' ? r.kind : sub === 'eviction' ? 'Eviction' : sub === 'binding' ? 'Binding' : sub === 'token' ? 'TokenRequest' : r.kind;
      const sr: Record<string, unknown> = { name: `${r.resource}/${sub}`, singularName: '', namespaced: r.namespaced, kind, verbs: subVerbs(sub) };
      if (sub === 'scale') Object.assign(sr, { group: 'autoscaling', version: 'v1' });
      out.push(sr);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources: out };
}

function subVerbs(sub: string): string[] {
  if (sub === 'status' || sub === 'scale') return ['get', 'patch', 'update'];
  if (sub === 'log') return ['get'];
  if (sub === 'exec' || sub === 'attach' || sub === 'portforward') return ['create', 'get'];
  return ['create'];
}

function aggregatedResource(r: ResourceInfo, version: string): object {
  const o: Record<string, unknown> = {
    resource: r.resource,
    responseKind: { group: r.group, version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: r.verbs ?? allVerbs,
  };
  if (r.shortNames.length) o.shortNames = r.shortNames;
  if (r.categories.length) o.categories = r.categories;
  if (r.subresources.length) {
    o.subresources = r.subresources.map((sub) => ({
      subresource: sub,
      responseKind: sub === 'scale' ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : { group: r.group, version, kind: r.kind },
      verbs: subVerbs(sub),
    }));
  }
  return o;
}

/** Aggregated discovery for `/api` (core=true) or `/apis`. */
export function aggregated(resources: ResourceInfo[], core: boolean): object {
  const items: object[] = [];
  if (core) {
    const list = resources.filter((r) => !r.group);
    items.push({ metadata: { creationTimestamp: null }, versions: [{ version: 'v1', freshness: 'Current', resources: list.map((r) => aggregatedResource(r, 'v1')) }] });
  } else {
    for (const [name, list] of groupsOf(resources)) {
      const versions = versionsOf(list).map((v) => ({
        version: v,
        freshness: 'Current',
        resources: list.filter((r) => r.versions.includes(v)).map((r) => aggregatedResource(r, v)),
      }));
      items.push({ metadata: { name, creationTimestamp: null }, versions });
    }
  }
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}
