import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import type { ProxyConfig, RouteConfig, VirtualHost } from '../proxy/index.ts';
import { applyDelta, DeltaBaseError } from './delta.ts';
import { Lines } from './lines.ts';
import { StreamClient, type ConfigMessage, type DeltaMessage, type ReplyMessage } from './stream.ts';
import { until } from './stream.test-helper.ts';

function vhost(name: string, cluster: string): VirtualHost {
  return { name, domains: [name], routes: [{ name: 'default', match: {}, action: { kind: 'route', clusters: [{ cluster, weight: 100 }], timeoutMs: 0, retry: { numRetries: 0, retryOn: [], retryIgnorePreviousHosts: false, backoffBaseMs: 25 } } }] };
}

function config(): ProxyConfig {
  const rc: RouteConfig = { name: '80', virtualHosts: [vhost('a', 'ca'), vhost('b', 'cb'), vhost('c', 'cc')] };
  const cl = (name: string) => ({ name, type: 'eds' as const, protocol: 'http1' as const, endpoints: [], lbPolicy: 'ROUND_ROBIN' as const, connectTimeoutMs: 1000, circuitBreakers: { maxConnections: 1, maxPendingRequests: 1, maxRequests: 1, maxRetries: 1 }, maxRequestsPerConnection: 0, idleTimeoutMs: 1000, healthyPanicThreshold: 50 });
  return {
    node: { id: 'sidecar~127.0.0.1~p.ns~ns.svc.cluster.local', kind: 'sidecar', namespace: 'ns', pod: 'p', podIP: '127.0.0.1', labels: {}, serviceAccount: 'default', workload: 'p', app: 'p', version: 'v1', canonicalService: 'p', canonicalRevision: 'v1', principal: 'spiffe://cluster.local/ns/ns/sa/default' },
    outbound: { '80': { port: 80, protocol: 'http', routeConfig: '80' } },
    inbound: [],
    gateway: [],
    routes: { '80': rc, old: { name: 'old', virtualHosts: [] } },
    clusters: { ca: cl('ca'), cb: cl('cb'), cc: cl('cc') },
    outboundTrafficPolicy: 'ALLOW_ANY',
    accessLog: { enabled: true },
    tracing: { samplingPerMillion: 10000 },
  };
}

test('applyDelta() replaces what the delta names, keeps everything else by identity, and leaves the base as it was', () => {
  const base = config();
  const before = structuredClone(base);
  const b2 = vhost('b', 'cc');
  const d = applyDelta(base, { set: { accessLog: { enabled: false } }, clusters: { cd: { ...base.clusters.ca, name: 'cd' } }, removeClusters: ['cb'], routes: { '80': { name: '80', virtualHosts: [2, b2, 0] } }, removeRoutes: ['old'] });
  assert.deepEqual(base, before, 'the base is not modified');
  assert.deepEqual(d.accessLog, { enabled: false });
  assert.equal(d.node, base.node);
  assert.equal(d.outbound, base.outbound);
  assert.equal(d.tracing, base.tracing);
  assert.deepEqual(Object.keys(d.clusters).sort(), ['ca', 'cc', 'cd']);
  assert.equal(d.clusters.ca, base.clusters.ca);
  assert.deepEqual(Object.keys(d.routes), ['80']);
  const vhs = d.routes['80'].virtualHosts;
  assert.equal(vhs[0], base.routes['80'].virtualHosts[2], 'an index refers to the base virtual host itself');
  assert.equal(vhs[1], b2);
  assert.equal(vhs[2], base.routes['80'].virtualHosts[0]);
  const same = applyDelta(base, {});
  assert.equal(same.routes, base.routes);
  assert.equal(same.clusters, base.clusters);
  const removed = applyDelta(base, { remove: ['tracing'] });
  assert.equal('tracing' in removed, false);
});

test('applyDelta() refuses a virtual host index the base does not have', () => {
  assert.throws(() => applyDelta(config(), { routes: { '80': { name: '80', virtualHosts: [7] } } }), (e: unknown) => e instanceof DeltaBaseError && /virtual host #7/.test(e.message));
  assert.throws(() => applyDelta(config(), { routes: { new: { name: 'new', virtualHosts: [0] } } }), DeltaBaseError);
});

// A fake control plane: the test drives what is sent and sees every reply.
const servers: Array<() => Promise<void>> = [];
after(async () => {
  for (const s of servers) await s();
});

/** The control plane's end by hand: the upgrade answered byte for byte, then line-framed JSON. */
async function fakeControlPlane(): Promise<{ address: string; send(m: ConfigMessage | DeltaMessage): void; replies: ReplyMessage[]; requests: string[]; connections: () => number; dropAll(): void; greet(m: ConfigMessage | DeltaMessage): void; raw(b: Buffer, done: () => void): void }> {
  let greeting = '';
  const sockets = new Set<net.Socket>();
  let current: net.Socket | undefined;
  let n = 0;
  const replies: ReplyMessage[] = [];
  const requests: string[] = [];
  const server = net.createServer((s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    let head = Buffer.alloc(0);
    const onHead = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.off('data', onHead);
      requests.push(head.toString('latin1', 0, end));
      // The next handshake's answer may carry a first message in the same write (and TCP segment).
      s.write(`HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: skiff-config/1\r\n\r\n${greeting}`);
      greeting = '';
      current = s;
      n++;
      new Lines(s, (text) => replies.push(JSON.parse(text) as ReplyMessage), 1 << 20).receive(head.subarray(end + 4));
    };
    s.on('data', onHead);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return {
    address: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    send: (m) => current!.write(`${JSON.stringify(m)}\n`),
    replies,
    requests,
    connections: () => n,
    dropAll: () => {
      for (const s of sockets) s.destroy();
    },
    greet: (m) => (greeting = `${JSON.stringify(m)}\n`),
    raw: (b, done) => current!.write(b, () => done()),
  };
}

test('the stream client merges a delta into its last applied config, NACKs a refused one and keeps the base, and asks to resync when a delta does not fit', async () => {
  const cp = await fakeControlPlane();
  const applied: Array<{ config: ProxyConfig; version: string }> = [];
  let refuse = false;
  const client = new StreamClient({
    address: cp.address, token: 't', namespace: 'ns', pod: 'p',
    apply: async (config, version) => {
      if (refuse) throw new Error('bad config');
      applied.push({ config, version });
    },
  });
  client.start();
  servers.push(async () => client.close());
  await until(() => cp.connections() === 1);
  assert.deepEqual(cp.requests[0].split('\r\n'), ['GET /v1/config?pod=ns%2Fp HTTP/1.1', `host: ${cp.address.slice(7)}`, 'authorization: Bearer t', 'connection: Upgrade', 'upgrade: skiff-config/1']);
  const full = config();
  cp.send({ type: 'config', version: '1', nonce: 'n1', config: full });
  await until(() => cp.replies.length === 1);
  assert.deepEqual(cp.replies[0], { type: 'ack', version: '1', nonce: 'n1' });

  cp.send({ type: 'delta', version: '2', nonce: 'n2', base: '1', routes: { '80': { name: '80', virtualHosts: [0, vhost('b', 'ca'), 2] } } });
  await until(() => cp.replies.length === 2);
  assert.deepEqual(cp.replies[1], { type: 'ack', version: '2', nonce: 'n2' });
  const two = applied[1].config;
  assert.deepEqual(two, { ...full, routes: { ...full.routes, '80': { name: '80', virtualHosts: [full.routes['80'].virtualHosts[0], vhost('b', 'ca'), full.routes['80'].virtualHosts[2]] } } });
  // Unchanged parts arrive as the very objects of the previous apply (the proxy keeps their compiled form).
  assert.equal(two.clusters, applied[0].config.clusters);
  assert.equal(two.routes['80'].virtualHosts[2], applied[0].config.routes['80'].virtualHosts[2]);

  // A refused delta: NACK, and the client stays on version 2 as its base.
  refuse = true;
  cp.send({ type: 'delta', version: '3', nonce: 'n3', base: '2', removeClusters: ['ca'] });
  await until(() => cp.replies.length === 3);
  assert.deepEqual(cp.replies[2], { type: 'nack', version: '3', nonce: 'n3', error: 'bad config' });
  assert.equal(client.version, '2');
  refuse = false;
  // A delta built on the refused version cannot be applied: NACK with resync, apply is not called.
  cp.send({ type: 'delta', version: '4', nonce: 'n4', base: '3', set: { outboundTrafficPolicy: 'REGISTRY_ONLY' } });
  await until(() => cp.replies.length === 4);
  const r4 = cp.replies[3] as Extract<ReplyMessage, { type: 'nack' }>;
  assert.equal(r4.type, 'nack');
  assert.equal(r4.resync, true);
  assert.match(r4.error, /delta from version 3, but the proxy has 2/);
  assert.equal(applied.length, 2);
  // The control plane answers with a snapshot; deltas continue from it.
  cp.send({ type: 'config', version: '5', nonce: 'n5', config: { ...full, outboundTrafficPolicy: 'REGISTRY_ONLY' } });
  cp.send({ type: 'delta', version: '6', nonce: 'n6', base: '5', set: { accessLog: { enabled: false } } });
  await until(() => cp.replies.length === 6);
  assert.deepEqual(cp.replies.slice(4).map((r) => r.type), ['ack', 'ack']);
  assert.equal(client.version, '6');
  assert.equal(applied.at(-1)!.config.outboundTrafficPolicy, 'REGISTRY_ONLY');
  assert.deepEqual(applied.at(-1)!.config.accessLog, { enabled: false });
});

test('after a reconnect the client needs a snapshot: a delta on top of another stream\'s version is a resync', async () => {
  const cp = await fakeControlPlane();
  const applied: string[] = [];
  const client = new StreamClient({ address: cp.address, token: 't', namespace: 'ns', pod: 'p', backoffMs: 10, maxBackoffMs: 20, apply: async (_c, v) => void applied.push(v) });
  client.start();
  servers.push(async () => client.close());
  await until(() => cp.connections() === 1);
  cp.send({ type: 'config', version: '7', nonce: 'a', config: config() });
  await until(() => cp.replies.length === 1);
  // A restarted control plane counts versions from 1 again; its first message must be a snapshot.
  // This delta comes with the handshake's answer, and is refused at once: the NACK still goes out.
  cp.greet({ type: 'delta', version: '2', nonce: 'b', base: '1', set: {} });
  cp.dropAll();
  await until(() => cp.connections() === 2);
  await until(() => cp.replies.length === 2);
  assert.equal((cp.replies[1] as { resync?: boolean }).resync, true);
  cp.send({ type: 'config', version: '1', nonce: 'c', config: config() });
  await until(() => cp.replies.length === 3);
  assert.deepEqual(applied, ['7', '1']);
});

test('a snapshot many reads long, written in odd pieces with a delta behind it in the same write, arrives whole (read buffers are reused)', async () => {
  const cp = await fakeControlPlane();
  const applied: ProxyConfig[] = [];
  const client = new StreamClient({ address: cp.address, token: 't', namespace: 'ns', pod: 'p', apply: async (c) => void applied.push(c) });
  client.start();
  servers.push(async () => client.close());
  await until(() => cp.connections() === 1);
  const big = config();
  // ~400 KB of virtual hosts with multi-byte names, so pieces split characters too.
  big.routes['80'].virtualHosts = Array.from({ length: 2000 }, (_, i) => vhost(`größe-ü-${i}.example`, 'ca'));
  const text = Buffer.from(`${JSON.stringify({ type: 'config', version: '1', nonce: 'a', config: big })}\n${JSON.stringify({ type: 'delta', version: '2', nonce: 'b', base: '1', set: { outboundTrafficPolicy: 'REGISTRY_ONLY' } })}\n`);
  assert.ok(text.length > 4 * 65536);
  const write = (b: Buffer): Promise<void> => new Promise((r) => cp.raw(b, r));
  for (let at = 0; at < text.length; ) {
    const n = 1 + ((at * 7919) % 70001);
    await write(text.subarray(at, at + n));
    at += n;
  }
  await until(() => cp.replies.length === 2, 10_000);
  assert.deepEqual(cp.replies.map((r) => r.type), ['ack', 'ack']);
  assert.deepEqual(applied[0], big);
  assert.equal(applied[1].outboundTrafficPolicy, 'REGISTRY_ONLY');
});
