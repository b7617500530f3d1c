/**
 * The Node controller: keeps the one Node object (this machine) present, labelled and Ready, with
 * capacity and system info, and refreshes the Ready heartbeat at most every 40 s.
 */
import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import type { Client, Closeable, KObject } from '../api/index.ts';
import type { Informer, Informers } from './informer.ts';
import { WorkQueue, type ReconcileResult } from './queue.ts';
import { clone, isAlreadyExists, isNotFound, jsonEqual, type Log, noLog, nowStamp, parseStamp } from './util.ts';

export const nodeDefaults = {
  /** Refresh the Ready condition's heartbeat this often. */
  heartbeatMs: 40_000,
  kubeletVersion: 'v1.32.0+skiff',
  containerRuntimeVersion: 'skiff://0.1.0',
};

/** kubernetes.io/arch from process.arch. */
export function goArch(arch = process.arch): string {
  return arch === 'x64' ? 'amd64' : arch === 'ia32' ? '386' : arch;
}

function osImage(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1];
  } catch {
    // Not Linux, or unreadable.
  }
  return `${os.type()} ${os.release()}`;
}

/** Size of the root filesystem in Ki (ephemeral-storage capacity). */
function diskKi(): string {
  try {
    const s = statfsSync('/');
    return `${Math.floor((s.blocks * s.bsize) / 1024)}Ki`;
  } catch {
    return '0';
  }
}

/** The labels every Skiff node carries. */
export function nodeLabels(name: string): Record<string, string> {
  return {
    'beta.kubernetes.io/arch': goArch(),
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': goArch(),
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'node-role.kubernetes.io/control-plane': '',
  };
}

const pressure: Array<[string, string, string]> = [
  ['MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  ['DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  ['PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
];

/** The status the node reports, keeping transition times from `cur`; heartbeat stamps are `now`. */
export function nodeStatus(name: string, cur: KObject['status'] | undefined, now: number): Record<string, unknown> {
  const stamp = nowStamp(now);
  const prev = (type: string): { lastTransitionTime?: string; status?: string } | undefined =>
    (cur?.conditions ?? []).find((c: { type?: string }) => c.type === type);
  const cond = (type: string, status: string, reason: string, message: string): Record<string, unknown> => {
    const p = prev(type);
    return {
      type,
      status,
      lastHeartbeatTime: stamp,
      lastTransitionTime: p?.status === status && p.lastTransitionTime ? p.lastTransitionTime : stamp,
      reason,
      message,
    };
  };
  const resources = { cpu: String(os.cpus().length || 1), 'ephemeral-storage': diskKi(), memory: `${Math.floor(os.totalmem() / 1024)}Ki`, pods: '110' };
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [...pressure.map(([t, r, m]) => cond(t, 'False', r, m)), cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status')],
    addresses: [
      { type: 'InternalIP', address: '127.0.0.1' },
      { type: 'Hostname', address: name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: os.release(),
      osImage: osImage(),
      containerRuntimeVersion: nodeDefaults.containerRuntimeVersion,
      kubeletVersion: nodeDefaults.kubeletVersion,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: goArch(),
    },
  };
}

/** Status without heartbeat stamps, to tell real changes from heartbeats. */
function withoutHeartbeats(s: unknown): unknown {
  const c = clone(s) as { conditions?: Array<Record<string, unknown>> } | undefined;
  for (const x of c?.conditions ?? []) delete x.lastHeartbeatTime;
  return c;
}

export class NodeController implements Closeable {
  #client: Client;
  #name: string;
  #queue: WorkQueue;
  #nodes: Informer;
  #unsubscribe: () => void;
  #timer: NodeJS.Timeout;
  #closed = false;

  constructor(client: Client, informers: Informers, opts: { nodeName: string; log?: Log }) {
    this.#client = client;
    this.#name = opts.nodeName;
    this.#queue = new WorkQueue(() => this.#sync(), { name: 'node-controller', log: opts.log ?? noLog, maxDelayMs: 10_000 });
    this.#nodes = informers.get('nodes');
    this.#unsubscribe = this.#nodes.onChange((_t, n) => {
      if (n.metadata.name === this.#name) this.#queue.add(this.#name);
    });
    this.#timer = setInterval(() => this.#queue.add(this.#name), nodeDefaults.heartbeatMs);
    this.#timer.unref();
    void informers.synced(['nodes']).then(() => {
      this.#queue.add(this.#name);
      this.#queue.start();
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#unsubscribe();
    this.#queue.close();
  }

  async #sync(): Promise<ReconcileResult> {
    const now = Date.now();
    let node = this.#nodes.get(undefined, this.#name);
    if (!node) {
      try {
        node = await this.#client.create('nodes', undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: this.#name, labels: nodeLabels(this.#name) }, spec: {} });
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        node = await this.#client.get('nodes', undefined, this.#name);
      }
    }
    const labels = { ...(node.metadata.labels ?? {}), ...nodeLabels(this.#name) };
    if (!jsonEqual(labels, node.metadata.labels ?? {})) {
      node = await this.#client.update('nodes', undefined, { ...node, metadata: { ...node.metadata, labels } });
    }
    const want = nodeStatus(this.#name, node.status, now);
    const ready = (node.status?.conditions ?? []).find((c: { type?: string }) => c.type === 'Ready');
    const beat = parseStamp(ready?.lastHeartbeatTime);
    const stale = Number.isNaN(beat) || now - beat >= nodeDefaults.heartbeatMs - 1000;
    // Merge: other writers (the node agent) may add fields such as images; ours win on the fields we own.
    const merged = { ...(node.status ?? {}), ...want };
    if (!stale && jsonEqual(withoutHeartbeats(merged), withoutHeartbeats(node.status))) return;
    try {
      await this.#client.updateStatus('nodes', undefined, { ...node, status: merged });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      this.#queue.add(this.#name);
    }
  }
}
