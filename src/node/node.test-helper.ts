/** A real store, registry, controllers and node agent for the node tests. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KObject } from '../api/index.ts';
import { startEnv, waitFor, type Env } from '../controllers/env.test-helper.ts';
import { NodeAgent, type NodeAgentOptions } from './index.ts';

export { waitFor };

/** The test stand-in for bin/skiff.js. */
export const fakeSkiff = fileURLToPath(new URL('./testdata/fake-skiff.mjs', import.meta.url));

/**
 * The test stand-in for `skiff app-host`: the real host machinery with fake-skiff's app, through tsx
 * (the agent spawns it as a program, outside this test's loader).
 */
export const fakeAppHost = [process.execPath, '--import', import.meta.resolve('tsx'), fileURLToPath(new URL('./testdata/fake-app-host.ts', import.meta.url))];

/** Fast settings for tests: short backoff, 100 ms probe "seconds", short graces. */
export const fast: Partial<NodeAgentOptions> = { backoffBaseMs: 200, backoffMaxMs: 800, probeSecondMs: 100, closeGraceSeconds: 1, maxGraceSeconds: 2, volumeRetryMs: 100 };

export interface NodeEnv {
  env: Env;
  agent: NodeAgent;
  dataDir: string;
  /** Creates a pod in `default`. */
  pod(name: string, spec: Record<string, unknown>, meta?: Record<string, unknown>): KObject;
  /** The stored pod. */
  get(name: string): KObject;
  /** Waits until `fn(pod)` holds. */
  until(name: string, what: string, fn: (p: KObject) => unknown, timeoutMs?: number): Promise<KObject>;
  /** Events about a pod, as "reason: message". */
  events(name: string): string[];
  /** A new agent on the same data dir and client. */
  newAgent(extra?: Partial<NodeAgentOptions>): NodeAgent;
  close(): Promise<void>;
}

/** Starts everything; close() stops the agent and removes the folders. */
export async function startNode(extra: Partial<NodeAgentOptions> = {}): Promise<NodeEnv> {
  const env = startEnv();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'skiff-node-'));
  const agents: NodeAgent[] = [];
  const newAgent = (more: Partial<NodeAgentOptions> = {}): NodeAgent => {
    const a = new NodeAgent({ client: env.registry, nodeName: 'skiff-test', dataDir, skiffBin: fakeSkiff, appHost: fakeAppHost, ...fast, ...extra, ...more });
    agents.push(a);
    return a;
  };
  const agent = newAgent();
  await agent.start();
  const get = (name: string): KObject => env.registry.getSync('pods', 'default', name);
  return {
    env,
    agent,
    dataDir,
    pod(name, spec, meta = {}) {
      return env.registry.createSync('pods', 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name, ...meta }, spec });
    },
    get,
    async until(name, what, fn, timeoutMs = 10_000) {
      return waitFor(`${name}: ${what}`, () => {
        const p = get(name);
        return fn(p) ? p : undefined;
      }, timeoutMs);
    },
    events(name) {
      return env.registry
        .listSync('events', 'default')
        .items.filter((e) => (e.involvedObject as { name?: string }).name === name)
        .map((e) => `${e.reason}: ${e.message}`);
    },
    newAgent,
    async close() {
      for (const a of agents) await a.close();
      env.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The first container status of a pod. */
export function cs(p: KObject, i = 0): Record<string, any> {
  return p.status?.containerStatuses?.[i] ?? {};
}

/** True when the pod's Ready condition is True. */
export function isReady(p: KObject): boolean {
  return (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

/** True when a process exists and is not a zombie (an orphan's zombie lingers where pid 1 does not reap). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
