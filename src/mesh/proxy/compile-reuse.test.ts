import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { compileConfig, type CompiledDest, type CompiledVHost } from './compile.ts';
import { ProxyConfigError } from './errors.ts';
import { lookupDomain } from './match.ts';
import type { ProxyConfig, VirtualHost } from './model.ts';
import { app, closeAll, cluster, defaultRoute, emptyConfig, named, node, send, startProxy } from './proxy.test-helper.ts';
import type { Proxy } from './index.ts';

// This file's addresses: 127.77.50.0/24.
const POD = '127.77.50.1';
const APP_A = '127.77.50.2';
const APP_B = '127.77.50.3';

const vh = (host: string, to: string): VirtualHost => ({ name: `${host}:80`, domains: [host], routes: [defaultRoute(to)] });

/** A config routing hosts x, y and z; the changes below share every object they do not change, as a merged delta does. */
function config(portA: number, portB: number): ProxyConfig {
  return {
    ...emptyConfig(node('client', POD)),
    outbound: { '80': { port: 80, protocol: 'http', routeConfig: '80' } },
    routes: { '80': { name: '80', virtualHosts: [vh('x', 'a'), vh('y', 'b'), vh('z', 'a')] } },
    clusters: { a: cluster('a', [{ address: APP_A, port: portA }]), b: cluster('b', [{ address: APP_B, port: portB }]) },
  };
}

function withHost(cfg: ProxyConfig, i: number, v: VirtualHost): ProxyConfig {
  const virtualHosts = [...cfg.routes['80'].virtualHosts];
  virtualHosts[i] = v;
  return { ...cfg, routes: { ...cfg.routes, '80': { ...cfg.routes['80'], virtualHosts } } };
}

const compiledHost = (c: ReturnType<typeof compileConfig>, host: string): CompiledVHost => lookupDomain(c.outbound.get(80)!.routes!.domains, host)!;

test('compileConfig() reuses the compiled virtual hosts and cluster set a new config shares with the live one', () => {
  const c1 = compileConfig(config(1, 2), '1', undefined);
  const cfg2 = withHost(c1.source, 1, vh('y', 'a'));
  const c2 = compileConfig(cfg2, '2', undefined, c1);
  assert.equal(compiledHost(c2, 'x'), compiledHost(c1, 'x'), 'unchanged: the same compiled object');
  assert.equal(compiledHost(c2, 'z'), compiledHost(c1, 'z'));
  assert.notEqual(compiledHost(c2, 'y'), compiledHost(c1, 'y'));
  assert.equal((compiledHost(c2, 'y').routes[0].action as { dests: CompiledDest[] }).dests[0].name, 'a');
  assert.equal(c2.clusters, c1.clusters, 'clusters, inbound and node unchanged: the same cluster set');
  // Every destination, reused or new, is bound to live clusters after the swap.
  const dests = (c: typeof c2, host: string) => (compiledHost(c, host).routes[0].action as { dests: CompiledDest[] }).dests;
  for (const host of ['x', 'y', 'z']) assert.ok(c2.bindings.includes(dests(c2, host)[0]), host);
  // Only the changed host's destination is new, so only it needs binding while the cluster set lives.
  assert.ok(c2.fresh.includes(dests(c2, 'y')[0]));
  assert.ok(!c2.fresh.includes(dests(c2, 'x')[0]) && !c2.fresh.includes(dests(c2, 'z')[0]));
  // A compile without the previous one builds everything anew, and the result is the same.
  const fresh = compileConfig(cfg2, '2', undefined);
  assert.notEqual(compiledHost(fresh, 'x'), compiledHost(c1, 'x'));
  assert.deepEqual(compiledHost(fresh, 'x'), compiledHost(c2, 'x'));
  assert.deepEqual(fresh.clusters, c2.clusters);
  // A host with other domains: the domain table is built anew, and only the new names route.
  const c4 = compileConfig(withHost(cfg2, 1, vh('w', 'b')), '4', undefined, c2);
  assert.equal(lookupDomain(c4.outbound.get(80)!.routes!.domains, 'y'), undefined);
  assert.equal(compiledHost(c4, 'w').name, 'w:80');
  assert.equal(compiledHost(c4, 'x'), compiledHost(c1, 'x'));
  // The table of the live config is left as it was.
  assert.equal(compiledHost(c2, 'y').name, 'y:80');
  assert.equal(lookupDomain(c2.outbound.get(80)!.routes!.domains, 'w'), undefined);
  // A changed cluster set is a new one.
  const c3 = compileConfig({ ...cfg2, clusters: { ...cfg2.clusters, c: cluster('c', []) } }, '3', undefined, c2);
  assert.notEqual(c3.clusters, c2.clusters);
  assert.ok(c3.clusters.c && c3.clusters.PassthroughCluster);
});

test('a changed virtual host with wildcard domains is swapped into every part of the domain table', () => {
  const base = config(1, 2);
  const wild = (to: string): VirtualHost => ({ name: 'wild', domains: ['*.wild.example', 'pre.*', '*', 'Exact.Example'], routes: [defaultRoute(to)] });
  const cfg1 = { ...base, routes: { '80': { name: '80', virtualHosts: [...base.routes['80'].virtualHosts, wild('a')] } } };
  const c1 = compileConfig(cfg1, '1', undefined);
  const c2 = compileConfig(withHost(c1.source, 3, wild('b')), '2', undefined, c1);
  const to = (c: typeof c2, host: string) => (compiledHost(c, host).routes[0].action as { dests: CompiledDest[] }).dests[0].name;
  for (const host of ['a.wild.example', 'pre.x', 'other', 'exact.example']) {
    assert.equal(to(c2, host), 'b', host);
    assert.equal(to(c1, host), 'a', `${host}: the live table is unchanged`);
  }
  assert.equal(compiledHost(c2, 'x'), compiledHost(c1, 'x'));
});

test('a reused virtual host does not hide an error elsewhere: a bad new host or a duplicate domain still fails', () => {
  const c1 = compileConfig(config(1, 2), '1', undefined);
  const bad = withHost(c1.source, 1, { name: 'y:80', domains: ['y'], routes: [{ ...defaultRoute('a'), match: { path: { regex: '(' } } }] });
  assert.throws(() => compileConfig(bad, '2', undefined, c1), (e: unknown) => e instanceof ProxyConfigError && /virtual host "y:80".*invalid regex/.test(e.message));
  const dup = withHost(c1.source, 1, vh('x', 'b'));
  assert.throws(() => compileConfig(dup, '2', undefined, c1), /domain "x" of virtual host "x:80" is listed twice/);
});

let proxy: Proxy;
let events: Array<Record<string, unknown>>;
let out: number;
let admin: number;
let base: ProxyConfig;
const servers: Array<{ close(cb?: () => void): unknown }> = [];

before(async () => {
  const a = await app(APP_A, 0, named('a'));
  const b = await app(APP_B, 0, named('b'));
  servers.push(a.server, b.server);
  const p = await startProxy({ podIP: POD });
  proxy = p.proxy;
  events = p.events;
  out = p.out;
  admin = p.admin;
  base = config(a.port, b.port);
});

after(async () => {
  await proxy.close();
  await closeAll(servers);
});

const body = async (host: string) => (await send(POD, out, `http://${host}/`)).body;

test('a proxy applies a config sharing parts with the live one: new routes take effect, kept ones keep working, a bad one is refused', async () => {
  await proxy.apply(base, '1');
  assert.deepEqual([await body('x'), await body('y'), await body('z')], ['a', 'b', 'a']);
  const v2 = withHost(base, 0, vh('x', 'b'));
  const t2 = Date.now();
  await proxy.apply(v2, '2');
  assert.deepEqual([await body('x'), await body('y'), await body('z')], ['b', 'b', 'a']);
  // Only the first config is logged (as istio-proxy logs only that it is ready); the dump tells which is live, and since when.
  assert.deepEqual(events.filter((e) => e.event === 'config_applied').map((e) => e.version), ['1']);
  const dump = JSON.parse((await send(POD, admin, '/config_dump')).body) as { version: string; lastUpdated: string };
  assert.equal(dump.version, '2');
  assert.ok(Date.parse(dump.lastUpdated) >= t2 && Date.parse(dump.lastUpdated) <= Date.now(), dump.lastUpdated);
  // A refused config leaves the live one, reused parts included, as it was.
  const bad = withHost(v2, 2, { name: 'z:80', domains: ['z'], routes: [{ ...defaultRoute('a'), match: { path: { regex: '(' } } }] });
  await assert.rejects(proxy.apply(bad, '3'), ProxyConfigError);
  assert.equal(events.at(-1)!.event, 'config_rejected');
  assert.deepEqual([await body('x'), await body('y'), await body('z')], ['b', 'b', 'a']);
  // A cluster change on top of shared routes reaches the cluster manager: z now goes to b's app.
  const v4 = { ...v2, clusters: { ...v2.clusters, a: { ...v2.clusters.b, name: 'a' } } };
  await proxy.apply(v4, '4');
  assert.deepEqual([await body('x'), await body('y'), await body('z')], ['b', 'b', 'b']);
});
