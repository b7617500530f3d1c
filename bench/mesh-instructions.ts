/**
 * `npm run bench -- mesh instructions`: user-space instructions per request of a server and a
 * client sidecar, counted by valgrind's callgrind. Unlike CPU time on a shared VM, the count does
 * not move with steal or with other guests: the same bundle repeats within ~0.1 %. It counts work,
 * not cache misses, so it says nothing of what cold caches add at 1,000 rps; use it to compare two
 * builds, and the data-plane bench for what they cost.
 *
 * Each sidecar runs under callgrind against nginx, warms up with WARM requests over keep-alive
 * connections (V8 optimizes the request path over its first ~10,000), then the counters are zeroed,
 * N requests run, and the counters are dumped: the total over N is the figure. It is counted with
 * four requests in flight (the sidecar batches its writes to the check phase, as under load) and
 * with one at a time (it writes as each read returns, as at 1,000 rps, where a probe for batching
 * every 256 reads is the only check-phase work).
 *
 * Each sidecar is counted RUNS times, each time a fresh process, and the least count is the figure:
 * under valgrind V8's compiler thread is serialized with the main thread, so in some runs a hot
 * function is still baseline code, or inlined differently, when the counters start (5–10 % more,
 * seen about one run in five). Work removed shows in every run; the spread is reported beside it.
 * Knobs: BENCH_CG_WARM (12,000), BENCH_CG_REQUESTS (3,000), BENCH_CG_RUNS (2), BENCH_CG_CONNS
 * (`4,1`: the requests in flight of each column). Needs
 * `apt-get install -y valgrind nginx`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProxyConfig } from '../src/mesh/proxy/model.ts';
import { clientSidecarConfig, FQDN, serverSidecarConfig, startBackend, startSidecar } from './mesh-paths.ts';
import { freePort, have, Procs, randomNet, sleep } from './util.ts';

const WARM = Number(process.env.BENCH_CG_WARM ?? 12_000);
const N = Number(process.env.BENCH_CG_REQUESTS ?? 3_000);
const RUNS = Math.max(1, Number(process.env.BENCH_CG_RUNS ?? 2));
const CONNS = (process.env.BENCH_CG_CONNS ?? '4,1').split(',').map(Number).filter((n) => n > 0);

/** `n` GETs over `conns` keep-alive connections of the agent, each waiting for its answer; throws on anything but 200. */
async function requests(agent: http.Agent, conns: number, host: string, port: number, authority: string, n: number): Promise<void> {
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const r = http.request({ host, port, path: '/', agent, headers: { host: authority, 'user-agent': 'skiff-bench' } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`GET / answered ${res.statusCode}`))));
      });
      r.on('error', reject);
      r.end();
    });
  let left = n;
  await Promise.all(Array.from({ length: conns }, async () => {
    while (left-- > 0) await one();
  }));
}

/** Instructions per request of one sidecar (see the file comment). */
async function count(procs: Procs, dir: string, label: string, config: ProxyConfig, listenPort: number, authority: string, conns: number): Promise<number> {
  const out = join(dir, `${label}.cg`);
  const p = await startSidecar(procs, dir, label, config, { wrap: ['valgrind', '--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}`], readyMs: 180_000 });
  const pid = String(p.pids[0]);
  // The same connections warm up and are measured. With four new ones for the measured requests
  // the server sidecar counted 93,767 instructions a request against 66,856: their setup, and
  // whatever V8 recompiles after meeting them (not looked into further).
  const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
  try {
    await requests(agent, conns, config.node.podIP, listenPort, authority, WARM);
    execFileSync('callgrind_control', ['-z', pid], { stdio: 'ignore' });
    await requests(agent, conns, config.node.podIP, listenPort, authority, N);
    execFileSync('callgrind_control', ['-d', pid], { stdio: 'ignore' });
  } finally {
    agent.destroy();
  }
  // The dump after the zeroing is `<out>.1`; its totals line is the count once it is written whole.
  for (let i = 0; i < 100; i++) {
    const dump = readdirSync(dir).find((f) => f.startsWith(`${label}.cg.`));
    const m = dump && /\n(?:summary|totals): (\d+)/.exec(readFileSync(join(dir, dump), 'utf8'));
    if (m) return Number(m[1]) / N;
    await sleep(100);
  }
  throw new Error(`no callgrind dump for ${label} in ${dir}`);
}

export async function instructions(): Promise<void> {
  for (const tool of ['valgrind', 'callgrind_control', 'nginx']) {
    if (!have(tool)) throw new Error(`${tool} is not installed: apt-get install -y valgrind nginx`);
  }
  const procs = new Procs();
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-cg-'));
  const net = randomNet();
  try {
    const app = `${net}10`;
    const port = await freePort(app);
    await startBackend(procs, join(dir, 'backend'), app, port, 'nginx');
    const authority = `${FQDN}:${port}`;
    const server: number[][] = CONNS.map(() => []);
    const client: number[][] = CONNS.map(() => []);
    let at = 11;
    for (const [c, conns] of CONNS.entries()) {
      for (let r = 0; r < RUNS; r++) {
        // Each run's sidecars get addresses of their own: the earlier ones run until the end.
        const ip = (k: number): string => `${net}${at + k}`;
        at += 3;
        server[c].push(await count(procs, dir, `server${c}-${r}`, serverSidecarConfig(ip(0), app, port), port, authority, conns));
        // The client sidecar's upstream is nginx itself here: its own work, without a server sidecar behind it.
        client[c].push(await count(procs, dir, `client${c}-${r}`, clientSidecarConfig(ip(1), ip(2), { podIP: app, port }), 15001, authority, conns));
      }
    }
    const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
    const cell = (runs: number[]): string => `${fmt(Math.min(...runs))}${runs.length > 1 ? ` (runs: ${runs.map(fmt).join(', ')})` : ''}`;
    const heads = CONNS.map((n) => (n === 1 ? 'one request at a time' : `${n} requests in flight`));
    process.stdout.write(`\nInstructions per request (callgrind, ${N.toLocaleString('en-US')} requests after ${WARM.toLocaleString('en-US')}; least of ${RUNS} runs):\n\n`);
    process.stdout.write(`| sidecar | ${heads.join(' | ')} |\n|---|${heads.map(() => '---|').join('')}\n`);
    process.stdout.write(`| server | ${server.map(cell).join(' | ')} |\n| client | ${client.map(cell).join(' | ')} |\n`);
  } finally {
    await procs.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}
