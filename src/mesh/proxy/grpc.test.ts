import assert from 'node:assert/strict';
import type http2 from 'node:http2';
import { after, before, test } from 'node:test';
import { encodeGrpcMessage, grpcToHttpStatus, httpToGrpcStatus, isGrpcContentType } from './grpc.ts';
import { closeH2, endedWithHeaders, grpcError, grpcFrame, grpcPayload, grpcReply, h2App, h2Connect, h2Request, type H2Reply } from './h2.test-helper.ts';
import type { Proxy } from './index.ts';
import type { Route } from './model.ts';
import { cluster, defaultRoute, emptyConfig, meta, node, routeConfig, send, startProxy, until, withOutbound } from './proxy.test-helper.ts';

// This file's addresses: 127.77.41.0/24. Client pod .1 (app .2), server pod .3, gRPC app .4.
const CLIENT_POD = '127.77.41.1';
const SERVER_POD = '127.77.41.3';
const SERVER_APP = '127.77.41.4';
const PORT = 9090;
const FQDN = 'greeter.default.svc.cluster.local';
const CLUSTER = `outbound|${PORT}||${FQDN}`;
const EMPTY = `outbound|${PORT}|empty|${FQDN}`;
const DIRECT = `outbound|${PORT}|direct|${FQDN}`;

let client: Proxy;
let server: Proxy;
let clientLogs: string[];
let serverLogs: string[];
let out: number;
let clientAgent: number;
let clientAdmin: number;
let serverAgent: number;
let session: http2.ClientHttp2Session;
const seen: http2.IncomingHttpHeaders[] = [];
const bodies: string[] = [];
const h2Servers: http2.Http2Server[] = [];
let flaky = 0;
/** Streams of `/pkg.Slow/...` calls, never answered (released at the end). */
const slow: http2.ServerHttp2Stream[] = [];

before(async () => {
  const a = await h2App(SERVER_APP, (stream, headers, body) => {
    seen.push(headers);
    bodies.push(grpcPayload(body));
    const path = String(headers[':path']);
    if (path.startsWith('/pkg.Slow/')) return void slow.push(stream);
    if (path.endsWith('/Http503')) {
      stream.respond({ ':status': 503, 'content-type': 'text/plain' });
      return void stream.end('down');
    }
    if (path.endsWith('/Fail')) return grpcError(stream, '13', 'broken');
    // Unavailable on the first call, fine after.
    if (path.endsWith('/Flaky') && flaky++ === 0) return grpcError(stream, '14', 'try again');
    grpcReply(stream, `hello ${grpcPayload(body)}`);
  });
  h2Servers.push(a.server);

  const c = await startProxy({ podIP: CLIENT_POD, appIP: '127.77.41.2' });
  client = c.proxy;
  clientLogs = c.logs;
  out = c.out;
  clientAgent = c.agent;
  clientAdmin = c.admin;
  const s = await startProxy({ podIP: SERVER_POD, appIP: SERVER_APP });
  server = s.proxy;
  serverAgent = s.agent;
  serverLogs = s.logs;

  const inbound = cluster(`inbound|${PORT}||`, [], { protocol: 'http2' });
  await server.apply(
    {
      ...emptyConfig(node('greeter-v1', SERVER_POD, { appIP: SERVER_APP })),
      inbound: [{ port: PORT, bindPort: PORT, appPort: a.port, protocol: 'http', cluster: inbound.name, services: [{ host: FQDN, name: 'greeter', namespace: 'default' }] }],
      clusters: { [inbound.name]: inbound },
    },
    's1',
  );

  const svc = { host: FQDN, name: 'greeter', namespace: 'default', port: PORT };
  const main = cluster(CLUSTER, [{ address: SERVER_POD, port: PORT, workload: meta('greeter-v1') }], { protocol: 'http2', service: svc });
  const empty = cluster(EMPTY, [], { protocol: 'http2', service: svc });
  // Straight to the app (no server sidecar), ejected after one 5xx-equivalent answer.
  const direct = cluster(DIRECT, [{ address: SERVER_APP, port: a.port }], {
    protocol: 'http2',
    service: svc,
    healthyPanicThreshold: 0,
    outlierDetection: {
      consecutive5xx: 1,
      enforcingConsecutive5xx: 100,
      consecutiveGatewayFailure: 5,
      enforcingConsecutiveGatewayFailure: 0,
      consecutiveLocalOriginFailure: 5,
      splitExternalLocalOriginErrors: false,
      intervalMs: 10_000,
      baseEjectionTimeMs: 30_000,
      maxEjectionTimeMs: 300_000,
      maxEjectionPercent: 100,
    },
  });
  const prefix = (p: string, to: string, extra: Partial<Route> = {}): Route => ({ ...defaultRoute(to), match: { path: { prefix: p } }, ...extra });
  const routes: Route[] = [
    prefix('/pkg.Greeter/Abort', CLUSTER, { fault: { abort: { grpcStatus: 'UNAVAILABLE', perMillion: 1_000_000 } } }),
    prefix('/pkg.Greeter/Flaky', CLUSTER),
    prefix('/pkg.Empty/', EMPTY),
    prefix('/pkg.Slow/', CLUSTER, { action: { ...(defaultRoute(CLUSTER).action as Extract<Route['action'], { kind: 'route' }>), timeoutMs: 50 } }),
    prefix('/pkg.Outlier/', DIRECT, { action: { ...(defaultRoute(DIRECT).action as Extract<Route['action'], { kind: 'route' }>), retry: { numRetries: 0, retryOn: [], retryIgnorePreviousHosts: false, backoffBaseMs: 25 } } }),
    prefix('/pkg.', CLUSTER, { action: { ...(defaultRoute(CLUSTER).action as Extract<Route['action'], { kind: 'route' }>), retry: { numRetries: 2, retryOn: ['unavailable'], retryIgnorePreviousHosts: true, backoffBaseMs: 1 } } }),
  ];
  await client.apply(withOutbound(emptyConfig(node('caller-v1', CLIENT_POD)), PORT, routeConfig(String(PORT), ['greeter', FQDN], routes), [main, empty, direct]), 'c1');
  session = await h2Connect(CLIENT_POD, out);
});

after(async () => {
  for (const st of slow) if (!st.destroyed) st.close();
  session.close();
  await Promise.all([client.close(), server.close()]);
  await closeH2(h2Servers);
});

function call(path: string, payload = 'world'): Promise<H2Reply> {
  return h2Request(session, { ':method': 'POST', ':path': path, ':authority': `greeter:${PORT}`, 'content-type': 'application/grpc', te: 'trailers' }, grpcFrame(payload));
}

function sample(text: string, metric: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function metrics(ip: string, port: number): Promise<string> {
  return (await send(ip, port, '/stats/prometheus')).body;
}

test('gRPC content types and Envoy status mappings', () => {
  assert.equal(isGrpcContentType('application/grpc'), true);
  assert.equal(isGrpcContentType('application/grpc+proto'), true);
  assert.equal(isGrpcContentType('application/grpc-web'), false, 'grpc-web is not gRPC');
  assert.equal(isGrpcContentType(undefined), false);
  assert.deepEqual([400, 401, 403, 404, 429, 502, 503, 504, 500].map(httpToGrpcStatus), [13, 16, 7, 12, 14, 14, 14, 14, 2]);
  assert.deepEqual(['0', '1', '4', '8', '13', '14', '16', '99'].map(grpcToHttpStatus), [200, 499, 504, 429, 500, 503, 401, 500]);
  assert.equal(encodeGrpcMessage('no healthy upstream'), 'no healthy upstream');
  assert.equal(encodeGrpcMessage('100% sure\n'), '100%25 sure%0A');
});

test('a unary gRPC call through outbound → inbound → app: trailers back, request_protocol="grpc" and grpc_response_status="0" on both sides', async () => {
  const r = await call('/pkg.Greeter/SayHello');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/grpc');
  assert.equal(grpcPayload(r.body), 'hello world');
  assert.equal(r.trailers?.['grpc-status'], '0');
  assert.equal(seen.at(-1)!.te, 'trailers', 'gRPC requests reach the app with te: trailers');
  const labels = { request_protocol: 'grpc', response_code: '200', grpc_response_status: '0', response_flags: '-', destination_workload: 'greeter-v1' };
  await until(() => clientLogs.some((l) => l.includes('SayHello')) && serverLogs.some((l) => l.includes('SayHello')));
  assert.equal(sample(await metrics(CLIENT_POD, clientAgent), 'istio_requests_total', { reporter: 'source', source_workload: 'caller-v1', ...labels }), 1);
  assert.equal(sample(await metrics(SERVER_POD, serverAgent), 'istio_requests_total', { reporter: 'destination', source_workload: 'caller-v1', ...labels }), 1);
  assert.equal(sample(await metrics(CLIENT_POD, clientAgent), 'istio_requests_total', { request_protocol: 'http', destination_workload: 'greeter-v1' }), undefined, 'no http-protocol series for gRPC calls');
});

test('a gRPC fault abort is a trailers-only answer: 200, grpc-status 14, grpc-message "fault filter abort", flag FI', async () => {
  const r = await call('/pkg.Greeter/Abort');
  assert.equal(r.status, 200);
  assert.ok(endedWithHeaders(r), 'one HEADERS frame with END_STREAM');
  assert.equal(r.headers['content-type'], 'application/grpc');
  assert.equal(r.headers['grpc-status'], '14');
  assert.equal(r.headers['grpc-message'], 'fault filter abort');
  assert.equal(r.body.length, 0);
  await until(() => clientLogs.some((l) => l.includes('/pkg.Greeter/Abort')));
  assert.match(clientLogs.find((l) => l.includes('/pkg.Greeter/Abort'))!, /"POST \/pkg\.Greeter\/Abort HTTP\/2" 200 FI fault_filter_abort /);
  const m = await metrics(CLIENT_POD, clientAgent);
  assert.equal(sample(m, 'istio_requests_total', { request_protocol: 'grpc', response_code: '200', grpc_response_status: '14', response_flags: 'FI' }), 1);
  // A plain HTTP request on the same route gets Envoy's non-gRPC local reply: 200 with the text body.
  const plain = await send(CLIENT_POD, out, `http://greeter:${PORT}/pkg.Greeter/Abort`);
  assert.equal(plain.status, 200);
  assert.equal(plain.body, 'fault filter abort');
  assert.equal(plain.headers['grpc-status'], undefined);
});

test('local replies to gRPC clients are trailers-only gRPC errors: NR → UNIMPLEMENTED (12), UH → UNAVAILABLE (14)', async () => {
  const nr = await call('/other.Service/Method');
  assert.equal(nr.status, 200);
  assert.ok(endedWithHeaders(nr));
  assert.equal(nr.headers['grpc-status'], '12');
  assert.equal(nr.headers['grpc-message'], undefined, 'an empty body gives no grpc-message');
  assert.equal(nr.headers['content-length'], undefined);
  const uh = await call('/pkg.Empty/Method');
  assert.equal(uh.status, 200);
  assert.ok(endedWithHeaders(uh));
  assert.equal(uh.headers['grpc-status'], '14');
  assert.equal(uh.headers['grpc-message'], 'no healthy upstream');
  await until(() => clientLogs.some((l) => l.includes('/pkg.Empty/Method')));
  assert.match(clientLogs.find((l) => l.includes('/other.Service/Method'))!, /" 200 NR route_not_found /);
  assert.match(clientLogs.find((l) => l.includes('/pkg.Empty/Method'))!, /" 200 UH no_healthy_upstream /);
  const m = await metrics(CLIENT_POD, clientAgent);
  assert.equal(sample(m, 'istio_requests_total', { request_protocol: 'grpc', grpc_response_status: '14', response_flags: 'UH' }), 1);
});

test('retryOn "unavailable" retries a trailers-only grpc-status 14 and the second attempt answers', async () => {
  const before = seen.length;
  const r = await call('/pkg.Greeter/Flaky', 'again');
  assert.equal(r.status, 200);
  assert.equal(grpcPayload(r.body), 'hello again');
  assert.equal(r.trailers?.['grpc-status'], '0');
  assert.equal(seen.length - before, 2, 'two attempts reached the app');
  assert.deepEqual(bodies.slice(before), ['again', 'again'], 'the buffered body was replayed');
  await until(() => clientLogs.some((l) => l.includes('/pkg.Greeter/Flaky')));
  assert.match(clientLogs.find((l) => l.includes('/pkg.Greeter/Flaky'))!, /" 200 - via_upstream /);
});

test('outlier detection counts a trailers-only grpc-status by its HTTP mapping (13 → 500) and ejects the host', async () => {
  const ok = await call('/pkg.Outlier/Hello');
  assert.equal(ok.trailers?.['grpc-status'], '0', 'grpc-status 0 (→ 200) does not count');
  const bad = await call('/pkg.Outlier/Fail');
  assert.equal(bad.headers['grpc-status'], '13');
  assert.equal(bad.headers['grpc-message'], 'broken', 'the upstream trailers-only answer is passed through');
  assert.ok(endedWithHeaders(bad), 'and stays trailers-only');
  const clusters = (await send(CLIENT_POD, clientAdmin, '/clusters')).body;
  assert.match(clusters, new RegExp(`^${DIRECT.replace(/[|.]/g, '\\$&')}::127\\.77\\.41\\.4:\\d+::health_flags::/failed_outlier_check$`, 'm'));
  const after = await call('/pkg.Outlier/Hello');
  assert.equal(after.headers['grpc-status'], '14');
  assert.equal(after.headers['grpc-message'], 'no healthy upstream');
});

test('a route timeout answers a gRPC client with grpc-status 14 (Envoy maps 504 to UNAVAILABLE), flag UT', async () => {
  const r = await call('/pkg.Slow/Wait');
  assert.equal(r.status, 200);
  assert.ok(endedWithHeaders(r));
  assert.equal(r.headers['grpc-status'], '14');
  assert.equal(r.headers['grpc-message'], 'upstream request timeout');
  await until(() => clientLogs.some((l) => l.includes('/pkg.Slow/Wait')));
  assert.match(clientLogs.find((l) => l.includes('/pkg.Slow/Wait'))!, /" 200 UT upstream_response_timeout /);
});

test('a gRPC call answered without grpc-status is labelled with the HTTP status mapped (503 → 14), as Envoy infers it', async () => {
  const r = await call('/pkg.Greeter/Http503');
  assert.equal(r.status, 503);
  assert.equal(r.body.toString(), 'down');
  await until(() => clientLogs.some((l) => l.includes('/pkg.Greeter/Http503')));
  const m = await metrics(CLIENT_POD, clientAgent);
  assert.equal(sample(m, 'istio_requests_total', { request_protocol: 'grpc', response_code: '503', grpc_response_status: '14' }), 1);
});
