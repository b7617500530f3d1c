/**
 * Peer metadata exchange. Istio's client sidecar sends its workload identity to the server sidecar
 * in `x-envoy-peer-metadata` (a base64 protobuf Struct) so the server can label its
 * `reporter="destination"` metrics with `source_*`; the server strips it before the app sees it.
 * Skiff does the same with a compact header:
 *
 *   x-skiff-peer: 1;<workload>;<namespace>;<app>;<version>;<canonical service>;<canonical revision>;<principal>
 *
 * each field percent-encoded. The sending side renders it once per config (it only depends on the
 * node); the receiving side decodes each distinct value once and caches it (bounded).
 */
import type { ProxyNode, WorkloadMeta } from './model.ts';

/** The header name. */
export const peerHeader = 'x-skiff-peer';

/** The header value describing this proxy's workload. */
export function encodePeer(node: ProxyNode): string {
  const f = [node.workload, node.namespace, node.app, node.version, node.canonicalService, node.canonicalRevision, node.principal];
  return `1;${f.map((x) => encodeURIComponent(x ?? '')).join(';')}`;
}

/** Parses a header value; undefined when malformed or of an unknown version. */
export function decodePeer(v: string): WorkloadMeta | undefined {
  const p = v.split(';');
  if (p.length !== 8 || p[0] !== '1') return undefined;
  try {
    const d = p.map((x) => decodeURIComponent(x));
    return { workload: d[1], namespace: d[2], app: d[3], version: d[4], canonicalService: d[5], canonicalRevision: d[6], principal: d[7], meshed: true };
  } catch {
    return undefined;
  }
}

const cacheLimit = 1024;

/** Decodes with a bounded cache: one Map lookup per request for a known peer. */
export class PeerCache {
  #m = new Map<string, WorkloadMeta | null>();

  /** The peer described by a header value (undefined when absent or malformed). */
  get(v: string | string[] | undefined): WorkloadMeta | undefined {
    if (typeof v !== 'string') return undefined;
    let m = this.#m.get(v);
    if (m === undefined) {
      // A full cache is cleared rather than tracked per entry: peers are few, junk values are rare.
      if (this.#m.size >= cacheLimit) this.#m.clear();
      m = decodePeer(v) ?? null;
      this.#m.set(v, m);
    }
    return m ?? undefined;
  }
}
