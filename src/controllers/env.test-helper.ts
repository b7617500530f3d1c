/** A real store + registry + controllers for tests, and a bounded poll. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from '../api/registry.ts';
import type { Closeable, KObject } from '../api/types.ts';
import { Store } from '../store/index.ts';
import { installAdmission, startControllers, type ControllerOptions } from './index.ts';

export interface Env {
  registry: Registry;
  store: Store;
  controllers: Closeable;
  logs: Array<Record<string, unknown>>;
  close(): void;
}

/** Store, registry with admission, namespace `default`, and running controllers. */
export function startEnv(opts: Partial<ControllerOptions> = {}): Env {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-'));
  const store = new Store(path.join(dir, 'db.sqlite'));
  const registry = new Registry(store);
  installAdmission(registry);
  registry.createSync('namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const logs: Array<Record<string, unknown>> = [];
  const controllers = startControllers(registry, { nodeName: 'skiff-test', registry, log: (e) => logs.push(e), ...opts });
  const kubelet = finalizeTerminatingPods(registry);
  let closed = false;
  return {
    registry,
    store,
    controllers,
    logs,
    close() {
      if (closed) return;
      closed = true;
      kubelet.close();
      controllers.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The kubelet's part in pod deletion, with no containers to stop: a pod that became Terminating is
 * deleted with grace period 0 (the node agent does this once a pod's processes are gone).
 */
function finalizeTerminatingPods(registry: Registry): Closeable {
  return registry.watch('pods', undefined, {}, (ev) => {
    const pod = ev.object as KObject;
    if (ev.type === 'DELETED' || !pod.metadata?.deletionTimestamp) return;
    setImmediate(() => {
      try {
        registry.deleteSync('pods', pod.metadata.namespace, pod.metadata.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
      } catch {
        // Gone already.
      }
    });
  });
}

/** Polls `fn` (sync or async) until it returns a truthy value; throws with `what` after the deadline. */
export async function waitFor<T>(what: string, fn: () => T | undefined | false | null | Promise<T | undefined | false | null>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      // Awaited, so an async check is retried until it resolves truthy (not taken as a truthy promise).
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A Deployment of `replicas` with one container. */
export function deployment(name: string, replicas: number, extra: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'userlist:1', ports: [{ name: 'http', containerPort: 8080 }] }] },
      },
      ...extra,
    },
  };
}

let ipSeq = 1;

/** Acts as the kubelet: marks a pod Running and Ready (or not ready) with a pod IP. */
export function markPod(registry: Registry, pod: KObject, ready: boolean): KObject {
  const cur = registry.getSync('pods', pod.metadata.namespace, pod.metadata.name ?? '');
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const ip = cur.status?.podIP ?? `127.42.0.${(ipSeq++ % 250) + 2}`;
  const status = {
    phase: 'Running',
    podIP: ip,
    podIPs: [{ ip }],
    hostIP: '127.0.0.1',
    startTime: now,
    conditions: [
      { type: 'Initialized', status: 'True', lastTransitionTime: now },
      { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: now },
      { type: 'ContainersReady', status: ready ? 'True' : 'False', lastTransitionTime: now },
      { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
    ],
    containerStatuses: (cur.spec?.containers ?? []).map((c: { name: string; image: string }) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      ready,
      restartCount: 0,
      started: true,
      state: { running: { startedAt: now } },
    })),
  };
  return registry.writeSync('pods', cur.metadata.namespace, { ...cur, status }, 'status');
}

/** Items of a resource in a namespace. */
export function items(registry: Registry, res: string, ns = 'default', labelSelector?: string): KObject[] {
  return registry.listSync(res, ns, { labelSelector }).items;
}
