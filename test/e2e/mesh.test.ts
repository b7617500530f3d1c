// The service mesh as the course uses it (issue 4's acceptance): bookinfo behind the ingress gateway,
// request routing, fault injection, circuit breaking and outlier detection, with the course's own
// YAML (shared/fixtures/course/istio) in namespace user11 labelled for injection, through the real
// kubectl and curl.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, hasShared, root, run, sharedDir, sharedMissing, startSkiff, type SkiffProcess } from './harness.ts';

const istio = join(sharedDir, 'fixtures', 'course', 'istio');
const bookinfo = join(istio, 'bookinfo');
const HOST = 'bookinfo.user11.127.0.0.1.nip.io';
let skiff: SkiffProcess | undefined;
let dir: string;
const k = (...args: string[]) => skiff!.kubectl(['-n', 'user11', ...args], { timeoutMs: 120_000 });

/** The course file with its example host (another trainee's nip.io name) replaced by ours, as the course tells trainees to. */
function courseFile(rel: string, edit: (s: string) => string = (s) => s): string {
  const out = join(dir, rel.replace(/\//g, '_'));
  writeFileSync(out, edit(readFileSync(join(istio, rel), 'utf8')).replace(/bookinfo\.user0\d\.cloud\.[0-9.]+\.nip\.io/g, HOST));
  return out;
}

async function apply(rel: string, edit?: (s: string) => string): Promise<void> {
  const r = await k('apply', '-f', courseFile(rel, edit));
  assert.equal(r.code, 0, r.stderr);
}

/** Waits until every pod of the namespace shows READY n/n with n = want and STATUS Running. */
async function allReady(ns: string, want: number): Promise<string> {
  let last = '';
  const ok = await eventually(async () => {
    const r = await skiff!.kubectl(['-n', ns, 'get', 'pods', '--no-headers']);
    last = r.stdout;
    const rows = r.stdout.trim().split('\n').filter(Boolean);
    return rows.length > 0 && rows.every((l) => new RegExp(`^\\S+\\s+${want}/${want}\\s+Running\\s`).test(l));
  }, 90_000, 250);
  if (!ok) assert.fail(`pods of ${ns} not all ${want}/${want} Running:\n${last}${await whyNotReady(ns, last)}`);
  return last;
}

/** For pods of a `get pods` listing that are not Running: their containers' states and the end of their sidecar's log. */
async function whyNotReady(ns: string, listing: string): Promise<string> {
  let out = '';
  for (const line of listing.trim().split('\n')) {
    const [name, , status] = line.split(/\s+/);
    if (!name || status === 'Running') continue;
    const states = await skiff!.kubectl(['-n', ns, 'get', 'pod', name, '-o', 'jsonpath={range .status.initContainerStatuses[*]}{.name} {.restartCount} {.state} {.lastState}{"\\n"}{end}']);
    const log = await skiff!.kubectl(['-n', ns, 'logs', name, '-c', 'istio-proxy', '--tail', '30']);
    out += `\n${name}:\n${states.stdout}${log.stdout}${log.stderr}`;
  }
  return out;
}

/** Runs a shell loop in the injected curl pod: `n` calls of curl with the given args, one answer per line. */
async function curlLoop(n: number, args: string): Promise<string[]> {
  const r = await k('exec', 'curltest', '-c', 'curltest', '--', 'sh', '-c', `for i in $(seq ${n}); do curl -s ${args}; echo; done`);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

/** The reviews version that answered a `/reviews/0` call (its pod name). */
function reviewsVersion(body: string): string {
  return /"podname"\s*:\s*"reviews-(v\d)-/.exec(body)?.[1] ?? `?${body.slice(0, 80)}`;
}

/** curl to the ingress port with the bookinfo Host header (and a cookie jar). */
function ingress(path: string, extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return run('curl', ['-s', '-H', `Host: ${HOST}`, '-b', join(dir, 'jar'), '-c', join(dir, 'jar'), ...extra, `http://127.0.0.1:${skiff!.ingressPort}${path}`], { timeoutMs: 30_000 });
}

/** Spans the proxies reported to this test's Zipkin-style collector. */
const spans: Array<Record<string, any>> = [];
const collector = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    try {
      if (req.url === '/api/v2/spans') spans.push(...(JSON.parse(body) as Array<Record<string, any>>));
    } catch {
      // A malformed report is the proxy's bug; the assertions below will show it.
    }
    res.writeHead(202).end();
  });
});

before(async () => {
  if (!hasShared) return;
  dir = mkdtempSync(join(tmpdir(), 'skiff-mesh-'));
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  skiff = await startSkiff({ extraArgs: ['--tracing-url', url, '--tracing-sampling', '100'] });
  assert.equal((await skiff.kubectl(['create', 'namespace', 'user11'])).code, 0);
  assert.equal((await skiff.kubectl(['label', 'namespace', 'user11', 'istio-injection=enabled'])).code, 0);
});
after(async () => {
  collector.close();
  await skiff?.stop();
  skiff?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('bookinfo behind the ingress gateway', () => {
  test('every bookinfo pod is 2/2 and /productpage answers through Ingress → istio-ingressgateway → Gateway/VirtualService', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    await apply('bookinfo/11.bookinfo.yaml');
    let r = await k('run', 'curltest', '--image=curlimages/curl', '--', 'sleep', '365d');
    assert.equal(r.code, 0, r.stderr);
    const pods = await allReady('user11', 2);
    for (const app of ['details-v1', 'ratings-v1', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'productpage-v1', 'curltest']) assert.match(pods, new RegExp(`^${app}\\S*\\s+2/2\\s+Running`, 'm'));
    r = await k('get', 'pod', '-l', 'app=productpage', '-o', 'jsonpath={.items[0].spec.initContainers[0].name}');
    assert.equal(r.stdout, 'istio-proxy');
    await allReady('istio-ingress', 1);
    await apply('bookinfo/12.bookinfo-gw-vs.yaml');
    const ing = await skiff!.kubectl(['apply', '-f', courseFile('bookinfo/15.bookinfo-ingress.yaml')]);
    assert.equal(ing.code, 0, ing.stderr);
    const page = await eventually(async () => {
      const res = await ingress('/productpage');
      return res.stdout.includes('<title>Simple Bookstore App</title>') ? res.stdout : '';
    }, 20_000, 200);
    assert.match(page, /<title>Simple Bookstore App<\/title>/);
    // The gateway answers as Istio's does.
    const head = await ingress('/productpage', ['-D', '-', '-o', '/dev/null']);
    assert.match(head.stdout, /^server: istio-envoy\r?$/im);
    assert.match(head.stdout, /^x-envoy-upstream-service-time: \d+\r?$/im);
    const nr = await ingress('/nosuchpath', ['-o', '/dev/null', '-w', '%{http_code}']);
    assert.equal(nr.stdout, '404');
  });
});

describe('request routing from an injected curl pod', () => {
  test('13 + 21: every reviews call goes to v1', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    await apply('bookinfo/13.destination-rule-all.yaml');
    await apply('bookinfo/21.virtual-service-all-v1.yaml');
    const seen = await eventually(async () => {
      const v = (await curlLoop(10, 'reviews:9080/reviews/0')).map(reviewsVersion);
      return v.every((x) => x === 'v1') ? v : undefined;
    }, 10_000, 200);
    assert.ok(seen, 'reviews not all v1 after the VirtualService');
  });

  test('22: v1 and v3 share the calls near 50/50', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    await apply('bookinfo/22.virtual-service-reviews-50-v3.yaml');
    const counts = await eventually(async () => {
      const v = (await curlLoop(100, 'reviews:9080/reviews/0')).map(reviewsVersion);
      const c = { v1: v.filter((x) => x === 'v1').length, v3: v.filter((x) => x === 'v3').length, other: v.filter((x) => x !== 'v1' && x !== 'v3').length };
      return c.v3 > 0 ? c : undefined;
    }, 10_000, 200);
    assert.ok(counts, 'no v3 answer after the 50/50 VirtualService');
    assert.equal(counts.other, 0);
    // 100 fair coin flips: outside 25..75 happens with probability ~1e-6.
    assert.ok(counts.v1 >= 25 && counts.v3 >= 25, `split ${JSON.stringify(counts)}`);
  });

  test('23: every call goes to v3', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    await apply('bookinfo/23.virtual-service-reviews-v3.yaml');
    const ok = await eventually(async () => (await curlLoop(10, 'reviews:9080/reviews/0')).map(reviewsVersion).every((x) => x === 'v3'), 10_000, 200);
    assert.ok(ok);
  });

  test('24: end-user jason gets v2, anyone else v1; jason logged in through productpage sees black stars', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    await apply('bookinfo/24.virtual-service-reviews-test-v2.yaml');
    const ok = await eventually(async () => {
      const jason = (await curlLoop(5, '-H "end-user: jason" reviews:9080/reviews/0')).map(reviewsVersion);
      const other = (await curlLoop(5, '-H "end-user: mary" reviews:9080/reviews/0')).map(reviewsVersion);
      return jason.every((x) => x === 'v2') && other.every((x) => x === 'v1');
    }, 10_000, 200);
    assert.ok(ok, 'jason → v2, others → v1');
    const login = await ingress('/login', ['-d', 'username=jason&passwd=jason', '-o', '/dev/null', '-w', '%{http_code}']);
    assert.match(login.stdout, /^(200|302)$/);
    const page = await ingress('/productpage');
    assert.match(page.stdout, /<font color="black">/);
    assert.doesNotMatch(page.stdout, /<font color="red">/);
  });
});

describe('fault injection for jason logged in through productpage', () => {
  test('25: ratings delayed 7 s: productpage answers with its reviews-unavailable message', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    await apply('bookinfo/25.virtual-service-ratings-test-delay.yaml');
    const page = await eventually(async () => {
      const p = await ingress('/productpage');
      return p.stdout.includes('Sorry, product reviews are currently unavailable for this book.') ? p.stdout : '';
    }, 30_000, 100);
    assert.match(page, /Sorry, product reviews are currently unavailable for this book\./);
  });

  test('26: ratings aborted for jason: productpage says ratings is unavailable; ratings answers `fault filter abort`', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    await apply('bookinfo/26.virtual-service-ratings-test-abort.yaml');
    const page = await eventually(async () => {
      const p = await ingress('/productpage');
      return p.stdout.includes('Ratings service is currently unavailable') ? p.stdout : '';
    }, 15_000, 200);
    assert.match(page, /Ratings service is currently unavailable/);
    const direct = await curlLoop(1, '-H "end-user: jason" -w " %{http_code}" ratings:9080/ratings/0');
    assert.equal(direct[0], 'fault filter abort 500');
  });

  test('27: about half of the ratings calls abort', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    await apply('bookinfo/27.virtual-service-ratings-500-fi-rate.yaml');
    const counts = await eventually(async () => {
      const codes = await curlLoop(100, '-o /dev/null -w "%{http_code}" ratings:9080/ratings/0');
      const aborted = codes.filter((c) => c === '500').length;
      const ok = codes.filter((c) => c === '200').length;
      // The previous rule aborted only jason: without his header any 500 means the new rule is in.
      return aborted > 0 ? { aborted, ok } : undefined;
    }, 10_000, 200);
    assert.ok(counts);
    assert.equal(counts.aborted + counts.ok, 100);
    assert.ok(counts.aborted >= 25 && counts.aborted <= 75, JSON.stringify(counts));
  });
});

describe('telemetry', () => {
  test('the sidecar serves Istio metrics naming the services, and logs requests in Istio’s format', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    const r = await k('exec', 'deploy/productpage-v1', '-c', 'productpage', '--', 'curl', '-s', 'localhost:15020/stats/prometheus');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^istio_requests_total\{[^}]*reporter="source"[^}]*destination_service_name="reviews"[^}]*\} \d+/m);
    assert.match(r.stdout, /^istio_requests_total\{[^}]*reporter="destination"[^}]*destination_service_name="productpage"[^}]*\} \d+/m);
    assert.match(r.stdout, /^istio_request_duration_milliseconds_bucket\{/m);
    const logs = await k('logs', 'deploy/productpage-v1', '-c', 'istio-proxy', '--tail', '50');
    assert.match(logs.stdout, /^\[\S+\] "GET \/reviews\/0 HTTP\/1\.1" 200 - \S+ - "-" \d+ \d+ \d+ \d+ "-" "[^"]*" "[^"]+" "reviews:9080" "127\.42\.\d+\.\d+:9080" outbound\|9080\|v\d\|reviews\.user11\.svc\.cluster\.local /m);
  });
});

describe('tracing', () => {
  test('with --tracing-url the proxies report linked spans for a productpage request', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const r = await ingress('/productpage', ['-H', `traceparent: ${traceparent}`, '-o', '/dev/null', '-w', '%{http_code}']);
    assert.equal(r.stdout, '200');
    // Each proxy reports its spans in its own batches, so wait for both ends of the gateway hop.
    const mine = await eventually(() => {
      const s = spans.filter((x) => x.traceId === '4bf92f3577b34da6a3ce929d0e0e4736');
      const server = s.some((x) => x.kind === 'SERVER' && x.tags?.['istio.canonical_service'] === 'productpage');
      const client = s.some((x) => x.kind === 'CLIENT' && x.parentId === '00f067aa0ba902b7');
      return server && client ? s : undefined;
    }, 30_000, 200);
    const seen = spans.filter((x) => x.traceId === '4bf92f3577b34da6a3ce929d0e0e4736').map((x) => [x.kind, x.name, x.parentId]);
    assert.ok(mine, `no gateway CLIENT span and productpage SERVER span of the trace in 30 s; got ${spans.length} spans, of the trace: ${JSON.stringify(seen)}`);
    // The gateway's CLIENT span continues the caller's span; productpage's SERVER span is its child.
    const gw = mine.find((x) => x.kind === 'CLIENT' && x.parentId === '00f067aa0ba902b7');
    assert.ok(gw, JSON.stringify(mine.map((x) => [x.kind, x.name, x.parentId])));
    assert.ok(mine.some((x) => x.kind === 'SERVER' && x.parentId === gw.id));
  });
});

describe('circuit breaking with httpbin and fortio', () => {
  /** `fortio load` from the fortio pod; returns the share of 200 and 503 answers. */
  async function load(c: number): Promise<{ ok: number; overflow: number; out?: string }> {
    const r = await k('exec', 'fortio', '-c', 'fortio', '--', '/usr/bin/fortio', 'load', '-c', String(c), '-qps', '0', '-n', '100', '-loglevel', 'Warning', 'http://httpbin:8000/get');
    assert.equal(r.code, 0, r.stderr);
    // fortio writes its report to stderr, as the real one does (kubectl exec shows both).
    const text = r.stdout + r.stderr;
    const count = (code: number): number => Number(new RegExp(`^Code ${code} : (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    const res = { ok: count(200), overflow: count(503) };
    // The raw output rides along (non-enumerable) so a failed comparison can show it.
    Object.defineProperty(res, 'out', { value: text, enumerable: false });
    return res;
  }

  test('maxConnections 1: -c 1 all 200; -c 2..10 a rising share of 503 overflow; without the rule all 200', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    await apply('httpbin/11.httpbin-deploy-svc.yaml');
    await apply('httpbin/12.fortio-pod.yaml');
    await allReady('user11', 2);
    // As the course text has it: tcp.maxConnections 1 next to the file's http settings.
    await apply('httpbin/13.dr-httpbin.yaml', (s) => s.replace('    connectionPool:\n', '    connectionPool:\n      tcp:\n        maxConnections: 1\n'));
    const dr = await k('get', 'dr', 'dr-httpbin', '-o', 'jsonpath={.spec.trafficPolicy.connectionPool.tcp.maxConnections}');
    assert.equal(dr.stdout, '1');
    await eventually(async () => (await load(10)).overflow > 0, 10_000, 200);
    const one = await load(1);
    assert.deepEqual(one, { ok: 100, overflow: 0 }, one.out);
    const shares = [];
    for (const c of [2, 3, 5, 10]) {
      const s = await load(c);
      assert.equal(s.ok + s.overflow, 100, s.out);
      shares.push(s.overflow);
    }
    assert.ok(shares[3] > 0, `503 shares ${shares}`);
    assert.ok(shares[3] >= shares[0], `503 shares ${shares}`);
    assert.equal((await k('delete', 'dr', 'dr-httpbin')).code, 0);
    const free = await eventually(async () => {
      const s = await load(10);
      return s.ok === 100 ? s : undefined;
    }, 10_000, 200);
    assert.deepEqual(free, { ok: 100, overflow: 0 });
  });
});

describe('outlier detection with hello-svc', () => {
  test('without the rule hello-server-2 answers random 503s; with 12.hello-dr it is ejected after its first 5xx', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    await apply('hello/11.hello-pod-svc.yaml');
    await allReady('user11', 2);
    const before = await eventually(async () => {
      const lines = await curlLoop(20, 'hello-svc:8080');
      return lines.some((l) => l.includes('Hello server - v2 - 503 (random)')) ? lines : undefined;
    }, 20_000, 200);
    assert.ok(before, 'no random 503 from hello-server-2 without the rule');
    await apply('hello/12.hello-dr.yaml');
    // Once the rule is in, hello-server-2's next 503 ejects it for baseEjectionTime (2 m): from then
    // on every call is answered by v1.
    let saw503 = false;
    const after = await eventually(async () => {
      const lines = await curlLoop(30, 'hello-svc:8080');
      let last = -1;
      lines.forEach((l, i) => {
        if (l.includes('503')) last = i;
      });
      if (last >= 0) saw503 = true;
      const rest = lines.slice(last + 1);
      return saw503 && rest.length >= 20 && rest.every((l) => l === 'Hello server - v1') ? rest : undefined;
    }, 20_000, 200);
    assert.ok(after, 'hello-server-2 not ejected after its first 503');
  });
});

describe('config validation and analysis', () => {
  test('an invalid VirtualService is denied with Istio’s webhook message; skiff analyze reports an unknown subset as IST0101', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    const bad = 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: bad\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination:\n        host: reviews\n      weight: -1\n';
    let r = await skiff!.kubectl(['-n', 'user11', 'apply', '-f', '-'], { input: bad });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^Error from server: error when creating "STDIN": admission webhook "validation.istio.io" denied the request: configuration is invalid: /m);
    const v4 = 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: reviews\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination:\n        host: reviews\n        subset: v4\n';
    r = await skiff!.kubectl(['-n', 'user11', 'apply', '-f', '-'], { input: v4 });
    assert.equal(r.code, 0, r.stderr);
    const a = await run(process.execPath, [join(root, 'bin', 'skiff.js'), 'analyze', '-n', 'user11'], { env: { ...process.env, KUBECONFIG: skiff!.kubeconfig } });
    assert.equal(a.code, 79, a.stderr);
    assert.match(a.stdout, /^Error \[IST0101\] \(VirtualService user11\/reviews\) Referenced host\+subset in destinationrule not found: "reviews\+v4"$/m);
  });
});

describe('sidecar lifecycle', () => {
  const kl = (...args: string[]) => skiff!.kubectl(['-n', 'lifecycle', ...args], { timeoutMs: 120_000 });

  /** The container names of the namespace's running pods (spec order: init containers first). */
  async function podContainers(): Promise<string[]> {
    const r = await kl('get', 'pods', '--field-selector=status.phase=Running', '-o', 'jsonpath={range .items[*]}{.metadata.deletionTimestamp}{"|"}{.spec.initContainers[*].name} {.spec.containers[*].name}{"\\n"}{end}');
    return r.stdout.split('\n').filter((l) => l && l.startsWith('|')).map((l) => l.slice(1).trim());
  }

  /** Asserts a kubectl run succeeded; a failure shows what kubectl said. */
  function succeeded(r: { code: number | null; stdout: string; stderr: string }): void {
    assert.equal(r.code, 0, `kubectl exited ${r.code}: ${r.stdout}${r.stderr}`);
  }

  /**
   * `rollout restart` of the test's deployment. kubectl's restartedAt stamp has one-second precision,
   * so it refuses a second restart within the same second ("already been triggered within the past
   * second"); when the first rollout took less than that, the second is tried again shortly after.
   */
  async function restart(): Promise<void> {
    for (let i = 0; ; i++) {
      const r = await kl('rollout', 'restart', 'deployment/userlist');
      if (r.code !== 0 && /within the past second/.test(r.stderr) && i < 10) {
        await new Promise((res) => setTimeout(res, 300));
        continue;
      }
      return succeeded(r);
    }
  }

  /** `rollout status` of the test's deployment; a failure shows what kubectl said and the objects' state. */
  async function rolledOut(): Promise<void> {
    const r = await kl('rollout', 'status', 'deployment/userlist', '--timeout=90s');
    if (r.code !== 0) assert.fail(`rollout status exited ${r.code}: ${r.stdout}${r.stderr}\n${(await kl('get', 'deploy,rs,pods', '-o', 'wide')).stdout}`);
  }

  test('rollout restart adds the sidecar once the namespace is labelled, and removes it once the label is gone', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    succeeded(await skiff!.kubectl(['create', 'namespace', 'lifecycle']));
    succeeded(await kl('create', 'deployment', 'userlist', '--image=ssongman/userlist:v1'));
    await allReady('lifecycle', 1);
    succeeded(await skiff!.kubectl(['label', 'namespace', 'lifecycle', 'istio-injection=enabled']));
    await restart();
    await rolledOut();
    await allReady('lifecycle', 2);
    assert.deepEqual(await eventually(async () => ((await podContainers()).join() === 'istio-proxy userlist' ? await podContainers() : undefined)), ['istio-proxy userlist']);
    succeeded(await skiff!.kubectl(['label', 'namespace', 'lifecycle', 'istio-injection-']));
    await restart();
    await rolledOut();
    await allReady('lifecycle', 1);
    assert.deepEqual(await eventually(async () => ((await podContainers()).join() === 'userlist' ? await podContainers() : undefined)), ['userlist']);
  });

  test('when the app exits for good the sidecar exits too, and the pod completes', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'once', labels: { 'sidecar.istio.io/inject': 'true' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'task', image: 'busybox', command: ['sh', '-c', 'sleep 1; exit 0'] }] } };
    const r = await skiff!.kubectl(['-n', 'lifecycle', 'create', '-f', '-'], { input: JSON.stringify(pod) });
    assert.equal(r.code, 0, r.stderr);
    const done = await eventually(async () => {
      const p = await kl('get', 'pod', 'once', '-o', 'jsonpath={.status.phase} {.status.initContainerStatuses[0].state.terminated.reason}');
      return p.stdout === 'Succeeded Completed' ? p.stdout : undefined;
    }, 30_000, 200);
    assert.equal(done, 'Succeeded Completed');
  });

  test('on deletion outbound keeps working while the app shuts down', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    // The app's SIGTERM handler calls httpbin through the sidecar: the call must get through, so the
    // sidecar has to outlive the app. httpbin's own sidecar logs the call.
    const script = 'trap \'curl -s -o /dev/null http://httpbin.user11:8000/anything/drain-check; exit 0\' TERM; sleep 3600 & wait';
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'leaver', labels: { 'sidecar.istio.io/inject': 'true' } }, spec: { containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', script] }] } };
    let r = await skiff!.kubectl(['-n', 'lifecycle', 'create', '-f', '-'], { input: JSON.stringify(pod) });
    assert.equal(r.code, 0, r.stderr);
    await eventually(async () => (await kl('get', 'pod', 'leaver', '-o', 'jsonpath={.status.containerStatuses[0].ready}')).stdout === 'true', 30_000, 200);
    r = await kl('delete', 'pod', 'leaver', '--wait=true');
    assert.equal(r.code, 0, r.stderr);
    const logged = await eventually(async () => (await k('logs', 'deploy/httpbin', '-c', 'istio-proxy', '--tail', '200')).stdout.includes('/anything/drain-check'), 15_000, 200);
    assert.ok(logged, 'the app’s call during its shutdown did not reach httpbin');
  });
});

describe('ServiceEntry', () => {
  test('a host outside the mesh, declared by a ServiceEntry, is routable from a sidecar by its name', async (t) => {
    if (!hasShared) return t.skip(sharedMissing);
    // "Outside the mesh" stays on loopback: a server of this test process on 127.0.0.1.
    const server = createServer((req, res) => res.end(`external ${req.headers.host} ${req.url}`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const se = { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'ext' }, spec: { hosts: ['api.external.example'], location: 'MESH_EXTERNAL', resolution: 'STATIC', ports: [{ number: 80, name: 'http', protocol: 'HTTP', targetPort: port }], endpoints: [{ address: '127.0.0.1' }] } };
      const r = await skiff!.kubectl(['-n', 'user11', 'apply', '-f', '-'], { input: JSON.stringify(se) });
      assert.equal(r.code, 0, r.stderr);
      const body = await eventually(async () => {
        const out = await curlLoop(1, 'http://api.external.example/hello');
        return out[0]?.startsWith('external') ? out[0] : undefined;
      }, 10_000, 200);
      assert.equal(body, 'external api.external.example /hello');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
