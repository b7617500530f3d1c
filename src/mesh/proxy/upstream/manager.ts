/**
 * All clusters of one proxy. update() applies a new cluster set in place: kept clusters update their
 * hosts without losing state, new ones are built, removed ones drain (their connections finish the
 * requests they carry) and are closed for good by close().
 */
import { performance } from 'node:perf_hooks';
import type { Cluster } from '../model.ts';
import type { ClusterManager, ClusterManagerOptions, UpstreamCluster } from './types.ts';
import { ClusterImpl, type ClusterRuntime } from './cluster.ts';

function monotonicNow(): number {
  return performance.now();
}

/** The ClusterManager implementation. */
export class ClusterManagerImpl implements ClusterManager {
  readonly #rt: ClusterRuntime;
  #clusters = new Map<string, ClusterImpl>();
  /** Removed clusters still finishing requests. */
  readonly #draining = new Set<ClusterImpl>();
  #list: ClusterImpl[] | undefined;
  #closed = false;

  constructor(opts: ClusterManagerOptions) {
    this.#rt = { localAddress: opts.localAddress, now: opts.now ?? monotonicNow, random: opts.random ?? Math.random };
  }

  update(clusters: Record<string, Cluster>): void {
    if (this.#closed) return;
    for (const c of this.#draining) {
      if (!c.busy) {
        c.close();
        this.#draining.delete(c);
      }
    }
    for (const [name, c] of this.#clusters) {
      if (Object.hasOwn(clusters, name)) continue;
      this.#clusters.delete(name);
      c.drain();
      this.#draining.add(c);
    }
    for (const name of Object.keys(clusters)) {
      const cur = this.#clusters.get(name);
      if (cur) cur.update(clusters[name]);
      else this.#clusters.set(name, new ClusterImpl(clusters[name], this.#rt));
    }
    this.#list = undefined;
  }

  get(name: string): UpstreamCluster | undefined {
    return this.#clusters.get(name);
  }

  all(): UpstreamCluster[] {
    return (this.#list ??= [...this.#clusters.values()]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#clusters.values()) c.close();
    for (const c of this.#draining) c.close();
    this.#clusters.clear();
    this.#draining.clear();
    this.#list = undefined;
  }
}
