/** resource.Quantity values (`500m`, `128Mi`, `1e3`, `2`): read as numbers, and written as Kubernetes spells them. */

const suffixes: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6, m: 1e-3, n: 1e-9, u: 1e-6 };

/** A quantity as a number; undefined when absent or malformed. */
export function parseQuantity(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === 'number') return q;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(q.trim());
  if (!m || !(m[2] in suffixes)) return undefined;
  return Number(m[1]) * suffixes[m[2]];
}

/** A usage of resource `key` in canonical form: cores as `2` or `1500m`, bytes with the largest exact binary suffix. */
export function formatQuantity(key: string, v: number): string {
  if (/(^|\.)cpu$/.test(key)) return Number.isInteger(v) ? String(v) : `${Math.round(v * 1000)}m`;
  if (/(^|\.)(memory|storage|ephemeral-storage)$/.test(key)) {
    for (const [s, n] of [['Ei', 1024 ** 6], ['Pi', 1024 ** 5], ['Ti', 1024 ** 4], ['Gi', 1024 ** 3], ['Mi', 1024 ** 2], ['Ki', 1024]] as const) {
      if (v >= n && v % n === 0) return `${v / n}${s}`;
    }
  }
  return String(v);
}
