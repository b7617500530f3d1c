/** The pod-template-hash: a short, deterministic, DNS-safe name suffix for a pod template (controller.ComputeHash). */
import { stableStringify } from './util.ts';
import type { KObject } from '../api/index.ts';

/** The label a Deployment adds to its ReplicaSets and their pods. */
export const podTemplateHashLabel = 'pod-template-hash';

// rand.SafeEncodeString's alphabet: no vowels (no words) and no look-alike characters.
const alphanums = 'bcdfghjklmnpqrstvwxz2456789';

/** 32-bit FNV-1a over the UTF-8 bytes of a string. */
export function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Maps each character to the safe alphabet by its code (rand.SafeEncodeString). */
export function safeEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += alphanums[s.charCodeAt(i) % alphanums.length];
  return out;
}

/**
 * The hash of a pod template plus the deployment's collisionCount. Like upstream, the 32-bit hash is
 * printed in decimal and each digit mapped to the safe alphabet, giving names like `6c9f8b7d5`.
 */
export function computeHash(template: unknown, collisionCount?: number): string {
  let text = stableStringify(template ?? {});
  if (collisionCount !== undefined && collisionCount !== null) text += `\u0000${collisionCount}`;
  return safeEncode(String(fnv32a(text)));
}

/** The template without the pod-template-hash label, for comparisons. */
function withoutHash(t: KObject['spec']): unknown {
  if (!t || typeof t !== 'object') return t ?? {};
  const labels = { ...(t.metadata?.labels ?? {}) };
  delete labels[podTemplateHashLabel];
  const metadata = { ...(t.metadata ?? {}) };
  if (Object.keys(labels).length) metadata.labels = labels;
  else delete metadata.labels;
  if (metadata.creationTimestamp === null) delete metadata.creationTimestamp;
  return { ...t, metadata };
}

/** Templates are equal apart from the pod-template-hash label (deploymentutil.EqualIgnoreHash). */
export function equalIgnoreHash(a: unknown, b: unknown): boolean {
  return stableStringify(withoutHash(a)) === stableStringify(withoutHash(b));
}
