/**
 * Pods benchmark: apply to Ready. For N = 1, 10 and 100, creates a Deployment of N replicas of the
 * built-in `honester/hello-server` and measures, per pod, the time from the Deployment's create
 * request to the watch event that shows the pod's Ready condition True (our clock; the pod's
 * lastTransitionTime is read too, at its 1 s resolution). Also the memory the node agent adds per
 * pod: RSS of Skiff itself, the summed RSS of the pod process groups in <dataDir>/node/pids.json and
 * that of the app host (the built-in apps of all pods; its record there has no pod), at N=0 and N=100.
 * The deployment is deleted, and its processes gone, between rounds.
 *
 * Also the CPU seconds Skiff, the pod processes and the app host used from the create to all Ready,
 * and how busy CPU 0 was meanwhile: on this shared machine the wall time depends on what else runs on
 * CPU 0, the CPU used does much less.
 *
 * SKIFF_APP_HOST=0 npm run bench -- pods   measures one process per container, as before the app host.
 *
 * Run: npm run bench -- pods   (never part of the test run)
 *
 * Skiff (and so every pod process it starts) runs pinned to CPU 0, this load generator to CPU 1.
 */
import { readFileSync } from 'node:fs';
import { request as httpsRequest, Agent } from 'node:https';
import { join } from 'node:path';
import type { ClientRequest } from 'node:http';
import { type PidRecord, readPidFile } from '../src/node/pids.ts';
import { startSkiff, type SkiffProcess } from '../test/e2e/harness.ts';
import { rawClient, type RawClient } from '../test/e2e/api.ts';
import { cpuBusySeconds, ownCpuSeconds, pct, pinHigh, pinSelf, processGroups, pssKB, raisedPriority, rssKB, sleep } from './util.ts';

const NS = 'bench';
const SIZES = [1, 10, 100];
const ROUNDS = 2;

interface PodSeen {
  readyAt?: number;
  lastTransitionTime?: string;
}

interface Round {
  n: number;
  round: number;
  createdAt: number;
  /** ms from the create request to Ready, per pod. */
  lat: number[];
  totalMs: number;
  /** Latest lastTransitionTime minus the create's wall clock, ms (1 s resolution). */
  lttMs: number;
  /** CPU seconds Skiff, the pods' processes and the app host used from the create to all Ready. */
  cpuS: number;
  cpu: Record<Role, number>;
  /** Busy seconds of CPU 0 (where all of them run) in that time, theirs and everyone else's. */
  cpu0S: number;
}

interface Memory {
  skiffKB: number;
  /** The pods' own processes (with the app host: their stubs). */
  podsKB: number;
  podsPssKB: number;
  /** The app host, while it runs. */
  hostKB: number;
  groups: number;
}

function records(skiff: SkiffProcess): PidRecord[] {
  return readPidFile(skiff.dataDir);
}

/** RSS of Skiff itself, and summed over every pid in the recorded process groups (pods' and the app host's), in KB. */
function memory(skiff: SkiffProcess): Memory {
  const recs = records(skiff);
  const pods = new Set(recs.filter((r) => r.pod.startsWith(`${NS}/`)).map((r) => r.pgid));
  const host = new Set(recs.filter((r) => r.pod === '').map((r) => r.pgid));
  const m: Memory = { skiffKB: rssKB(skiff.proc.pid!), podsKB: 0, podsPssKB: 0, hostKB: 0, groups: pods.size };
  for (const [pid, pgrp] of processGroups()) {
    if (pods.has(pgrp)) {
      m.podsKB += rssKB(pid);
      m.podsPssKB += pssKB(pid);
    } else if (host.has(pgrp)) m.hostKB += rssKB(pid);
  }
  return m;
}

/**
 * The benchmark's pods' process groups recorded in <dataDir>/node/pids.json now: not the app host's, which
 * outlives them, nor those of pods Skiff runs itself (the ingress gateway in istio-ingress).
 */
function recordedGroups(skiff: SkiffProcess): number[] {
  return records(skiff)
    .filter((r) => r.pod.startsWith(`${NS}/`))
    .map((r) => r.pgid);
}

type Role = 'skiff' | 'host' | 'pods';

/** CPU seconds used so far by Skiff itself and by every live process in the recorded groups, by pid (with its role). */
function cpuByPid(skiff: SkiffProcess): Map<number, { role: Role; s: number }> {
  const recs = records(skiff);
  const role = new Map<number, Role>(recs.flatMap((r): Array<[number, Role]> => (r.pod === '' ? [[r.pgid, 'host']] : r.pod.startsWith(`${NS}/`) ? [[r.pgid, 'pods']] : [])));
  const out = new Map<number, { role: Role; s: number }>([[skiff.proc.pid!, { role: 'skiff', s: ownCpuSeconds(skiff.proc.pid!) }]]);
  for (const [pid, pgrp] of processGroups()) {
    const r = role.get(pgrp);
    if (r) out.set(pid, { role: r, s: ownCpuSeconds(pid) });
  }
  return out;
}

/** CPU seconds used between two cpuByPid() snapshots, per role (processes that started in between count from 0). */
function cpuUsed(before: Map<number, { s: number }>, after: Map<number, { role: Role; s: number }>): Record<Role, number> {
  const out: Record<Role, number> = { skiff: 0, host: 0, pods: 0 };
  for (const [pid, a] of after) out[a.role] += a.s - (before.get(pid)?.s ?? 0);
  return out;
}

/** Live processes in the given process groups (0 once every one of them is gone). */
function liveIn(pgids: Set<number>): number {
  let n = 0;
  for (const [, pgrp] of processGroups()) if (pgids.has(pgrp)) n++;
  return n;
}

const deployment = (name: string, n: number): string =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: n,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'hello', image: 'honester/hello-server', ports: [{ containerPort: 8080 }] }] } },
    },
  });

async function waitFor(what: string, fn: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(50);
  }
}

/** Pods of the app in the API; -1 when the request failed (a kept-alive socket the server just closed: poll again). */
async function podCount(api: RawClient, app: string): Promise<number> {
  try {
    const r = await api.send('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app%3D${app}`);
    return (JSON.parse(r.body) as { items: unknown[] }).items.length;
  } catch {
    return -1;
  }
}

async function main(): Promise<void> {
  pinSelf(1);
  process.stdout.write(`CPU 0: processes under test${raisedPriority() ? ' (nice -10)' : ''}; CPU 1: load generator${raisedPriority() ? ' (nice -10)' : ''}\n`);
  process.stdout.write(`built-in apps: ${process.env.SKIFF_APP_HOST === '0' ? 'one process per container (SKIFF_APP_HOST=0)' : 'in the shared app host'}\n`);
  const skiff = await startSkiff({ prefix: pinHigh(0) });
  const api = rawClient(skiff.dataDir, skiff.apiPort);
  let watch: ClientRequest | undefined;
  const agent = new Agent({ ca: readFileSync(join(skiff.dataDir, 'ca.crt'), 'utf8'), keepAlive: true });
  try {
    const ns = await api.send('POST', '/api/v1/namespaces', JSON.stringify({ metadata: { name: NS } }));
    if (ns.status !== 201) throw new Error(`namespace: ${ns.status} ${ns.body}`);
    const fromRv = (JSON.parse(ns.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;

    // One watch on the namespace's pods for the whole run: app label → pod name → when it turned Ready.
    const seen = new Map<string, Map<string, PodSeen>>();
    const token = readFileSync(join(skiff.dataDir, 'token'), 'utf8').trim();
    watch = await new Promise<ClientRequest>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: skiff.apiPort, path: `/api/v1/namespaces/${NS}/pods?watch=true&resourceVersion=${fromRv}`, agent, headers: { Authorization: `Bearer ${token}` } }, (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          const now = performance.now();
          buf += c;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line.trim()) continue;
            const ev = JSON.parse(line) as { type: string; object: { metadata: { name: string; labels?: Record<string, string> }; status?: { conditions?: Array<{ type: string; status: string; lastTransitionTime?: string }> } } };
            const app = ev.object.metadata.labels?.app;
            if (!app || ev.type === 'DELETED') continue;
            let pods = seen.get(app);
            if (!pods) seen.set(app, (pods = new Map()));
            let p = pods.get(ev.object.metadata.name);
            if (!p) pods.set(ev.object.metadata.name, (p = {}));
            const ready = ev.object.status?.conditions?.find((c) => c.type === 'Ready');
            if (ready?.status === 'True' && p.readyAt === undefined) {
              p.readyAt = now;
              p.lastTransitionTime = ready.lastTransitionTime;
            }
          }
        });
        resolve(req);
      });
      req.on('error', reject);
      req.end();
    });
    await sleep(300);

    const rounds: Round[] = [];
    const mem: Array<{ round: number; at0: Memory; at100?: Memory }> = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const n of SIZES) {
        const name = `hello-n${n}-r${round}`;
        await sleep(1000); // let Skiff settle after the previous delete
        if (n === 100) mem.push({ round, at0: memory(skiff) });
        const cpu0 = cpuByPid(skiff);
        const busy0 = cpuBusySeconds(0);
        const wall = Date.now();
        const createdAt = performance.now();
        const r = await api.send('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, deployment(name, n));
        if (r.status !== 201) throw new Error(`create deployment: ${r.status} ${r.body}`);
        const readyCount = (): number => [...(seen.get(name)?.values() ?? [])].filter((p) => p.readyAt !== undefined).length;
        await waitFor(`${n} pods of ${name} Ready`, () => readyCount() >= n, 120_000);
        const cpu = cpuUsed(cpu0, cpuByPid(skiff));
        const cpuS = cpu.skiff + cpu.host + cpu.pods;
        const cpu0S = cpuBusySeconds(0) - busy0;
        const pods = [...seen.get(name)!.values()].filter((p) => p.readyAt !== undefined);
        const lat = pods.map((p) => p.readyAt! - createdAt).sort((a, b) => a - b);
        const ltt = Math.max(...pods.map((p) => Date.parse(p.lastTransitionTime ?? '') || 0));
        const res: Round = { n, round, createdAt, lat, totalMs: lat[lat.length - 1], lttMs: ltt ? ltt - wall : NaN, cpuS, cpu, cpu0S };
        rounds.push(res);
        process.stdout.write(`round ${round}, N=${n}: all Ready after ${res.totalMs.toFixed(0)} ms (p50 ${pct(lat, 50).toFixed(0)}, p99 ${pct(lat, 99).toFixed(0)} ms; lastTransitionTime says ${res.lttMs.toFixed(0)} ms); CPU ${cpuS.toFixed(2)} s of ours (Skiff ${cpu.skiff.toFixed(2)}, app host ${cpu.host.toFixed(2)}, pod processes ${cpu.pods.toFixed(2)}), CPU 0 busy ${cpu0S.toFixed(2)} s\n`);
        await sleep(1000); // let the just-started apps finish their start-up allocations (and pids.json be written)
        if (n === 100) mem[mem.length - 1].at100 = memory(skiff);

        // The groups to wait for: recorded once all were Ready (the file is written with a short delay) and now.
        const groups = new Set(recordedGroups(skiff));
        if (groups.size < n) throw new Error(`pids.json lists ${groups.size} groups for ${n} pods`);
        // Delete, then wait until the pods are gone from the API and every pod process has exited.
        const d = await api.send('DELETE', `/apis/apps/v1/namespaces/${NS}/deployments/${name}?propagationPolicy=Background`);
        if (d.status !== 200 && d.status !== 202) throw new Error(`delete deployment: ${d.status} ${d.body}`);
        const t = performance.now();
        await waitFor(`pods of ${name} deleted`, async () => (await podCount(api, name)) === 0, 120_000);
        await waitFor(`pod processes of ${name} gone`, () => liveIn(groups) === 0, 60_000);
        process.stdout.write(`  deleted and every process gone after ${(performance.now() - t).toFixed(0)} ms\n`);
      }
    }

    const out: string[] = [];
    out.push(
      '',
      '| N | round | p50 to Ready (ms) | p99 to Ready (ms) | all N Ready (ms) | last lastTransitionTime − create (ms, 1 s resolution) | CPU of Skiff + pods + app host (s) | CPU 0 busy, all processes (s) |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const r of rounds) out.push(`| ${r.n} | ${r.round} | ${pct(r.lat, 50).toFixed(0)} | ${pct(r.lat, 99).toFixed(0)} | ${r.totalMs.toFixed(0)} | ${Number.isNaN(r.lttMs) ? '—' : r.lttMs.toFixed(0)} | ${r.cpuS.toFixed(2)} | ${r.cpu0S.toFixed(2)} |`);
    const mb = (kb: number): string => (kb / 1024).toFixed(1);
    out.push('', '| memory (RSS) | round | N=0 | N=100 | per pod |', '|---|---|---|---|---|');
    const perPod = (a: number, b: number): string => `${((b - a) / 1024 / 100).toFixed(2)} MB`;
    for (const m of mem) {
      if (!m.at100) continue;
      const [a, b] = [m.at0, m.at100];
      out.push(`| Skiff process | ${m.round} | ${mb(a.skiffKB)} MB | ${mb(b.skiffKB)} MB | ${perPod(a.skiffKB, b.skiffKB)} |`);
      out.push(`| pod processes (${b.groups} groups) | ${m.round} | ${mb(a.podsKB)} MB | ${mb(b.podsKB)} MB | ${perPod(a.podsKB, b.podsKB)} (Pss ${perPod(a.podsPssKB, b.podsPssKB)}) |`);
      out.push(`| app host process | ${m.round} | ${mb(a.hostKB)} MB | ${mb(b.hostKB)} MB | ${perPod(a.hostKB, b.hostKB)} |`);
      const all = (x: Memory): number => x.skiffKB + x.podsKB + x.hostKB;
      out.push(`| all of Skiff's processes | ${m.round} | ${mb(all(a))} MB | ${mb(all(b))} MB | ${perPod(all(a), all(b))} |`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    watch?.destroy();
    agent.destroy();
    api.close();
    await skiff.stop();
    skiff.cleanup();
  }
}

await main();
