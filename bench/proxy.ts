/**
 * Service proxy benchmark, all paths in one run on loopback with keep-alive, sharing one backend
 * (a tiny Node HTTP server answering 200 "ok" on a pod-like address in 127.42.0.0/16):
 *   direct   wrk → backend
 *   skiff    wrk → a selector-less Service's clusterIP:port (Endpoints created by hand) → backend
 *   haproxy  wrk → HAProxy (mode tcp, round robin, one server, nbthread 1, no logging) → backend
 * Load points: `wrk -t1 -c1 -d5s --latency` (added latency) and `wrk -t1 -c16 -d5s` (max rps), in
 * interleaved rounds. Backend and proxies are pinned to CPU 0, wrk to CPU 1
 * (shared/reference/performance.md §2.2). Skiff's proxy runs inside `skiff up`, so its CPU figure is
 * the whole Skiff process (API server and controllers idle meanwhile).
 *
 * Run: npm run bench -- proxy   (never part of the test run; needs wrk, and haproxy for (c))
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSkiff, type SkiffProcess } from '../test/e2e/harness.ts';
import { rawClient } from '../test/e2e/api.ts';
import { cpuBusySeconds, cpuSeconds, firstLine, freePort, have, median, pinHigh, pinSelf, raisedPriority, Procs, rssKB, sleep } from './util.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = 5;
const BACKEND_HOST = '127.42.250.1';

interface Path {
  name: string;
  host: string;
  port: number;
  /** Processes whose CPU counts as this path's proxy. */
  pid?: number;
}

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Proxy CPU µs per request (whole process), backend CPU µs per request, foreign CPU0 busy seconds. */
  proxyUs?: number;
  backendUs: number;
  foreign: number;
}

const backendSource = `import { createServer } from 'node:http';
const s = createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '2' }); res.end('ok'); });
s.keepAliveTimeout = 60000;
s.listen(0, ${JSON.stringify(BACKEND_HOST)}, () => console.log(s.address().port));`;

/** Microseconds from wrk's "61.00us" / "1.20ms" / "1.00s". */
function us(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v);
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 1 : m[2] === 'ms' ? 1000 : 1e6);
}

function wrk(args: string[]): Promise<string> {
  const [cmd, ...rest] = [...pinHigh(1), 'wrk', ...args];
  return new Promise((resolve, reject) => execFile(cmd, rest, { timeout: 60_000 }, (e, out) => (e ? reject(e) : resolve(out))));
}

function get(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = request({ host, port, path: '/', agent: false }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve(`${res.statusCode} ${b}`));
    });
    r.on('error', reject);
    r.setTimeout(2000, () => r.destroy(new Error('timeout')));
    r.end();
  });
}

async function load(path: Path, conns: number, backendPid: number): Promise<WrkResult> {
  const url = `http://${path.host}:${path.port}/`;
  await wrk(['-t1', `-c${conns}`, '-d1s', url]); // warm-up
  const p0 = path.pid ? cpuSeconds(path.pid) : 0;
  const b0 = cpuSeconds(backendPid);
  const c0 = cpuBusySeconds(0);
  const out = await wrk(['-t1', `-c${conns}`, `-d${SECONDS}s`, '--latency', url]);
  const p1 = path.pid ? cpuSeconds(path.pid) : 0;
  const b1 = cpuSeconds(backendPid);
  const c1 = cpuBusySeconds(0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const total = Number(/(\d+) requests in/.exec(out)?.[1]);
  const p50 = us(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = us(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  if (!rps) throw new Error(`could not parse wrk output:\n${out}`);
  return {
    rps,
    p50,
    p99,
    errors,
    proxyUs: path.pid ? ((p1 - p0) / total) * 1e6 : undefined,
    backendUs: ((b1 - b0) / total) * 1e6,
    foreign: c1 - c0 - (p1 - p0) - (b1 - b0),
  };
}

async function main(): Promise<void> {
  if (!have('wrk')) {
    process.stdout.write('wrk is not installed (apt-get install -y wrk): skipping the proxy benchmark\n');
    return;
  }
  pinSelf(1);
  process.stdout.write(`CPU 0: processes under test${raisedPriority() ? ' (nice -10)' : ''}; CPU 1: load generator${raisedPriority() ? ' (nice -10)' : ''}\n`);
  const procs = new Procs();
  let skiff: SkiffProcess | undefined;
  const tmp = mkdtempSync(join(tmpdir(), 'skiff-bench-proxy-'));
  try {
    // The backend: one Node process on CPU 0, on a pod-like address.
    const backend = procs.start([...pinHigh(0), process.execPath, '--input-type=module', '-e', backendSource]);
    const backendPort = Number(await firstLine(backend));
    if ((await get(BACKEND_HOST, backendPort)) !== '200 ok') throw new Error('backend does not answer');
    const paths: Path[] = [{ name: 'direct', host: BACKEND_HOST, port: backendPort }];

    // Skiff: a Service without selector plus Endpoints of the same name pointing at the backend.
    skiff = await startSkiff({ prefix: pinHigh(0) });
    const api = rawClient(skiff.dataDir, skiff.apiPort);
    const svcPort = await freePort();
    const svc = await api.send('POST', '/api/v1/namespaces/default/services', JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'bench-backend' }, spec: { ports: [{ port: svcPort, targetPort: backendPort, protocol: 'TCP' }] } }));
    if (svc.status !== 201) throw new Error(`service: ${svc.status} ${svc.body}`);
    const clusterIP = (JSON.parse(svc.body) as { spec: { clusterIP: string } }).spec.clusterIP;
    const ep = await api.send('POST', '/api/v1/namespaces/default/endpoints', JSON.stringify({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'bench-backend' }, subsets: [{ addresses: [{ ip: BACKEND_HOST }], ports: [{ port: backendPort, protocol: 'TCP' }] }] }));
    if (ep.status !== 201) throw new Error(`endpoints: ${ep.status} ${ep.body}`);
    api.close();
    const deadline = Date.now() + 15_000;
    for (;;) {
      const r = await get(clusterIP, svcPort).catch((e: Error) => e.message);
      if (r === '200 ok') break;
      if (Date.now() > deadline) throw new Error(`service ${clusterIP}:${svcPort} never answered: ${r}`);
      await sleep(100);
    }
    paths.push({ name: 'skiff', host: clusterIP, port: svcPort, pid: skiff.proc.pid });

    // HAProxy, equivalently configured.
    if (have('haproxy')) {
      const hport = await freePort();
      const cfg = join(tmp, 'haproxy.cfg');
      writeFileSync(
        cfg,
        `global
  nbthread 1
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe
  bind 127.0.0.1:${hport}
  default_backend be
backend be
  balance roundrobin
  server app ${BACKEND_HOST}:${backendPort}
`,
      );
      const h = procs.start([...pinHigh(0), 'haproxy', '-db', '-f', cfg]);
      const deadline2 = Date.now() + 10_000;
      for (;;) {
        const r = await get('127.0.0.1', hport).catch((e: Error) => e.message);
        if (r === '200 ok') break;
        if (Date.now() > deadline2) throw new Error(`haproxy never answered: ${r}`);
        await sleep(100);
      }
      paths.push({ name: 'haproxy', host: '127.0.0.1', port: hport, pid: h.pid });
    } else {
      process.stdout.write('haproxy is not installed (apt-get install -y haproxy): skipping path (c)\n');
    }

    const rssIdle = new Map(paths.filter((p) => p.pid).map((p) => [p.name, rssKB(p.pid!)]));
    const results = new Map<string, WrkResult[]>();
    for (let round = 1; round <= ROUNDS; round++) {
      for (const conns of [1, 16]) {
        for (const p of paths) {
          const r = await load(p, conns, backend.pid!);
          const key = `${p.name} c${conns}`;
          if (!results.has(key)) results.set(key, []);
          results.get(key)!.push(r);
          process.stdout.write(`round ${round} ${key}: ${r.rps.toFixed(0)} rps, p50 ${r.p50.toFixed(0)} µs, p99 ${r.p99.toFixed(0)} µs, errors ${r.errors}, foreign CPU0 ${r.foreign.toFixed(2)} s\n`);
        }
      }
    }

    const med = (key: string, f: (r: WrkResult) => number | undefined): number => median(results.get(key)!.map((r) => f(r) ?? NaN));
    const range = (key: string): string => {
      const v = results.get(key)!.map((r) => r.rps);
      return `${Math.min(...v).toFixed(0)}–${Math.max(...v).toFixed(0)}`;
    };
    const fmt = (n: number): string => (Number.isNaN(n) ? '—' : Math.round(n).toLocaleString('en-US'));
    const out: string[] = [''];
    for (const conns of [1, 16]) {
      const d = `direct c${conns}`;
      out.push(
        `wrk -t1 -c${conns} -d${SECONDS}s, medians of ${ROUNDS} interleaved rounds (µs):`,
        '',
        '| path | rps | rps range | p50 | added p50 | p99 | errors | proxy CPU µs/req | backend CPU µs/req |',
        '|---|---|---|---|---|---|---|---|---|',
      );
      for (const p of paths) {
        const k = `${p.name} c${conns}`;
        const added = p.name === 'direct' ? '—' : `+${fmt(med(k, (r) => r.p50) - med(d, (r) => r.p50))}`;
        const errs = results.get(k)!.reduce((a, r) => a + r.errors, 0);
        out.push(`| ${p.name} | ${fmt(med(k, (r) => r.rps))} | ${range(k)} | ${fmt(med(k, (r) => r.p50))} | ${added} | ${fmt(med(k, (r) => r.p99))} | ${errs} | ${p.pid ? med(k, (r) => r.proxyUs).toFixed(1) : '—'} | ${med(k, (r) => r.backendUs).toFixed(1)} |`);
      }
      out.push('');
    }
    const ratio = (a: string, b: string, f: (r: WrkResult) => number): string => (results.has(a) && results.has(b) ? (med(a, f) / med(b, f)).toFixed(2) : '—');
    out.push('| ratio | rps c1 | p50 c1 | p99 c1 | rps c16 | p50 c16 | proxy CPU/req c16 |', '|---|---|---|---|---|---|---|');
    out.push(`| Skiff / direct | ${ratio('skiff c1', 'direct c1', (r) => r.rps)} | ${ratio('skiff c1', 'direct c1', (r) => r.p50)} | ${ratio('skiff c1', 'direct c1', (r) => r.p99)} | ${ratio('skiff c16', 'direct c16', (r) => r.rps)} | ${ratio('skiff c16', 'direct c16', (r) => r.p50)} | — |`);
    out.push(`| Skiff / HAProxy | ${ratio('skiff c1', 'haproxy c1', (r) => r.rps)} | ${ratio('skiff c1', 'haproxy c1', (r) => r.p50)} | ${ratio('skiff c1', 'haproxy c1', (r) => r.p99)} | ${ratio('skiff c16', 'haproxy c16', (r) => r.rps)} | ${ratio('skiff c16', 'haproxy c16', (r) => r.p50)} | ${ratio('skiff c16', 'haproxy c16', (r) => r.proxyUs ?? NaN)} |`);
    out.push('', `CPU 0 busy time not used by the backend or the proxy, per ${SECONDS} s run (median, c16): ${paths.map((p) => `${p.name} ${med(`${p.name} c16`, (r) => r.foreign).toFixed(2)} s`).join('; ')}`);
    out.push(`RSS idle → after load: ${paths.filter((p) => p.pid).map((p) => `${p.name} ${(rssIdle.get(p.name)! / 1024).toFixed(0)} → ${(rssKB(p.pid!) / 1024).toFixed(0)} MB`).join('; ')}; backend ${(rssKB(backend.pid!) / 1024).toFixed(0)} MB`);
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    if (skiff) {
      await skiff.stop();
      skiff.cleanup();
    }
    await procs.stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
