import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAccessLog } from './access-log.ts';
import { compileConfig, parseCidr, RETRY } from './compile.ts';
import { ProxyConfigError } from './errors.ts';
import { F, flagString } from './flags.ts';
import { compileOps, cookieValue, downstreamHeaders, ownedRequestHeaders, upstreamHeaders } from './headers.ts';
import { compileDomains, compileMatch, compileRegex, hostOf, lookupDomain, matchRequest, parseQuery, type RequestView } from './match.ts';
import { portOf } from './router.ts';
import type { Route } from './model.ts';
import { decodePeer, encodePeer, PeerCache } from './peer.ts';
import { cluster, emptyConfig, node, routeConfig, withOutbound } from './proxy.test-helper.ts';

function view(path: string, headers: Record<string, string> = {}, method = 'GET', authority = 'svc:80'): RequestView {
  const q = path.indexOf('?');
  return { method, path: q < 0 ? path : path.slice(0, q), fullPath: path, query: q < 0 ? '' : path.slice(q + 1), authority, scheme: 'http', req: { headers } };
}

test('compileRegex() anchors RE2 patterns as full matches and translates (?i) and (?P<name>)', () => {
  assert.ok(compileRegex('/a.*', 'x').test('/abc'));
  assert.ok(!compileRegex('/a', 'x').test('/ab'));
  assert.ok(compileRegex('(?i)/ABC', 'x').test('/abc'));
  assert.ok(compileRegex('/(?P<id>\\d+)', 'x').test('/12'));
  assert.throws(() => compileRegex('(', 'route "r"'), (e: unknown) => e instanceof ProxyConfigError && /route "r": invalid regex "\("/.test(e.message));
});

test('matchRequest() applies ignoreUriCase to exact/prefix only, and header rules as Envoy does', () => {
  const ci = compileMatch({ path: { exact: '/Api' }, caseSensitive: false }, 'x');
  assert.ok(matchRequest(ci, view('/API')));
  const re = compileMatch({ path: { regex: '/Api' }, caseSensitive: false }, 'x');
  assert.ok(!matchRequest(re, view('/API')), 'regex is unaffected by ignoreUriCase');
  const absent = compileMatch({ headers: [{ name: 'x-a', present: true, invert: true }] }, 'x');
  assert.ok(matchRequest(absent, view('/')));
  assert.ok(!matchRequest(absent, view('/', { 'x-a': '' })));
  const prefix = compileMatch({ headers: [{ name: 'x-a', match: { prefix: 'ab' } }] }, 'x');
  assert.ok(matchRequest(prefix, view('/', { 'x-a': 'abc' })));
  assert.ok(!matchRequest(prefix, view('/')));
  const scheme = compileMatch({ headers: [{ name: ':scheme', match: { exact: 'http' } }, { name: ':path', match: { prefix: '/p?' } }] }, 'x');
  assert.ok(matchRequest(scheme, view('/p?x=1')));
});

test('parseQuery() keeps the first value per key without decoding; keys without = have an empty value', () => {
  const q = parseQuery('a=1&b&a=2&c=%20&&d=');
  assert.equal(q.get('a'), '1');
  assert.equal(q.get('b'), '');
  assert.equal(q.get('c'), '%20');
  assert.equal(q.get('d'), '');
  assert.equal(parseQuery('').size, 0);
});

test('lookupDomain() answers a host asked again from memory, and every other host afresh', () => {
  const t = compileDomains([{ name: 'a', domains: ['a.example.com'], value: 'a' }, { name: 'b', domains: ['b.example.com'], value: 'b' }], 'rc');
  // Slices of other strings (as header values are): equal text in other string objects.
  const text = 'host: a.example.com:80\r\nhost: b.example.com:80\r\nhost: c.example.com:80\r\n';
  const hostAt = (i: number): string => hostOf(text.slice(6 + i * 24, 22 + i * 24));
  assert.equal(lookupDomain(t, hostAt(0)), 'a');
  assert.equal(lookupDomain(t, hostAt(0)), 'a');
  assert.equal(lookupDomain(t, hostAt(1)), 'b');
  assert.equal(lookupDomain(t, hostAt(2)), undefined);
  assert.equal(lookupDomain(t, hostAt(2)), undefined);
  assert.equal(lookupDomain(t, 'a.example.com'), 'a');
  assert.equal(lookupDomain(t, hostAt(1)), 'b');
});

test('lookupDomain() searches exact, longest *suffix, longest prefix*, then *; the port and a trailing dot are ignored', () => {
  const t = compileDomains(
    [
      { name: 'exact', domains: ['a.example.com'], value: 'exact' },
      { name: 'short', domains: ['*.com'], value: 'short' },
      { name: 'long', domains: ['*.example.com'], value: 'long' },
      { name: 'pre', domains: ['api.*'], value: 'pre' },
      { name: 'any', domains: ['*'], value: 'any' },
    ],
    'rc',
  );
  assert.equal(lookupDomain(t, hostOf('A.Example.com:80')), 'exact');
  assert.equal(lookupDomain(t, 'b.example.com'), 'long');
  assert.equal(lookupDomain(t, 'b.other.com'), 'short');
  assert.equal(lookupDomain(t, 'api.internal'), 'pre');
  assert.equal(lookupDomain(t, 'zzz'), 'any');
  assert.equal(lookupDomain(t, 'a.example.com.'), 'exact');
  assert.equal(hostOf('[::1]:8080'), '::1');
  assert.equal(hostOf('Svc.Default:80'), 'svc.default');
  assert.equal(hostOf('svc'), 'svc');
  // The port of an authority: digits after the last colon outside IPv6 brackets, else the default.
  assert.equal(portOf('svc:9080', 80), 9080);
  assert.equal(portOf('svc', 80), 80);
  assert.equal(portOf('[::1]', 80), 80);
  assert.equal(portOf('[::1]:8443', 80), 8443);
  assert.equal(portOf('svc:', 80), 80);
  assert.equal(portOf('svc:0', 80), 80);
  assert.equal(portOf('svc:65536', 80), 80);
  assert.equal(portOf('svc:8a', 80), 80);
  assert.equal(portOf('svc:080', 80), 80);
  assert.equal(portOf('svc:65535', 80), 65535);
  assert.throws(() => compileDomains([{ name: 'a', domains: ['x'], value: 1 }, { name: 'b', domains: ['X'], value: 2 }], 'rc "9080"'), /domain "x" of virtual host "b" is listed twice/);
});

test('compileOps() folds destination then route levels: set overrides, remove drops earlier appends, host is never touched', () => {
  const ops = compileOps([{ set: { 'x-a': 'dest' }, add: { 'x-b': '1' } }, { set: { 'x-a': 'route', host: 'evil' }, remove: ['x-b'] }]);
  assert.deepEqual([...ops.remove].sort(), ['x-a', 'x-b']);
  assert.deepEqual(ops.append, ['x-a', 'route']);
  // Raw names are lowercase on the proxy's path (the parsers lowercase them, as Envoy's codec).
  const up = upstreamHeaders(['host', 'h', 'connection', 'X-Hop', 'x-hop', '1', 'x-a', 'client', 'accept', '*/*', 'expect', '100-continue'], ops, ownedRequestHeaders.sidecar);
  assert.deepEqual(up, ['accept', '*/*', 'x-a', 'route']);
  const down = downstreamHeaders(['server', 'app', 'transfer-encoding', 'chunked', 'x-keep', '1'], compileOps([]), 'envoy');
  assert.deepEqual(down, ['x-keep', '1', 'server', 'envoy']);
  assert.equal(cookieValue('a=1; sess="abc"; b=2', 'sess'), 'abc');
  assert.equal(cookieValue('a=1', 'sess'), undefined);
});

test('flagString() lists flags in Envoy order and caches the text', () => {
  assert.equal(flagString(0), '-');
  assert.equal(flagString(F.URX | F.UF), 'UF,URX');
  assert.equal(flagString(F.FI | F.DI), 'DI,FI');
  assert.equal(flagString(F.UO | F.URX | F.UC), 'UC,UO,URX');
});

test('x-skiff-peer round-trips a workload, and the cache survives junk', () => {
  const n = node('productpage-v1', '127.0.0.1', { app: 'product page;x' });
  const v = encodePeer(n);
  const m = decodePeer(v)!;
  assert.equal(m.workload, 'productpage-v1');
  assert.equal(m.app, 'product page;x');
  assert.equal(m.principal, 'spiffe://cluster.local/ns/default/sa/productpage-v1');
  const c = new PeerCache();
  assert.equal(c.get(v), c.get(v), 'decoded once, same object');
  assert.equal(c.get('garbage'), undefined);
  assert.equal(c.get(undefined), undefined);
});

test('formatAccessLog() prints - for every missing field', () => {
  const line = formatAccessLog({ start: Date.UTC(2025, 0, 2, 3, 4, 5, 6), status: 0, flags: F.DC, bytesReceived: 0, bytesSent: 0, durationMs: 1.6 });
  assert.equal(line, '[2025-01-02T03:04:05.006Z] "- - -" 0 DC - - "-" 0 0 2 - "-" "-" "-" "-" "-" - - - - - -');
});

function cfgWith(routes: Route[]) {
  return withOutbound(emptyConfig(node('c', '127.0.0.1')), 80, routeConfig('80', ['svc'], routes), [cluster('a', [{ address: '127.0.0.1', port: 1 }])]);
}

const route = (extra: Partial<Route> & { action: Route['action'] }): Route => ({ name: 'r', match: {}, ...extra });
const fwd = (retryOn: string[], extra = {}): Route['action'] => ({ kind: 'route', clusters: [{ cluster: 'a', weight: 1 }], timeoutMs: 0, retry: { numRetries: 2, retryOn, retryIgnorePreviousHosts: true, backoffBaseMs: 25 }, ...extra });

test('compileConfig() turns retryOn words and status codes into bits; per-try timeouts not shorter than the route timeout are dropped', () => {
  const c = compileConfig(cfgWith([route({ action: fwd(['5xx', 'connect-failure', '503', 'unavailable'], { timeoutMs: 100, retry: { numRetries: 1, retryOn: ['5xx'], perTryTimeoutMs: 100, retryIgnorePreviousHosts: true, backoffBaseMs: 25 } }) }), route({ action: fwd(['gateway-error', '409']) })]), 'v', undefined);
  const routes = c.routeConfigs.get('80')!.domains.exact.get('svc')!.routes;
  const a0 = routes[0].action as unknown as { retry: { perTryMs: number }; expectedTimeout: string };
  assert.equal(a0.retry.perTryMs, 0);
  assert.equal(a0.expectedTimeout, '100');
  const a1 = routes[1].action as unknown as { retry: { on: number; codes: Set<number> } };
  assert.equal(a1.retry.on, RETRY.gatewayError | RETRY.statusCodes);
  assert.deepEqual([...a1.retry.codes], [409]);
  assert.ok(c.clusters.PassthroughCluster && c.clusters.BlackHoleCluster, 'catch-all clusters are synthesized');
});

test('compileConfig() rejects what Envoy would NACK, naming where', () => {
  const bad = (routes: Route[]) => () => compileConfig(cfgWith(routes), 'v', undefined);
  assert.throws(bad([route({ action: fwd(['5xx', 'sometimes']) })]), /route "r": unknown retryOn condition "sometimes"/);
  assert.throws(bad([route({ action: { kind: 'route', clusters: [{ cluster: 'a', weight: 0 }, { cluster: 'b', weight: 0 }], timeoutMs: 0, retry: { numRetries: 0, retryOn: [], retryIgnorePreviousHosts: true, backoffBaseMs: 25 } } })]), /total destination weight is 0/);
  assert.throws(bad([route({ action: { kind: 'redirect', responseCode: 305 } })]), /unsupported redirect code 305/);
  assert.throws(bad([route({ match: { headers: [{ name: 'x', match: { regex: '[' } }] }, action: fwd([]) })]), /header "x": invalid regex/);
  assert.throws(bad([route({ fault: { abort: { grpcStatus: 'NOPE', perMillion: 1 } }, action: fwd([]) })]), /unknown gRPC status "NOPE"/);
  // Header text is checked once here: the HTTP/1.1 writers trust it (a CR or LF would split the message).
  assert.throws(bad([route({ headers: { request: { set: { 'x-bad': 'v\r\nInjected: 1' } } }, action: fwd([]) })]), /header "x-bad": header value .* has control characters/);
  assert.throws(bad([route({ headers: { response: { add: { 'x bad': 'v' } } }, action: fwd([]) })]), /header name "x bad" is not a valid HTTP token/);
  assert.throws(bad([route({ action: fwd([], { hostRewrite: 'a\nb' }) })]), /route "r": rewrite authority: header value/);
  const noRc = cfgWith([]);
  noRc.outbound['81'] = { port: 81, protocol: 'http', routeConfig: '81' };
  assert.throws(() => compileConfig(noRc, 'v', undefined), /outbound port 81: route config "81" does not exist/);
  const dupBind = { ...emptyConfig(node('c', '127.0.0.1')), inbound: [1, 2].map(() => ({ port: 80, bindPort: 8080, appPort: 80, protocol: 'http' as const, cluster: 'inbound|80||', services: [] })) };
  assert.throws(() => compileConfig(dupBind, 'v', undefined), /bind port 8080 is used by another listener/);
  assert.throws(() => parseCidr('10.0.0.0/33', 'rule'), /invalid destination subnet/);
  assert.deepEqual(parseCidr('127.0.0.0/8', 'rule'), [0x7f000000, 0xff000000]);
});

test('compileConfig() points inbound clusters at the app and keeps a given cluster\'s limits', () => {
  const cfg = { ...emptyConfig(node('s', '127.0.0.5')), inbound: [{ port: 9080, bindPort: 9080, appPort: 19080, protocol: 'http' as const, cluster: 'inbound|9080||', services: [] }] };
  const c = compileConfig(cfg, 'v', '127.0.0.6');
  assert.deepEqual(c.clusters['inbound|9080||'].endpoints, [{ address: '127.0.0.6', port: 19080, ready: true }]);
  cfg.clusters = { 'inbound|9080||': cluster('inbound|9080||', [], { circuitBreakers: { maxConnections: 7, maxPendingRequests: 7, maxRequests: 7, maxRetries: 7 } }) };
  const c2 = compileConfig(cfg, 'v', '127.0.0.6');
  assert.equal(c2.clusters['inbound|9080||'].circuitBreakers.maxRequests, 7);
  assert.equal(c2.clusters['inbound|9080||'].endpoints[0].port, 19080);
});
