/** Which container a stream request is for, checked with the API server's and the kubelet's own messages. */
import type { KObject } from '../../api/index.ts';
import { failureStatus } from './channel.ts';

/** A request that cannot be served, answered as a Status (API server checks) or plain text (kubelet checks). */
export class StreamError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    /** True when upstream's kubelet (not the API server) reports it, as plain text. */
    readonly plain = false,
  ) {
    super(message);
  }

  /** The metav1.Status body. */
  toStatus(): Record<string, unknown> {
    return failureStatus(this.reason, this.code, this.message);
  }
}

/** A 400 BadRequest. */
export function badRequest(message: string): StreamError {
  return new StreamError(400, 'BadRequest', message);
}

interface ContainerSpec {
  name: string;
  stdin?: boolean;
  tty?: boolean;
}

/** The containers of a pod spec: regular, init and ephemeral. */
function containersOf(pod: KObject): { main: ContainerSpec[]; all: ContainerSpec[] } {
  const spec = (pod.spec ?? {}) as { containers?: ContainerSpec[]; initContainers?: ContainerSpec[]; ephemeralContainers?: ContainerSpec[] };
  const main = spec.containers ?? [];
  return { main, all: [...main, ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])] };
}

/**
 * The container a request names, or the pod's only (or default-annotated) one. Messages are the API
 * server's validateContainer ones, so kubectl prints what it prints against a real cluster.
 */
export function pickContainer(pod: KObject, requested: string | null | undefined): ContainerSpec {
  const name = pod.metadata.name ?? '';
  const { main, all } = containersOf(pod);
  if (requested) {
    const c = all.find((x) => x.name === requested);
    if (!c) throw badRequest(`container ${requested} is not valid for pod ${name}`);
    return c;
  }
  if (main.length === 1) return main[0];
  if (main.length === 0) throw badRequest(`a container name must be specified for pod ${name}`);
  const def = pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'];
  const d = def ? main.find((x) => x.name === def) : undefined;
  if (d) return d;
  throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${all.map((x) => x.name).join(' ')}]`);
}

/** The status entry of a container, from status.containerStatuses (or init/ephemeral ones). */
export function containerStatus(pod: KObject, container: string): Record<string, any> | undefined { // eslint-disable-line @typescript-eslint/no-explicit-any
  const st = (pod.status ?? {}) as Record<string, Array<{ name?: string }> | undefined>;
  for (const k of ['containerStatuses', 'initContainerStatuses', 'ephemeralContainerStatuses']) {
    const hit = st[k]?.find((s) => s.name === container);
    if (hit) return hit;
  }
  return undefined;
}

/** True for a query flag kubectl sets (`true` or `1`). */
export function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}
