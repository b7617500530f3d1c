import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { type Proxy, ProxyConfigError } from './index.ts';
import type { ProxyConfig } from './model.ts';
import { app, closeAll, cluster, defaultRoute, emptyConfig, freePort, meta, node, routeConfig, send, startProxy, until, withOutbound } from './proxy.test-helper.ts';

// This file's addresses: 127.77.3.0/24. Client pod (proxy + app on .1/.2), server pod (.3/.4).
const CLIENT_POD = '127.77.3.1';
const SERVER_POD = '127.77.3.3';
const SERVER_APP = '127.77.3.4';
const HTTP_PORT = 9080;
const TCP_PORT = 9300;

let client: Proxy;
let server: Proxy;
let clientLogs: string[];
let serverLogs: string[];
let out: number;
let clientAgent: number;
let serverAgent: number;
let serverAdmin: number;
const servers: Array<http.Server | net.Server> = [];
const appSeen: http.IncomingHttpHeaders[] = [];
let appPort: number;
let tcpAppPort: number;
let clientCfg: ProxyConfig;

const FQDN = 'reviews.default.svc.cluster.local';
const HTTP_CLUSTER = `outbound|${HTTP_PORT}||${FQDN}`;
const TCP_CLUSTER = `outbound|${TCP_PORT}||${FQDN}`;

before(async () => {
  const a = await app(SERVER_APP, 0, (req, res) => {
    appSeen.push(req.headers);
    res.writeHead(200, { 'content-type': 'text/plain', server: 'app' });
    res.end('reviews');
  });
  a.server.on('upgrade', (req: http.IncomingMessage, sock: net.Socket, head: Buffer) => {
    sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\n\r\n`);
    if (head.length) sock.write(head);
    sock.pipe(sock);
  });
  appPort = a.port;
  const echo = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((resolve) => echo.listen(0, SERVER_APP, resolve));
  tcpAppPort = (echo.address() as net.AddressInfo).port;
  servers.push(a.server, echo);

  const c = await startProxy({ podIP: CLIENT_POD, appIP: '127.77.3.2' });
  client = c.proxy;
  clientLogs = c.logs;
  out = c.out;
  clientAgent = c.agent;
  const s = await startProxy({ podIP: SERVER_POD, appIP: SERVER_APP });
  server = s.proxy;
  serverLogs = s.logs;
  serverAgent = s.agent;
  serverAdmin = s.admin;

  // Server side: inbound http 9080 → app, inbound tcp 9300 → echo.
  const serverNode = node('reviews-v1', SERVER_POD, { appIP: SERVER_APP, app: 'reviews', canonicalService: 'reviews' });
  await server.apply(
    {
      ...emptyConfig(serverNode),
      inbound: [
        { port: HTTP_PORT, bindPort: HTTP_PORT, appPort, protocol: 'http', cluster: `inbound|${HTTP_PORT}||`, services: [{ host: FQDN, name: 'reviews', namespace: 'default' }] },
        { port: TCP_PORT, bindPort: TCP_PORT, appPort: tcpAppPort, protocol: 'tcp', cluster: `inbound|${TCP_PORT}||`, services: [{ host: FQDN, name: 'reviews', namespace: 'default' }] },
      ],
    },
    's1',
  );

  // Client side: outbound http 9080 and tcp 9300 to the server pod's inbound ports.
  const dest = meta('reviews-v1');
  dest.app = 'reviews';
  dest.canonicalService = 'reviews';
  const svc = { host: FQDN, name: 'reviews', namespace: 'default', port: HTTP_PORT };
  const rc = routeConfig(String(HTTP_PORT), ['reviews', 'reviews.default', FQDN], [defaultRoute(HTTP_CLUSTER)]);
  clientCfg = withOutbound(emptyConfig(node('productpage-v1', CLIENT_POD, { app: 'productpage', canonicalService: 'productpage' })), HTTP_PORT, rc, [
    cluster(HTTP_CLUSTER, [{ address: SERVER_POD, port: HTTP_PORT, workload: dest }], { service: svc }),
    cluster(TCP_CLUSTER, [{ address: SERVER_POD, port: TCP_PORT, workload: dest }], { service: { ...svc, port: TCP_PORT }, protocol: 'tcp' }),
  ]);
  clientCfg.outbound[String(TCP_PORT)] = { port: TCP_PORT, protocol: 'tcp', tcp: { reviews: [{ clusters: [{ cluster: TCP_CLUSTER, weight: 1 }] }] } };
  await client.apply(clientCfg, 'c1');
});

after(async () => {
  await Promise.all([client.close(), server.close()]);
  await closeAll(servers);
});

async function scrape(port: number, ip: string): Promise<string> {
  return (await send(ip, port, '/stats/prometheus')).body;
}

function sample(text: string, metric: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

test('a call through outbound → inbound → app is counted by both proxies with the standard labels', async () => {
  const res = await send(CLIENT_POD, out, `http://reviews:${HTTP_PORT}/reviews/0`);
  assert.equal(res.status, 200);
  assert.equal(res.body, 'reviews');
  assert.equal(res.headers.server, 'envoy', 'an in-mesh client sees server: envoy');
  assert.equal(appSeen.at(-1)!['x-skiff-peer'], undefined, 'the peer header is stripped before the app');
  assert.equal(appSeen.at(-1)!['x-forwarded-proto'], 'http');
  await until(() => clientLogs.length > 0 && serverLogs.length > 0);
  const common = {
    source_workload: 'productpage-v1',
    source_workload_namespace: 'default',
    source_principal: 'spiffe://cluster.local/ns/default/sa/productpage-v1',
    source_app: 'productpage',
    source_canonical_service: 'productpage',
    source_cluster: 'Kubernetes',
    destination_workload: 'reviews-v1',
    destination_app: 'reviews',
    destination_service: FQDN,
    destination_service_name: 'reviews',
    destination_service_namespace: 'default',
    destination_canonical_service: 'reviews',
    destination_cluster: 'Kubernetes',
    request_protocol: 'http',
    response_code: '200',
    response_flags: '-',
  };
  const src = await scrape(clientAgent, CLIENT_POD);
  assert.match(src, /^# TYPE istio_requests_total counter$/m);
  assert.equal(sample(src, 'istio_requests_total', { reporter: 'source', ...common, connection_security_policy: 'unknown' }), 1);
  assert.ok(sample(src, 'istio_request_duration_milliseconds_count', { reporter: 'source', ...common }) === 1);
  assert.ok((sample(src, 'istio_response_bytes_sum', { reporter: 'source', ...common }) ?? 0) > 7);
  const dst = await scrape(serverAgent, SERVER_POD);
  assert.equal(sample(dst, 'istio_requests_total', { reporter: 'destination', ...common, connection_security_policy: 'none' }), 1);
  assert.match(dst, /istio_request_duration_milliseconds_bucket\{[^}]*reporter="destination"[^}]*le="0.5"\}/);
  // The inbound side answers with server: istio-envoy; the outbound side overwrote it for the client.
  assert.match(serverLogs.at(-1)!, /"GET \/reviews\/0 HTTP\/1.1" 200 - via_upstream .* inbound\|9080\|\| /);
});

test('opaque TCP through CONNECT and an inbound tcp port records TCP metrics on both sides', async () => {
  const sock = net.connect({ host: CLIENT_POD, port: out });
  sock.write(`CONNECT reviews:${TCP_PORT} HTTP/1.1\r\nHost: reviews:${TCP_PORT}\r\n\r\n`);
  let got = '';
  sock.on('data', (d: Buffer) => {
    got += d.toString();
  });
  await until(() => got.includes('\r\n\r\n'));
  assert.match(got, /^HTTP\/1.1 200 Connection established/);
  sock.write('ping');
  await until(() => got.endsWith('ping'));
  sock.end();
  await new Promise((r) => sock.once('close', r));
  // The server side closes its half once the client's FIN went through: poll until it counted the close.
  let dst = '';
  for (let i = 0; i < 200 && sample(dst, 'istio_tcp_connections_closed_total', { reporter: 'destination' }) !== 1; i++) {
    if (i) await new Promise((r) => setTimeout(r, 10));
    dst = await scrape(serverAgent, SERVER_POD);
  }
  assert.equal(sample(dst, 'istio_tcp_connections_opened_total', { reporter: 'destination', destination_workload: 'reviews-v1', request_protocol: 'tcp' }), 1);
  assert.equal(sample(dst, 'istio_tcp_received_bytes_total', { reporter: 'destination' }), 4);
  assert.equal(sample(dst, 'istio_tcp_sent_bytes_total', { reporter: 'destination' }), 4);
  const src = await scrape(clientAgent, CLIENT_POD);
  assert.equal(sample(src, 'istio_tcp_connections_opened_total', { reporter: 'source', destination_workload: 'reviews-v1', destination_service: FQDN }), 1);
});

test('WebSocket upgrades are routed and then piped raw through both proxies', async () => {
  const sock = net.connect({ host: CLIENT_POD, port: out });
  sock.write(`GET http://reviews:${HTTP_PORT}/ws HTTP/1.1\r\nHost: reviews:${HTTP_PORT}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
  let got = '';
  sock.on('data', (d: Buffer) => {
    got += d.toString();
  });
  await until(() => got.includes('\r\n\r\n'));
  assert.match(got, /^HTTP\/1.1 101 /);
  sock.write('frame');
  await until(() => got.endsWith('frame'));
  sock.destroy();
});

test('localhost targets reach the pod itself: admin ports in-process, other ports the app', async () => {
  const ready = await send(CLIENT_POD, out, `http://localhost:${client.address('admin')!.port}/ready`);
  assert.equal(ready.status, 200);
  assert.equal(ready.body, 'LIVE\n');
  // The server proxy's app is on SERVER_APP: ask its proxy for localhost:<appPort>.
  const s = await startProxy({ podIP: '127.77.3.9', appIP: SERVER_APP });
  try {
    await s.proxy.apply(emptyConfig(node('x', '127.77.3.9')), 'x');
    const res = await send('127.77.3.9', s.out, `http://localhost:${appPort}/self`);
    assert.equal(res.body, 'reviews');
    assert.equal(s.logs.length, 0, 'localhost traffic is not intercepted: no access log');
  } finally {
    await s.proxy.close();
  }
});

test('unknown hosts: ALLOW_ANY passes loopback IPs through and refuses names; REGISTRY_ONLY answers 502', async () => {
  const pass = await send(CLIENT_POD, out, `http://${SERVER_APP}:${appPort}/direct`);
  assert.equal(pass.body, 'reviews');
  assert.match(clientLogs.at(-1)!, / PassthroughCluster .* allow_any$/);
  const name = await send(CLIENT_POD, out, 'http://example.com/');
  assert.equal(name.status, 502);
  assert.equal(name.headers['x-skiff-error'], 'SKIFF_ERR_PROXY_NOT_LOOPBACK');
  await client.apply({ ...clientCfg, outboundTrafficPolicy: 'REGISTRY_ONLY' }, 'c2');
  const blocked = await send(CLIENT_POD, out, `http://${SERVER_APP}:${appPort}/direct`);
  assert.equal(blocked.status, 502);
  assert.equal(blocked.body, '');
  assert.match(clientLogs.at(-1)!, / block_all$/);
  await client.apply(clientCfg, 'c3');
});

test('apply() rejects a bad regex with SKIFF_ERR_PROXY_CONFIG and keeps serving the previous config', async () => {
  const bad = structuredClone(clientCfg);
  bad.routes[String(HTTP_PORT)].virtualHosts[0].routes.unshift({ name: 'bad', match: { path: { regex: '/(unclosed' } }, action: { kind: 'direct', status: 200 } });
  await assert.rejects(client.apply(bad, 'bad'), (e: unknown) => e instanceof ProxyConfigError && e.code === 'SKIFF_ERR_PROXY_CONFIG' && /invalid regex/.test(e.message) && /route "bad"/.test(e.message));
  const unknownProto = structuredClone(clientCfg);
  (unknownProto.outbound[String(HTTP_PORT)] as { protocol: string }).protocol = 'mongo';
  await assert.rejects(client.apply(unknownProto, 'bad2'), /unknown listener protocol "mongo"/);
  const res = await send(CLIENT_POD, out, `http://reviews:${HTTP_PORT}/still`);
  assert.equal(res.status, 200);
  const dump = JSON.parse((await send(CLIENT_POD, client.address('admin')!.port, '/config_dump')).body);
  assert.equal(dump.version, 'c3');
});

test('apply() NACKs a listener that cannot bind and keeps the old listeners', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, SERVER_POD, resolve));
  const taken = (blocker.address() as net.AddressInfo).port;
  try {
    const cfg = JSON.parse((await send(SERVER_POD, serverAdmin, '/config_dump')).body);
    const next: ProxyConfig = { ...emptyConfig(cfg.node), inbound: [...cfg.inbound, { port: taken, bindPort: taken, appPort, protocol: 'http', cluster: `inbound|${taken}||`, services: [] }] };
    await assert.rejects(server.apply(next, 's2'), new RegExp(`inbound port ${taken}: cannot listen on 127\\.77\\.3\\.3:${taken}: EADDRINUSE`));
    assert.equal((await send(CLIENT_POD, out, `http://reviews:${HTTP_PORT}/after-nack`)).status, 200);
  } finally {
    blocker.close();
  }
});

test('admin: /ready, /server_info, /config_dump, /clusters (text and json), /stats and the health port', async () => {
  const a = client.address('admin')!.port;
  assert.equal((await send(CLIENT_POD, a, '/ready')).body, 'LIVE\n');
  const info = JSON.parse((await send(CLIENT_POD, a, '/server_info')).body);
  assert.equal(info.state, 'LIVE');
  client.setControlPlaneState({ connected: true, lastVersion: 'c3', lastNack: 'bad regex' });
  const dump = JSON.parse((await send(CLIENT_POD, a, '/config_dump')).body);
  assert.deepEqual(dump.controlPlane, { connected: true, lastVersion: 'c3', lastNack: 'bad regex' });
  assert.ok(dump.clusters[HTTP_CLUSTER]);
  assert.ok(dump.routes[String(HTTP_PORT)]);
  assert.ok(dump.listeners.some((l: { name: string }) => l.name === 'outbound'));
  const text = (await send(CLIENT_POD, a, '/clusters')).body;
  assert.match(text, new RegExp(`^outbound\\|9080\\|\\|${FQDN.replace(/\./g, '\\.')}::127\\.77\\.3\\.3:9080::health_flags::healthy$`, 'm'));
  assert.match(text, /::127\.77\.3\.3:9080::rq_total::\d+$/m);
  assert.match(text, /::default_priority::max_connections::4294967295$/m);
  const js = JSON.parse((await send(CLIENT_POD, a, '/clusters?format=json')).body);
  assert.ok(js.cluster_statuses.some((c: { name: string }) => c.name === HTTP_CLUSTER));
  assert.match((await send(CLIENT_POD, a, '/stats')).body, /^cluster\.outbound\|9080\|\|reviews\.default\.svc\.cluster\.local\.upstream_rq_total: \d+$/m);
  assert.match((await send(CLIENT_POD, a, '/stats/prometheus')).body, /^envoy_cluster_upstream_rq_pending_overflow\{cluster_name="outbound\|9080\|\|reviews\.default\.svc\.cluster\.local"\} 0$/m);
  const h = client.address('health')!.port;
  assert.equal((await send(CLIENT_POD, h, '/healthz/ready')).status, 200);
  assert.equal(client.ready, true);
});

test('inbound listeners open and close with the config; a dead app port is retried (reset-before-request) then 503 UF,URX', async () => {
  const s = await startProxy({ podIP: '127.77.3.11', appIP: SERVER_APP });
  try {
    const dead = await freePort(SERVER_APP);
    const n = node('e', '127.77.3.11');
    const two = { ...emptyConfig(n), inbound: [
      { port: 9080, bindPort: 9080, appPort, protocol: 'http' as const, cluster: 'inbound|9080||', services: [] },
      { port: 9081, bindPort: 9081, appPort: dead, protocol: 'http' as const, cluster: 'inbound|9081||', services: [] },
    ] };
    await s.proxy.apply(two, 'e1');
    const res = await send('127.77.3.11', 9081, '/x', { headers: { host: 'e' } });
    assert.equal(res.status, 503);
    assert.equal(res.body, 'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: connection failure');
    assert.match(s.logs.at(-1)!, /" 503 UF,URX /);
    await s.proxy.apply({ ...two, inbound: [two.inbound[0]] }, 'e2');
    await assert.rejects(send('127.77.3.11', 9081, '/x', { headers: { host: 'e' } }), /ECONNREFUSED/);
    assert.equal((await send('127.77.3.11', 9080, '/x', { headers: { host: 'e' } })).status, 200);
  } finally {
    await s.proxy.close();
  }
});

test('drainInbound() stops inbound listeners while outbound keeps working', async () => {
  const s = await startProxy({ podIP: '127.77.3.10', appIP: SERVER_APP });
  try {
    await s.proxy.apply({ ...emptyConfig(node('d', '127.77.3.10')), inbound: [{ port: 9080, bindPort: 9080, appPort, protocol: 'http', cluster: 'inbound|9080||', services: [] }] }, 'd1');
    const direct = await send('127.77.3.10', 9080, '/in', { headers: { host: 'd' } });
    assert.equal(direct.status, 200);
    assert.equal(direct.headers.server, 'istio-envoy', 'inbound overwrites the app\'s server header');
    await s.proxy.drainInbound();
    await assert.rejects(send('127.77.3.10', 9080, '/in', { headers: { host: 'd' } }), /ECONNREFUSED/);
    assert.equal((await send('127.77.3.10', s.out, `http://${SERVER_APP}:${appPort}/out`)).status, 200);
  } finally {
    await s.proxy.close();
  }
});

test('a gateway routes by Host, answers 404 NR for unknown hosts, and sets server: istio-envoy', async () => {
  const gw = await startProxy({ podIP: '127.77.3.20', kind: 'gateway' });
  try {
    const n = node('istio-ingressgateway', '127.77.3.20', { kind: 'gateway', namespace: 'istio-system' });
    const rc = routeConfig('http.8080', ['bookinfo.example'], [{ ...defaultRoute(HTTP_CLUSTER), match: { path: { prefix: '/reviews' } } }]);
    await gw.proxy.apply(
      {
        ...emptyConfig(n),
        gateway: [{ port: 80, bindPort: 8080, protocol: 'http', routeConfig: 'http.8080' }],
        routes: { 'http.8080': rc },
        clusters: { [HTTP_CLUSTER]: cluster(HTTP_CLUSTER, [{ address: SERVER_POD, port: HTTP_PORT, workload: meta('reviews-v1') }]) },
      },
      'g1',
    );
    const ok = await send('127.77.3.20', 8080, '/reviews/1', { headers: { host: 'bookinfo.example' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.server, 'istio-envoy');
    assert.equal(appSeen.at(-1)!['x-forwarded-for'], '127.0.0.1', 'the gateway appends the client address to x-forwarded-for');
    const nr = await send('127.77.3.20', 8080, '/reviews/1', { headers: { host: 'other.example' } });
    assert.equal(nr.status, 404);
    assert.equal(nr.body, '');
    assert.equal(nr.headers.server, 'istio-envoy');
    const noRoute = await send('127.77.3.20', 8080, '/details', { headers: { host: 'bookinfo.example' } });
    assert.equal(noRoute.status, 404);
    assert.match(gw.logs.at(-1)!, /" 404 NR route_not_found /);
    const prom = (await send('127.77.3.20', gw.agent, '/stats/prometheus')).body;
    assert.ok(sample(prom, 'istio_requests_total', { reporter: 'source', source_workload: 'istio-ingressgateway', destination_workload: 'reviews-v1', response_code: '200' }) === 1);
  } finally {
    await gw.proxy.close();
  }
});
