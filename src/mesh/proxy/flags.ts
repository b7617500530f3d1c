/**
 * Envoy response flags as a bit set, in Envoy's own enum order (stream_info ResponseFlag), which is
 * the order `%RESPONSE_FLAGS%` and the `response_flags` label list them in: `UF,URX`, `DI,FI`, `UO`.
 * A request carries one number; the comma-joined string is rendered once per distinct value and
 * cached, so neither metrics nor access logs build strings per request.
 */

export const F = {
  UH: 1 << 1,
  UT: 1 << 2,
  LR: 1 << 3,
  UR: 1 << 4,
  UF: 1 << 5,
  UC: 1 << 6,
  UO: 1 << 7,
  NR: 1 << 8,
  DI: 1 << 9,
  FI: 1 << 10,
  DC: 1 << 14,
  URX: 1 << 15,
  UPE: 1 << 23,
  NC: 1 << 24,
} as const;

const order: Array<[number, string]> = Object.entries(F)
  .map(([k, v]) => [v, k] as [number, string])
  .sort((a, b) => a[0] - b[0]);

const cache = new Map<number, string>();

/** `UF,URX`-style text of a flag set; `-` when empty. */
export function flagString(bits: number): string {
  if (bits === 0) return '-';
  let s = cache.get(bits);
  if (s !== undefined) return s;
  s = '';
  for (const [bit, name] of order) if (bits & bit) s = s ? `${s},${name}` : name;
  cache.set(bits, s);
  return s;
}
