/**
 * Outlier detection, Envoy's consecutive-error detectors as Istio configures them (success-rate and
 * failure-percentage ejection are disabled by Istio, so they are not implemented):
 * - every response ≥ 500 counts toward consecutive_5xx, 502/503/504 also toward the gateway counter
 *   (another 5xx resets only the gateway counter), anything else resets both; with split mode off a
 *   local connect failure or reset counts as 503 and a timeout as 504;
 * - ejection is immediate when a counter reaches its threshold, if enforced (enforcing %) and within
 *   maxEjectionPercent by the strict rule of Envoy ≥ 1.28: `100 × (ejected + 1) / hosts <= max`,
 *   else `ejections_overflow`; the counter resets either way;
 * - an ejected host returns at the first interval tick once min(base × backoff, max) has elapsed;
 *   backoff grows by one per ejection and shrinks by one per interval the host stays healthy.
 */
import type { OutlierDetection } from '../model.ts';
import type { Outcome } from './types.ts';
import type { HostState } from './host.ts';

/** What the detector needs from its cluster. */
export interface DetectorOwner {
  /** The hosts that count (ready endpoints: Istio sends only those to Envoy). */
  detectorHosts(): readonly HostState[];
  /** A host was ejected or returned: the balancing set must be recomputed. */
  healthChanged(): void;
}

const FIVE_XX = 0;
const GATEWAY = 1;
const LOCAL = 2;

function tickDetector(d: OutlierDetector): void {
  d.tick();
}

/** The detector of one cluster; state lives on the HostStates so it survives config updates. */
export class OutlierDetector {
  #config: OutlierDetection;
  readonly #owner: DetectorOwner;
  readonly #now: () => number;
  readonly #random: () => number;
  #timer: NodeJS.Timeout | undefined;

  ejectionsActive = 0;
  ejectionsOverflow = 0;
  ejectionsEnforcedTotal = 0;

  constructor(config: OutlierDetection, owner: DetectorOwner, now: () => number, random: () => number) {
    this.#config = config;
    this.#owner = owner;
    this.#now = now;
    this.#random = random;
    this.#arm();
  }

  /** Takes a new config; host state is kept, the interval timer restarts if its period changed. */
  configure(config: OutlierDetection): void {
    const restart = config.intervalMs !== this.#config.intervalMs;
    this.#config = config;
    if (restart) {
      this.#stop();
      this.#arm();
    }
  }

  #arm(): void {
    const ms = this.#config.intervalMs;
    if (!(ms > 0) || !Number.isFinite(ms)) return;
    this.#timer = setInterval(tickDetector, ms, this);
    this.#timer.unref();
  }

  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Feeds one exchange's outcome (never an overflow) into the host's counters. */
  report(host: HostState, outcome: Outcome): void {
    if (host.removed) return;
    const cfg = this.#config;
    if ('status' in outcome) {
      if (cfg.splitExternalLocalOriginErrors) host.consecutiveLocal = 0;
      this.#putStatus(host, outcome.status);
      return;
    }
    if (cfg.splitExternalLocalOriginErrors) {
      if (++host.consecutiveLocal === cfg.consecutiveLocalOriginFailure) this.#consecutiveError(host, LOCAL);
      return;
    }
    this.#putStatus(host, outcome.local === 'timeout' ? 504 : 503);
  }

  #putStatus(host: HostState, status: number): void {
    const cfg = this.#config;
    if (status < 500) {
      host.consecutive5xx = 0;
      host.consecutiveGateway = 0;
      return;
    }
    if (status >= 502 && status <= 504) {
      if (++host.consecutiveGateway === cfg.consecutiveGatewayFailure) this.#consecutiveError(host, GATEWAY);
    } else {
      host.consecutiveGateway = 0;
    }
    if (++host.consecutive5xx === cfg.consecutive5xx) this.#consecutiveError(host, FIVE_XX);
  }

  #consecutiveError(host: HostState, kind: number): void {
    // Responses still arriving from an ejected host change nothing (Envoy returns early, keeping the count).
    if (host.ejected) return;
    this.#eject(host, kind);
    if (kind === FIVE_XX) host.consecutive5xx = 0;
    else if (kind === GATEWAY) host.consecutiveGateway = 0;
    else host.consecutiveLocal = 0;
  }

  #eject(host: HostState, kind: number): void {
    const cfg = this.#config;
    const total = this.#owner.detectorHosts().length;
    if (total === 0 || (100 * (this.ejectionsActive + 1)) / total > cfg.maxEjectionPercent) {
      this.ejectionsOverflow++;
      return;
    }
    // Istio enforces the local-origin detector at 100 % when it configures it.
    const enforcing = kind === FIVE_XX ? cfg.enforcingConsecutive5xx : kind === GATEWAY ? cfg.enforcingConsecutiveGatewayFailure : 100;
    if (enforcing <= 0 || (enforcing < 100 && this.#random() * 100 >= enforcing)) return;
    this.ejectionsActive++;
    this.ejectionsEnforcedTotal++;
    host.ejected = true;
    host.ejectedAt = this.#now();
    host.ejections++;
    const base = cfg.baseEjectionTimeMs;
    if (host.backoff * base < this.#maxTime() + base) host.backoff++;
    this.#owner.healthChanged();
  }

  #maxTime(): number {
    return Math.max(this.#config.maxEjectionTimeMs, this.#config.baseEjectionTimeMs);
  }

  /** The interval sweep: returns hosts whose ejection time is over, decays backoff of healthy ones. */
  tick(): void {
    const now = this.#now();
    const cfg = this.#config;
    const maxT = this.#maxTime();
    let changed = false;
    for (const h of this.#owner.detectorHosts()) {
      if (!h.ejected) {
        if (h.backoff > 0 && now - h.unejectedAt >= cfg.intervalMs) h.backoff--;
        continue;
      }
      if (Math.min(cfg.baseEjectionTimeMs * h.backoff, maxT) <= now - h.ejectedAt) {
        this.#uneject(h, now);
        changed = true;
      }
    }
    if (changed) this.#owner.healthChanged();
  }

  #uneject(h: HostState, now: number): void {
    h.ejected = false;
    h.unejectedAt = now;
    h.consecutive5xx = 0;
    h.consecutiveGateway = 0;
    h.consecutiveLocal = 0;
    this.ejectionsActive--;
  }

  /** A host left the detector's set (removed or no longer ready): an ejection of it no longer counts. */
  forget(h: HostState): void {
    if (!h.ejected) return;
    h.ejected = false;
    this.ejectionsActive--;
  }

  /** Ends detection (outlierDetection removed from the cluster, or cluster closed): ejected hosts return. */
  close(hosts: Iterable<HostState>): void {
    this.#stop();
    for (const h of hosts) if (h.ejected) this.forget(h);
  }
}
