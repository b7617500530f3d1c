/**
 * The LimitRanger admission plugin for pods, as the API server runs it before quota: for each
 * LimitRange of the namespace, `type: Container` items give containers that state no value their
 * `default` (limits; else `max`) and `defaultRequest` (requests; else the default limit), and then
 * `min`, `max` and `maxLimitRequestRatio` are checked, refusing the pod with upstream's Forbidden
 * message.
 */
import { ApiError } from '../api/index.ts';
import { parseQuantity } from '../api/quantity.ts';
import type { AdmissionHook, Registry } from '../api/registry.ts';

type Resources = { limits?: Record<string, string>; requests?: Record<string, string> };
interface Container {
  name: string;
  resources?: Resources;
}

/** Mutates and checks a pod's containers against the namespace's LimitRanges; throws Forbidden. */
export function limitRangeAdmission(registry: Registry): AdmissionHook {
  return (pod, old) => {
    if (old) return;
    const ns = pod.metadata.namespace;
    if (!ns) return;
    const ranges = registry.listSync('limitranges', ns).items;
    if (!ranges.length) return;
    const containers: Container[] = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
    const problems: string[] = [];
    for (const lr of ranges) {
      for (const item of (lr.spec?.limits ?? []) as Array<Record<string, Record<string, string> | string>>) {
        if (item.type !== 'Container') continue;
        // As the LimitRange's own defaulting: `default` falls back to `max`, `defaultRequest` to `default`.
        const dflt = { ...((item.max ?? {}) as Record<string, string>), ...((item.default ?? {}) as Record<string, string>) };
        const dreq = { ...dflt, ...((item.defaultRequest ?? {}) as Record<string, string>) };
        for (const c of containers) {
          const r = (c.resources ??= {});
          // The pod's own defaulting first: a limit the container states is also its request.
          for (const [k, v] of Object.entries(r.limits ?? {})) if (r.requests?.[k] === undefined) (r.requests ??= {})[k] = v;
          for (const [k, v] of Object.entries(dflt)) if (r.limits?.[k] === undefined) (r.limits ??= {})[k] = v;
          for (const [k, v] of Object.entries(dreq)) if (r.requests?.[k] === undefined) (r.requests ??= {})[k] = v;
        }
        for (const c of containers) problems.push(...check(item, c));
      }
    }
    if (problems.length) {
      const name = pod.metadata.name ?? pod.metadata.generateName ?? '';
      const msg = problems.length === 1 ? problems[0] : `[${problems.join(', ')}]`;
      throw new ApiError('Forbidden', `pods "${name}" is forbidden: ${msg}`, { name, kind: 'pods' });
    }
  };
}

function check(item: Record<string, Record<string, string> | string>, c: Container): string[] {
  const out: string[] = [];
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  const q = (v: string | undefined): number => parseQuantity(v) ?? 0;
  for (const [k, v] of Object.entries((item.min ?? {}) as Record<string, string>)) {
    const req = requests[k];
    const lim = limits[k];
    if (req === undefined) out.push(`minimum ${k} usage per Container is ${v}.  No request is specified`);
    else if (q(req) < q(v)) out.push(`minimum ${k} usage per Container is ${v}, but request is ${req}`);
    else if (lim !== undefined && q(lim) < q(v)) out.push(`minimum ${k} usage per Container is ${v}, but limit is ${lim}`);
  }
  for (const [k, v] of Object.entries((item.max ?? {}) as Record<string, string>)) {
    const req = requests[k];
    const lim = limits[k];
    if (lim === undefined) out.push(`maximum ${k} usage per Container is ${v}.  No limit is specified`);
    else if (q(lim) > q(v)) out.push(`maximum ${k} usage per Container is ${v}, but limit is ${lim}`);
    else if (req !== undefined && q(req) > q(v)) out.push(`maximum ${k} usage per Container is ${v}, but request is ${req}`);
  }
  for (const [k, v] of Object.entries((item.maxLimitRequestRatio ?? {}) as Record<string, string>)) {
    const req = q(requests[k]);
    const lim = q(limits[k]);
    if (!req) out.push(`${k} max limit to request ratio per Container is ${v}, but no request is specified or request is 0`);
    else if (!lim) out.push(`${k} max limit to request ratio per Container is ${v}, but no limit is specified or limit is 0`);
    else if (lim / req > q(v)) out.push(`${k} max limit to request ratio per Container is ${v}, but provided ratio is ${(lim / req).toFixed(6)}`);
  }
  return out;
}
