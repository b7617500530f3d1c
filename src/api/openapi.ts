/**
 * OpenAPI v3 documents. kubectl's create -f, apply, replace and edit read them only to learn that the
 * server validates fields itself (a PATCH operation per kind with the `fieldValidation` parameter);
 * with that, kubectl sends `fieldValidation=Strict` and leaves validation to us.
 */
import { createHash } from 'node:crypto';
import type { ResourceInfo } from './types.ts';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function gvs(resources: ResourceInfo[]): Map<string, { group: string; version: string; list: ResourceInfo[] }> {
  const m = new Map<string, { group: string; version: string; list: ResourceInfo[] }>();
  for (const r of resources) {
    for (const v of r.versions) {
      const p = gvPath(r.group, v);
      let e = m.get(p);
      if (!e) m.set(p, (e = { group: r.group, version: v, list: [] }));
      e.list.push(r);
    }
  }
  return m;
}

/** The per-group-version document, or undefined for an unknown path. */
export function openapiV3Document(resources: ResourceInfo[], path: string): object | undefined {
  const e = gvs(resources).get(path);
  if (!e) return undefined;
  const paths: Record<string, object> = {};
  for (const r of e.list) {
    const base = `/${gvPath(r.group, e.version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.resource}/{name}`;
    const gvk = { group: r.group, version: e.version, kind: r.kind };
    const params = [
      { name: 'dryRun', in: 'query', schema: { type: 'string', uniqueItems: true } },
      { name: 'fieldManager', in: 'query', schema: { type: 'string', uniqueItems: true } },
      { name: 'fieldValidation', in: 'query', schema: { type: 'string', uniqueItems: true } },
    ];
    paths[base] = {
      patch: { operationId: `patch${r.kind}`, 'x-kubernetes-action': 'patch', 'x-kubernetes-group-version-kind': gvk, parameters: params },
      put: { operationId: `replace${r.kind}`, 'x-kubernetes-action': 'put', 'x-kubernetes-group-version-kind': gvk, parameters: params },
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas: {} } };
}

/** The index document `/openapi/v3`, with a content hash per group-version so kubectl can cache them. */
export function openapiV3Index(resources: ResourceInfo[]): object {
  const paths: Record<string, object> = {};
  for (const p of gvs(resources).keys()) {
    const hash = createHash('sha256').update(JSON.stringify(openapiV3Document(resources, p))).digest('hex').slice(0, 32).toUpperCase();
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
  }
  return { paths };
}
