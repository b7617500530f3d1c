/**
 * API benchmark: creates per second (16 concurrent clients, each create durable before its 2xx),
 * listing 5,000 pods, watch delivery to 100 watchers, idle memory and warm start. The same load runs
 * against a bare Node HTTPS server that answers 201 with a similar body, as the ceiling of what the
 * transport allows on this machine; results are reported with that ratio.
 *
 * Run: npm run bench -- api   (never part of the test run)
 *
 * As shared/reference/performance.md suggests for this 2-core machine, Skiff runs pinned to CPU 0 and
 * this load generator to CPU 1 (when taskset exists), so each side has one core.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpsRequest, Agent } from 'node:https';
import { startSkiff } from '../test/e2e/harness.ts';
import { rawClient } from '../test/e2e/api.ts';
import { pin, pinSelf, summary } from './util.ts';

async function createLoad(send: (i: number) => Promise<number>, total: number, concurrency: number): Promise<{ rate: number; lat: number[] }> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        const s = performance.now();
        const status = await send(i);
        if (status !== 201) throw new Error(`create ${i} got ${status}`);
        lat.push(performance.now() - s);
      }
    }),
  );
  return { rate: (total / (performance.now() - t0)) * 1000, lat };
}

/** A bare HTTPS server answering 201 with the request body, printing its port. */
function bareServerSource(dataDir: string): string {
  return `import { createServer } from 'node:https'; import { readFileSync } from 'node:fs';
const s = createServer({ key: readFileSync(${JSON.stringify(join(dataDir, 'ca.key'))}), cert: readFileSync(${JSON.stringify(join(dataDir, 'ca.crt'))}) }, (req, res) => {
  const chunks = []; req.on('data', (c) => chunks.push(c)); req.on('end', () => { res.writeHead(201, { 'Content-Type': 'application/json' }); res.end(Buffer.concat(chunks)); });
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
}

// Bound to a node that is not this one, so neither the scheduler nor the node agent acts on them: the
// benchmark measures the API and the store (bench/pods.ts measures pods that run).
const podBody = (name: string): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'bench' } }, spec: { nodeName: 'bench-elsewhere', containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }] } });

async function main(): Promise<void> {
  pinSelf(1);
  const out: string[] = [];
  const log = (s: string): void => {
    out.push(s);
    process.stdout.write(`${s}\n`);
  };

  // Warm start: a first start creates the data dir; the second start on it is the warm one.
  const first = await startSkiff({ prefix: pin(0) });
  await first.stop();
  const t0 = performance.now();
  const skiff = await startSkiff({ dataDir: first.dataDir, prefix: pin(0) });
  const warmMs = performance.now() - t0;
  log(`warm skiff up until the API answers: ${warmMs.toFixed(0)} ms (includes node + tsx start)`);

  const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${skiff.proc.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  await new Promise((r) => setTimeout(r, 2000));
  log(`idle memory: ${rss().toFixed(0)} MB RSS`);

  const api = rawClient(skiff.dataDir, skiff.apiPort);
  const nsCreated = await api.send('POST', '/api/v1/namespaces', JSON.stringify({ metadata: { name: 'bench' } }));
  const fromRv = (JSON.parse(nsCreated.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;

  // Watch delivery: 100 watchers on configmaps; measure commit-ack to event arrival.
  const ca = readFileSync(join(skiff.dataDir, 'ca.crt'), 'utf8');
  const token = readFileSync(join(skiff.dataDir, 'token'), 'utf8').trim();
  const watchAgent = new Agent({ ca, keepAlive: true, maxSockets: 200 });
  const arrivals = new Map<string, number[]>();
  const watchers = await Promise.all(
    Array.from({ length: 100 }, () =>
      new Promise<import('node:http').ClientRequest>((resolve) => {
        const req = httpsRequest({ host: '127.0.0.1', port: skiff.apiPort, path: `/api/v1/namespaces/bench/configmaps?watch=true&resourceVersion=${fromRv}`, agent: watchAgent, headers: { Authorization: `Bearer ${token}` } }, (res) => {
          let buf = '';
          res.on('data', (c) => {
            buf += c;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              const name = /"name":"(w[^"]+)"/.exec(line)?.[1];
              if (name) {
                let l = arrivals.get(name);
                if (!l) arrivals.set(name, (l = []));
                l.push(performance.now());
              }
            }
          });
          resolve(req);
        });
        req.end();
      }),
    ),
  );
  await new Promise((r) => setTimeout(r, 500));
  const deliveries: number[] = [];
  for (let i = 0; i < 200; i++) {
    const name = `w${i}`;
    const s = performance.now();
    await api.send('POST', '/api/v1/namespaces/bench/configmaps', JSON.stringify({ metadata: { name } }));
    const acked = performance.now();
    await new Promise((r) => setTimeout(r, 5));
    for (const t of arrivals.get(name) ?? []) deliveries.push(t - Math.min(acked, s + (acked - s) / 2));
  }
  await new Promise((r) => setTimeout(r, 500));
  const complete = [...arrivals.values()].filter((l) => l.length === 100).length;
  log(`watch delivery to 100 watchers (from the request's midpoint): ${summary(deliveries)}; ${complete}/200 events reached all 100 watchers`);
  for (const w of watchers) w.destroy();
  watchAgent.destroy();

  // Creates: 16 clients, ConfigMaps (small) and Pods (defaulted and validated, ~1 KB stored).
  const cmBody = (i: number): string => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm${i}`, labels: { app: 'bench' } }, data: { key: 'x'.repeat(200) } });
  const creates = await createLoad(async (i) => (await api.send('POST', '/api/v1/namespaces/bench/configmaps', cmBody(i))).status, 5000, 16);
  log(`creates (ConfigMaps): ${creates.rate.toFixed(0)}/s with 16 clients; ${summary(creates.lat)}`);
  const podCreates = await createLoad(async (i) => (await api.send('POST', '/api/v1/namespaces/bench/pods', podBody(`p${i}`))).status, 5000, 16);
  log(`creates (Pods): ${podCreates.rate.toFixed(0)}/s with 16 clients; ${summary(podCreates.lat)}`);

  // Lists of the 5,000 pods.
  const listLat: number[] = [];
  for (let i = 0; i < 40; i++) {
    const s = performance.now();
    const r = await api.send('GET', '/api/v1/namespaces/bench/pods');
    if (r.status !== 200) throw new Error(`list got ${r.status}`);
    listLat.push(performance.now() - s);
  }
  log(`list 5,000 pods (JSON, ${(Buffer.byteLength((await api.send('GET', '/api/v1/namespaces/bench/pods')).body) / 1e6).toFixed(1)} MB): ${summary(listLat)}`);
  const tableLat: number[] = [];
  for (let i = 0; i < 20; i++) {
    const s = performance.now();
    await api.send('GET', '/api/v1/namespaces/bench/pods?limit=500', undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    tableLat.push(performance.now() - s);
  }
  log(`kubectl get pods page (Table, limit=500): ${summary(tableLat)}`);
  log(`memory with 5,000 pods: ${rss().toFixed(0)} MB RSS`);
  api.close();
  await skiff.stop();

  // The ceiling server runs in its own process on CPU 0, as Skiff did.
  const [bareCmd, ...bareArgs] = [...pin(0), process.execPath, '--input-type=module', '-e', bareServerSource(first.dataDir)];
  const bareProc = spawn(bareCmd, bareArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => bareProc.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
  const bareAgent = new Agent({ keepAlive: true, maxSockets: 32, rejectUnauthorized: false });
  const bareSend = (i: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: bareAgent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(podBody(`p${i}`));
    });
  const ceiling = await createLoad(bareSend, 5000, 16);
  log(`bare Node HTTPS echo (ceiling): ${ceiling.rate.toFixed(0)}/s; ${summary(ceiling.lat)}`);
  log(`ratio: Skiff creates / bare HTTPS = ${(creates.rate / ceiling.rate).toFixed(2)}`);
  bareAgent.destroy();
  bareProc.kill();
  skiff.cleanup();
  first.cleanup();
}

await main();
