import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import { type Proxy, ProxyConfigError } from './index.ts';
import type { ProxyConfig, TracingConfig } from './model.ts';
import { app, closeAll, cluster, defaultRoute, emptyConfig, freePort, meta, node, routeConfig, send, startProxy, until, withOutbound } from './proxy.test-helper.ts';
import { TraceReporter, type SpanRecord } from './trace-reporter.ts';

// This file's addresses: 127.77.21.0/24. Client pod .1 (app .2), server pod .3 (app .4), collector .100.
const CLIENT_POD = '127.77.21.1';
const SERVER_POD = '127.77.21.3';
const SERVER_APP = '127.77.21.4';
const COLLECTOR = '127.77.21.100';
const PORT = 9080;
const FQDN = 'reviews.default.svc.cluster.local';
const CLUSTER = `outbound|${PORT}||${FQDN}`;
const OPERATION = `${FQDN}:${PORT}/*`;

interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  kind: string;
  name: string;
  timestamp: number;
  duration: number;
  localEndpoint: { serviceName: string; ipv4: string };
  remoteEndpoint?: { ipv4: string; port: number };
  tags: Record<string, string>;
}

let client: Proxy;
let server: Proxy;
let clientAdmin: number;
let clientAgent: number;
let clientCfg: ProxyConfig;
let serverCfg: ProxyConfig;
let collectorUrl: string;
const servers: http.Server[] = [];
const reports: Array<{ path: string; body: unknown }> = [];
const appSeen: http.IncomingHttpHeaders[] = [];

function zipkinSpans(): ZipkinSpan[] {
  return reports.filter((r) => r.path === '/api/v2/spans').flatMap((r) => r.body as ZipkinSpan[]);
}

function tracing(t: TracingConfig): (cfg: ProxyConfig) => ProxyConfig {
  return (cfg) => ({ ...cfg, tracing: t });
}

before(async () => {
  const collector = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      reports.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString()) });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, COLLECTOR, resolve));
  servers.push(collector);
  collectorUrl = `http://${COLLECTOR}:${(collector.address() as net.AddressInfo).port}`;
  const a = await app(SERVER_APP, 0, (req, res) => {
    appSeen.push(req.headers);
    res.writeHead(req.url === '/fail' ? 503 : 200, { 'content-type': 'text/plain' });
    res.end('reviews');
  });
  servers.push(a.server);

  const c = await startProxy({ podIP: CLIENT_POD, appIP: '127.77.21.2', tracing: { flushMs: 20 } });
  client = c.proxy;
  clientAdmin = c.admin;
  clientAgent = c.agent;
  const s = await startProxy({ podIP: SERVER_POD, appIP: SERVER_APP, tracing: { flushMs: 20 } });
  server = s.proxy;
  const zipkin = tracing({ collector: { kind: 'zipkin', url: collectorUrl }, samplingPerMillion: 0 });
  serverCfg = zipkin({
    ...emptyConfig(node('reviews-v1', SERVER_POD, { appIP: SERVER_APP, app: 'reviews', canonicalService: 'reviews' })),
    inbound: [{ port: PORT, bindPort: PORT, appPort: a.port, protocol: 'http', cluster: `inbound|${PORT}||`, services: [{ host: FQDN, name: 'reviews', namespace: 'default' }] }],
  });
  await server.apply(serverCfg, 's1');
  const rc = routeConfig(String(PORT), ['reviews', FQDN], [defaultRoute(CLUSTER, { operation: OPERATION })]);
  const n = node('productpage-v1', CLIENT_POD, { app: 'productpage', canonicalService: 'productpage' });
  clientCfg = zipkin(withOutbound(emptyConfig(n), PORT, rc, [cluster(CLUSTER, [{ address: SERVER_POD, port: PORT, workload: meta('reviews-v1') }])]));
  await client.apply(clientCfg, 'c1');
});

after(async () => {
  await Promise.all([client.close(), server.close()]);
  await closeAll(servers);
});

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const PARENT = 'b7ad6b7169203331';

test('a sampled traceparent is continued through two proxies: CLIENT and SERVER spans linked parent to child, reported as Zipkin v2', async () => {
  const res = await send(CLIENT_POD, (client.address('outbound') as { port: number }).port, `http://reviews:${PORT}/reviews/1`, {
    headers: { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'vendor=x', 'x-request-id': 'req-1' },
  });
  assert.equal(res.status, 200);
  await until(() => zipkinSpans().filter((s) => s.traceId === TRACE).length === 2);
  const spans = zipkinSpans().filter((s) => s.traceId === TRACE);
  const cs = spans.find((s) => s.kind === 'CLIENT')!;
  const ss = spans.find((s) => s.kind === 'SERVER')!;
  assert.equal(cs.parentId, PARENT, "the client proxy's span is a child of the caller's span");
  assert.equal(ss.parentId, cs.id, "the server proxy's span is a child of the client proxy's span");
  assert.match(cs.id, /^[0-9a-f]{16}$/);
  assert.notEqual(ss.id, cs.id);
  assert.equal(cs.name, OPERATION);
  assert.equal(ss.name, OPERATION, 'the inbound side names its span after x-envoy-decorator-operation');
  assert.deepEqual(cs.localEndpoint, { serviceName: 'productpage.default', ipv4: CLIENT_POD });
  assert.deepEqual(ss.localEndpoint, { serviceName: 'reviews.default', ipv4: SERVER_POD });
  assert.deepEqual(cs.remoteEndpoint, { ipv4: SERVER_POD, port: PORT });
  assert.ok(Number.isInteger(cs.timestamp) && cs.timestamp > 1.6e15 && cs.duration >= 1);
  const { 'peer.address': peer, 'http.protocol': protocol, request_size: requestSize, response_size: responseSize, user_agent: ua, ...fixed } = cs.tags;
  assert.deepEqual(fixed, {
    component: 'proxy',
    node_id: `sidecar~${CLIENT_POD}~productpage-v1-1.default~default.svc.cluster.local`,
    'guid:x-request-id': 'req-1',
    'http.url': `http://reviews:${PORT}/reviews/1`,
    'http.method': 'GET',
    'http.status_code': '200',
    response_flags: '-',
    upstream_cluster: CLUSTER,
    'upstream_cluster.name': CLUSTER,
    'istio.canonical_service': 'productpage',
    'istio.canonical_revision': 'v1',
    'istio.namespace': 'default',
    'istio.mesh_id': 'cluster.local',
    'istio.cluster_id': 'Kubernetes',
  });
  assert.equal(peer, '127.0.0.1');
  assert.equal(protocol, 'HTTP/1.1');
  assert.equal(requestSize, '0');
  assert.equal(responseSize, '7');
  assert.equal(ua, '-');
  assert.equal(ss.tags.upstream_cluster, `inbound|${PORT}||`);
  assert.equal(ss.tags['istio.canonical_service'], 'reviews');
  // The app sees the server span as its parent, in both header families; tracestate passes through.
  const seen = appSeen.at(-1)!;
  assert.equal(seen.traceparent, `00-${TRACE}-${ss.id}-01`);
  assert.equal(seen['x-b3-traceid'], TRACE);
  assert.equal(seen['x-b3-spanid'], ss.id);
  assert.equal(seen['x-b3-parentspanid'], cs.id);
  assert.equal(seen['x-b3-sampled'], '1');
  assert.equal(seen.tracestate, 'vendor=x');
  assert.equal(seen['x-request-id'], 'req-1');
});

test('B3 headers are continued too (64-bit trace ids kept as sent, the single b3 header read); 5xx spans carry error=true', async () => {
  const out = (client.address('outbound') as { port: number }).port;
  await send(CLIENT_POD, out, `http://reviews:${PORT}/fail`, { headers: { 'x-b3-traceid': '463ac35c9f6413ad', 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-sampled': '1' } });
  await send(CLIENT_POD, out, `http://reviews:${PORT}/b3`, { headers: { b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' } });
  await until(() => zipkinSpans().filter((s) => s.traceId === '463ac35c9f6413ad' || s.traceId === '80f198ee56343ba864fe8b2a57d3eff7').length === 4);
  const multi = zipkinSpans().find((s) => s.traceId === '463ac35c9f6413ad' && s.kind === 'CLIENT')!;
  assert.equal(multi.parentId, 'a2fb4a1d1a96d312');
  assert.equal(multi.tags['http.status_code'], '503');
  assert.equal(multi.tags.error, 'true');
  const single = zipkinSpans().find((s) => s.traceId === '80f198ee56343ba864fe8b2a57d3eff7' && s.kind === 'CLIENT')!;
  assert.equal(single.parentId, 'e457b5a2e4d86bd1');
  assert.equal(appSeen.at(-1)!.b3, undefined, 'the caller\'s b3 header is replaced by this hop\'s context');
});

test('unsampled requests propagate their context but send nothing', async () => {
  const out = (client.address('outbound') as { port: number }).port;
  const before = reports.length;
  // Sampled out by the caller, and (sampling 0 %) by the proxy that starts the trace.
  await send(CLIENT_POD, out, `http://reviews:${PORT}/no`, { headers: { traceparent: `00-${'1'.repeat(32)}-${PARENT}-00` } });
  assert.equal(appSeen.at(-1)!['x-b3-sampled'], '0');
  assert.equal(appSeen.at(-1)!['x-b3-traceid'], '1'.repeat(32));
  await send(CLIENT_POD, out, `http://reviews:${PORT}/none`);
  const fresh = appSeen.at(-1)!;
  assert.match(String(fresh.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/, 'a new trace is started and propagated, unsampled');
  // A sampled marker after them: once its spans arrived, anything the earlier requests reported would have too.
  await send(CLIENT_POD, out, `http://reviews:${PORT}/marker`, { headers: { 'x-b3-sampled': '1' } });
  await until(() => zipkinSpans().filter((s) => s.tags['http.url']?.endsWith('/marker')).length === 2);
  const since = reports.slice(before).flatMap((r) => r.body as ZipkinSpan[]);
  assert.deepEqual(since.map((s) => s.tags['http.url'].replace(/^.*\//, '')), ['marker', 'marker']);
  const marker = since.find((s) => s.kind === 'CLIENT')!;
  assert.equal(marker.parentId, undefined, 'a sampled flag without ids starts a root span');
});

test('sampling 100 % starts sampled traces; an OTLP collector gets OTLP/HTTP JSON on /v1/traces', async () => {
  await client.apply(tracing({ collector: { kind: 'otlp', url: collectorUrl }, samplingPerMillion: 1000000 })(clientCfg), 'c-otlp');
  try {
    await send(CLIENT_POD, (client.address('outbound') as { port: number }).port, `http://reviews:${PORT}/otlp`);
    await until(() => reports.some((r) => r.path === '/v1/traces'));
    const body = reports.find((r) => r.path === '/v1/traces')!.body as {
      resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue: string } }> }; scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }>;
    };
    assert.deepEqual(body.resourceSpans[0].resource.attributes[0], { key: 'service.name', value: { stringValue: 'productpage.default' } });
    const span = body.resourceSpans[0].scopeSpans[0].spans[0];
    assert.match(String(span.traceId), /^[0-9a-f]{32}$/);
    assert.match(String(span.spanId), /^[0-9a-f]{16}$/);
    assert.equal(span.parentSpanId, undefined);
    assert.equal(span.kind, 3, 'SPAN_KIND_CLIENT');
    assert.equal(span.name, OPERATION);
    assert.match(String(span.startTimeUnixNano), /^\d{19}$/);
    assert.ok(BigInt(String(span.endTimeUnixNano)) > BigInt(String(span.startTimeUnixNano)));
    assert.ok((span.attributes as Array<{ key: string }>).some((a) => a.key === 'upstream_cluster'));
    // The app's headers carry the started trace as sampled.
    assert.equal(appSeen.at(-1)!.traceparent, `00-${span.traceId}-${appSeen.at(-1)!['x-b3-spanid']}-01`);
  } finally {
    await client.apply(clientCfg, 'c2');
  }
});

test('a dead collector never affects requests: failed reports and dropped spans are counted at /stats', async () => {
  const dead = await freePort(COLLECTOR);
  await client.apply(tracing({ collector: { kind: 'zipkin', url: `http://${COLLECTOR}:${dead}` }, samplingPerMillion: 1000000 })(clientCfg), 'c-dead');
  try {
    const out = (client.address('outbound') as { port: number }).port;
    for (let i = 0; i < 3; i++) assert.equal((await send(CLIENT_POD, out, `http://reviews:${PORT}/dead`)).status, 200);
    const stat = async (name: string) => Number(new RegExp(`^tracing\\.zipkin\\.${name}: (\\d+)$`, 'm').exec((await send(CLIENT_POD, clientAdmin, '/stats')).body)?.[1]);
    let failed = 0;
    for (let i = 0; i < 200 && failed === 0; i++) {
      if (i) await new Promise((r) => setTimeout(r, 10));
      failed = await stat('reports_failed');
    }
    assert.ok(failed >= 1);
    assert.ok((await stat('spans_dropped')) >= 1);
    assert.match((await send(CLIENT_POD, clientAgent, '/stats/prometheus')).body, /^envoy_tracing_zipkin_reports_failed [1-9]/m);
  } finally {
    await client.apply(clientCfg, 'c3');
  }
});

test('apply() NACKs a collector URL the reporter cannot use', async () => {
  await assert.rejects(client.apply(tracing({ collector: { kind: 'zipkin', url: 'not a url' }, samplingPerMillion: 0 })(clientCfg), 'bad'), (e: unknown) => e instanceof ProxyConfigError && /tracing: invalid collector URL "not a url"/.test(e.message));
  await assert.rejects(client.apply(tracing({ collector: { kind: 'jaeger' as 'zipkin', url: collectorUrl }, samplingPerMillion: 0 })(clientCfg), 'bad2'), /unknown collector kind "jaeger"/);
});

function record(i: number): SpanRecord {
  return { traceId: 'a'.repeat(32), id: `${i}`.padStart(16, '0'), parentId: '', kind: 'CLIENT', name: `s${i}`, timestampUs: 1, durationUs: 1, local: { serviceName: 'x.default', ipv4: '127.0.0.1' }, tags: {}, error: false };
}

test('the reporter queue is bounded (drops are counted), and close() sends what waits', async () => {
  const r = new TraceReporter({ flushMs: 3_600_000, batchSize: 100, maxQueue: 2 });
  r.configure({ collector: { kind: 'zipkin', url: `${collectorUrl}/custom/path` }, samplingPerMillion: 0 }, node('x', '127.0.0.1'));
  for (let i = 0; i < 3; i++) r.add(record(i));
  const before = reports.length;
  await r.close();
  // Only this reporter posts to /custom/path: a late report of an earlier test may land meanwhile.
  const got = reports.slice(before).filter((x) => x.path === '/custom/path');
  assert.equal(got.length, 1, `a URL with a path is used as given; got ${JSON.stringify(reports.slice(before).map((x) => x.path))}`);
  assert.deepEqual((got[0].body as ZipkinSpan[]).map((s) => s.name), ['s0', 's1']);
  assert.deepEqual(Object.fromEntries(r.stats()), {
    'tracing.zipkin.spans_sent': 2,
    'tracing.zipkin.spans_dropped': 1,
    'tracing.zipkin.reports_sent': 1,
    'tracing.zipkin.reports_dropped': 0,
    'tracing.zipkin.reports_failed': 0,
    'tracing.zipkin.timer_flushed': 0,
  });
});
