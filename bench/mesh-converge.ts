/**
 * Config convergence (issue 4): after a VirtualService change, how long until every one of 50
 * sidecars in front of 50 services routes by the new rule (target: p99 ≤ 100 ms).
 *
 * `skiff up` (pinned to CPU 0; its pods inherit that) with a namespace labelled
 * istio-injection=enabled holding 50 Deployments × 1 replica of honester/hello-server and 50
 * Services: 50 sidecars, each seeing all 50 services. A VirtualService on svc-00 has a header
 * route (`x-bench: <marker>` → svc-01, else svc-00); every trial changes the marker with one
 * merge patch, which changes the route config of all 50 sidecars. Per sidecar, two clocks:
 *   applied   the time the sidecar's /config_dump gives as `lastUpdated` (its own clock, taken
 *             when the new snapshot is swapped in, ms resolution) for the first version that carries
 *             the marker, minus the time just before the API write;
 *   observed  the time a poll of its admin `/config_dump` (GET <podIP>:15000/config_dump, every
 *             sidecar polled back to back with a 5 ms pause) first shows the marker. Polling 50
 *             full config dumps costs the sidecars CPU on the same core, so these trials are run
 *             apart: the `applied` figures of unpolled trials carry no observer effect.
 * Finally one request with the new header through a sidecar checks that it really goes to svc-01
 * (each hello-server answers `Hello server - <its service>`, from env VERSION). CPU per change
 * (unpolled trials) is read from /proc for `skiff up` and every sidecar process; the same window
 * without a change (probes, timers) is measured too, so what a change adds is the difference.
 * BENCH_CONVERGE_PIN=0 runs nothing pinned; BENCH_SERVICES and BENCH_TRIALS change the sizes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { startSkiff, type SkiffProcess } from '../test/e2e/harness.ts';
import { rawClient, type RawClient } from '../test/e2e/api.ts';
import { cpuSeconds, median, pct, pinHigh, pinSelf, raisedPriority, sleep } from './util.ts';

const NS = 'bench-mesh';
const N = Number(process.env.BENCH_SERVICES ?? 50);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 5);
const name = (i: number): string => `svc-${String(i).padStart(2, '0')}`;

function httpGet(host: string, port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const r = request({ host, port, path, agent: false, headers }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    r.on('error', (e) => resolve({ status: 0, body: e.message }));
    r.setTimeout(5000, () => r.destroy(new Error('timeout')));
    r.end();
  });
}

async function must(api: RawClient, method: string, path: string, body?: unknown, type = 'application/json'): Promise<string> {
  const r = await api.send(method, path, body === undefined ? undefined : JSON.stringify(body), { 'Content-Type': type });
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${r.body}`);
  return r.body;
}

const virtualService = (marker: string): unknown => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: name(0) },
  spec: { hosts: [name(0)], http: httpRules(marker) },
});
const httpRules = (marker: string): unknown[] => [
  { name: 'bench-header', match: [{ headers: { 'x-bench': { exact: marker } } }], route: [{ destination: { host: name(1) } }] },
  { name: 'default', route: [{ destination: { host: name(0) } }] },
];

interface Sidecar {
  pod: string;
  ip: string;
  /** The `skiff proxy sidecar` process, for its CPU time. */
  pid?: number;
}

/** pid of every `skiff proxy sidecar` process by its SKIFF_POD_IP. */
function sidecarPids(): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('proxy\0sidecar')) continue;
      const ip = /(?:^|\0)SKIFF_POD_IP=([^\0]+)/.exec(readFileSync(`/proc/${d}/environ`, 'utf8'))?.[1];
      if (ip) out.set(ip, Number(d));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

/** The config version a sidecar's /config_dump shows, when it was applied (epoch ms), and whether it carries the marker. */
async function dump(sc: Sidecar, marker: string): Promise<{ version?: string; appliedAt?: number; has: boolean; bytes: number }> {
  const r = await httpGet(sc.ip, 15000, '/config_dump');
  if (r.status !== 200) return { has: false, bytes: 0 };
  const version = /"version":\s*"([^"]+)"/.exec(r.body)?.[1];
  const at = /"lastUpdated":\s*"([^"]+)"/.exec(r.body)?.[1];
  return { version, appliedAt: at ? Date.parse(at) : undefined, has: r.body.includes(`"${marker}"`), bytes: r.body.length };
}

/** Polls every sidecar's /config_dump until it shows `marker`; ms from `t0` (epoch) per sidecar. */
async function pollAll(sidecars: Sidecar[], marker: string, t0: number, timeoutMs: number): Promise<number[]> {
  const seen: number[] = [];
  await Promise.all(
    sidecars.map(async (sc) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if ((await dump(sc, marker)).has) return void seen.push(Date.now() - t0);
        await sleep(5);
      }
      seen.push(Infinity);
    }),
  );
  return seen.sort((a, b) => a - b);
}

async function waitFor(what: string, fn: () => Promise<boolean> | boolean, timeoutMs: number, stepMs = 500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(stepMs);
  }
}

/** CPU over an unpolled trial's window without any change: skiff up, and the mean sidecar. */
async function idleCpu(skiffPid: number, sidecars: Sidecar[]): Promise<{ cpCpu: number; sidecarCpu: number }> {
  const cpu = (): [number, number] => [cpuSeconds(skiffPid), sidecars.reduce((a, sc) => a + (sc.pid ? cpuSeconds(sc.pid) : 0), 0)];
  const c0 = cpu();
  await sleep(1510);
  const c1 = cpu();
  return { cpCpu: c1[0] - c0[0], sidecarCpu: (c1[1] - c0[1]) / sidecars.length };
}

/** One trial: patch the VirtualService to `marker`; ms from just before the write until each sidecar applied it. */
async function trial(api: RawClient, skiffPid: number, sidecars: Sidecar[], marker: string, poll: boolean): Promise<{ applied: number[]; observed?: number[]; writeMs: number; cpCpu: number; sidecarCpu: number }> {
  const cpu = (): [number, number] => [cpuSeconds(skiffPid), sidecars.reduce((a, sc) => a + (sc.pid ? cpuSeconds(sc.pid) : 0), 0)];
  const c0 = cpu();
  const t0 = Date.now();
  const w0 = performance.now();
  const write = must(api, 'PATCH', `/apis/networking.istio.io/v1/namespaces/${NS}/virtualservices/${name(0)}`, { spec: { http: httpRules(marker) } }, 'application/merge-patch+json').then(() => performance.now() - w0);
  const observed = poll ? await pollAll(sidecars, marker, t0, 10_000) : undefined;
  const writeMs = await write;
  if (!poll) await sleep(1500);
  const c1 = cpu();
  // Which version carries the marker, per sidecar (waits for stragglers), then when it was applied.
  const applied: number[] = [];
  for (const sc of sidecars) {
    let d = await dump(sc, marker);
    const deadline = Date.now() + 10_000;
    while (!d.has && Date.now() < deadline) {
      await sleep(100);
      d = await dump(sc, marker);
    }
    // The first version with the marker is the live one: no other change follows within a trial.
    const at = d.has ? d.appliedAt : undefined;
    applied.push(at === undefined ? Infinity : at - t0);
  }
  return { applied: applied.sort((a, b) => a - b), observed, writeMs, cpCpu: c1[0] - c0[0], sidecarCpu: (c1[1] - c0[1]) / sidecars.length };
}

const line = (xs: number[]): string => (xs.some((x) => !Number.isFinite(x)) ? `${xs.filter((x) => !Number.isFinite(x)).length} never converged; ` : '') + `first ${xs[0].toFixed(0)} ms, p50 ${pct(xs, 50).toFixed(0)} ms, p99 ${pct(xs, 99).toFixed(0)} ms, max ${xs[xs.length - 1].toFixed(0)} ms`;

/** Runs the convergence benchmark and prints its table. */
export async function converge(): Promise<void> {
  // BENCH_CONVERGE_PIN=0 lets skiff up and its pods use both cores (a laptop has more than one).
  const pinned = process.env.BENCH_CONVERGE_PIN !== '0';
  if (pinned) pinSelf(1);
  process.stdout.write(`\nConvergence: ${N} services, ${N} sidecars. ${pinned ? `CPU 0: skiff up and its pods${raisedPriority() ? ' (nice -10)' : ''}; CPU 1: this client` : 'nothing pinned'}\n`);
  let skiff: SkiffProcess | undefined;
  let api: RawClient | undefined;
  try {
    skiff = await startSkiff({ prefix: pinned ? pinHigh(0) : [] });
    api = rawClient(skiff.dataDir, skiff.apiPort);
    await must(api, 'POST', '/api/v1/namespaces', { metadata: { name: NS, labels: { 'istio-injection': 'enabled' } } });
    const t = performance.now();
    for (let i = 0; i < N; i++) {
      const app = name(i);
      await must(api, 'POST', `/api/v1/namespaces/${NS}/services`, { metadata: { name: app }, spec: { selector: { app }, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] } });
      await must(api, 'POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
        metadata: { name: app },
        spec: { replicas: 1, selector: { matchLabels: { app } }, template: { metadata: { labels: { app, version: 'v1' } }, spec: { containers: [{ name: 'hello', image: 'honester/hello-server', env: [{ name: 'VERSION', value: app }], ports: [{ containerPort: 8080 }] }] } } },
      });
    }
    let pods: Array<{ metadata: { name: string; uid: string }; status?: { podIP?: string; conditions?: Array<{ type: string; status: string }> } }> = [];
    const ready = (p: (typeof pods)[number]): boolean => !!p.status?.podIP && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    try {
      await waitFor(`${N} pods Ready`, async () => {
        pods = (JSON.parse(await must(api!, 'GET', `/api/v1/namespaces/${NS}/pods`)) as { items: typeof pods }).items;
        return pods.length === N && pods.every(ready);
      }, 600_000, 1000);
    } catch (e) {
      const stuck = pods.find((p) => !ready(p));
      throw new Error(`${(e as Error).message}: ${pods.filter(ready).length} of ${pods.length} Ready; first not Ready: ${JSON.stringify(stuck?.status ?? {}).slice(0, 1500)}`);
    }
    process.stdout.write(`${N} pods (app + sidecar) Ready after ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    const pids = sidecarPids();
    const sidecars: Sidecar[] = pods.map((p) => ({ pod: p.metadata.name, ip: p.status!.podIP!, pid: pids.get(p.status!.podIP!) }));

    // The rule exists and every sidecar has it (and knows all services) before the first timed change.
    await must(api, 'POST', `/apis/networking.istio.io/v1/namespaces/${NS}/virtualservices`, virtualService('skiff-bench-marker-0'));
    let bytes = 0;
    await waitFor('every sidecar has the initial rule and all services', async () => {
      const ds = await Promise.all(sidecars.map((sc) => httpGet(sc.ip, 15000, '/config_dump')));
      bytes = median(ds.map((d) => d.body.length));
      return ds.every((d) => d.status === 200 && d.body.includes('"skiff-bench-marker-0"') && d.body.includes(`${name(N - 1)}.${NS}.svc.cluster.local`));
    }, 60_000);
    process.stdout.write(`every sidecar has the rule; /config_dump is ${(bytes / 1024).toFixed(0)} KB per sidecar\n`);
    await sleep(2000);
    const idle = [await idleCpu(skiff.proc.pid!, sidecars), await idleCpu(skiff.proc.pid!, sidecars), await idleCpu(skiff.proc.pid!, sidecars)];
    const idleCp = median(idle.map((x) => x.cpCpu));
    const idleSc = median(idle.map((x) => x.sidecarCpu));
    process.stdout.write(`no change, same window (1.5 s): CPU skiff up ${(idleCp * 1000).toFixed(0)} ms, each sidecar ${(idleSc * 1000).toFixed(1)} ms\n`);

    const quiet: number[] = [];
    const pollApplied: number[] = [];
    const observed: number[] = [];
    const writes: number[] = [];
    const cpCpu: number[] = [];
    const scCpu: number[] = [];
    let k = 1;
    for (const poll of [false, true]) {
      for (let i = 0; i < TRIALS; i++, k++) {
        const r = await trial(api, skiff.proc.pid!, sidecars, `skiff-bench-marker-${k}`, poll);
        writes.push(r.writeMs);
        if (!poll) cpCpu.push(r.cpCpu), scCpu.push(r.sidecarCpu);
        (poll ? pollApplied : quiet).push(...r.applied);
        if (r.observed) observed.push(...r.observed);
        process.stdout.write(`trial ${k}${poll ? ' (polled)' : ''}: write ${r.writeMs.toFixed(1)} ms;${poll ? '' : ` CPU: skiff up ${(r.cpCpu * 1000).toFixed(0)} ms, each sidecar ${(r.sidecarCpu * 1000).toFixed(1)} ms;`} applied ${line(r.applied)}${r.observed ? `; observed ${line(r.observed)}` : ''}\n`);
        await sleep(1500);
      }
    }

    // The new rule is what routes: through the first sidecar, x-bench: <last marker> reaches svc-01.
    const last = `skiff-bench-marker-${k - 1}`;
    const viaRule = await httpGet(sidecars[0].ip, 15001, '/', { host: `${name(0)}:8080`, 'x-bench': last });
    const viaDefault = await httpGet(sidecars[0].ip, 15001, '/', { host: `${name(0)}:8080` });
    const who = (b: string): string => /svc-\d\d/.exec(b)?.[0] ?? b.slice(0, 60).replace(/\n/g, ' ');
    const sort = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
    const out = [
      '',
      `| ${N} sidecars, ${TRIALS} changes each | first | p50 | p99 | max | target p99 ≤ 100 ms |`,
      '|---|---|---|---|---|---|',
      ...([
        ['applied (sidecar clock), unpolled trials', sort(quiet)],
        ['applied (sidecar clock), polled trials', sort(pollApplied)],
        ['observed in /config_dump (polled every 5 ms)', sort(observed)],
      ] as Array<[string, number[]]>).map(([label, xs]) => `| ${label} | ${xs[0].toFixed(0)} ms | ${pct(xs, 50).toFixed(0)} ms | ${pct(xs, 99).toFixed(0)} ms | ${xs[xs.length - 1].toFixed(0)} ms | ${pct(xs, 99) <= 100 ? 'met' : 'missed'} |`),
      '',
      `API write (merge patch of the VirtualService) p50 ${pct(sort(writes), 50).toFixed(1)} ms; /config_dump ${(bytes / 1024).toFixed(0)} KB per sidecar; CPU per change (unpolled trials, median): skiff up (API + control plane) ${(median(cpCpu) * 1000).toFixed(0)} ms, each sidecar ${(median(scCpu) * 1000).toFixed(1)} ms (${sidecars.filter((sc) => sc.pid).length} sidecar processes found); the same window without a change: skiff up ${(idleCp * 1000).toFixed(0)} ms, each sidecar ${(idleSc * 1000).toFixed(1)} ms.`,
      `Check through sidecar ${sidecars[0].pod}: with x-bench the answer came from ${who(viaRule.body)} (${viaRule.status}), without from ${who(viaDefault.body)} (${viaDefault.status}).`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    api?.close();
    if (skiff) {
      await skiff.stop();
      skiff.cleanup();
    }
  }
}
