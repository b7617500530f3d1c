import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { startEnv, waitFor } from '../controllers/env.test-helper.ts';
import { ServiceProxy } from './index.ts';
import { appServer, closeAll, freePort, freePortOn, get, raw, runPod, setPodStatus } from './net.test-helper.ts';

// This file's pods live in 127.42.7.0/24, so test files running in parallel never share an address.
const A = '127.42.7.2';
const B = '127.42.7.3';

async function names(host: string, port: number, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await get(host, port)).body.trim());
  return out;
}

/** Resolves true when the connection is closed or reset without any data. */
function closedWithoutData(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let data = false;
    s.on('data', () => (data = true));
    s.on('error', () => {});
    s.on('close', () => resolve(!data));
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

async function setup(spec: Record<string, unknown>) {
  const env = startEnv();
  const podPort = await freePortOn([A, B]);
  const servers = [await appServer(A, podPort, 'a'), await appServer(B, podPort, 'b')];
  const proxy = new ServiceProxy({ client: env.registry, proxyPort: await freePortOn([A, B]) });
  await proxy.start();
  await runPod(env.registry, 'default', 'a', { ip: A, port: podPort, labels: { app: 'web' } });
  await runPod(env.registry, 'default', 'b', { ip: B, port: podPort, labels: { app: 'web' } });
  const svcPort = await freePort();
  const svc = await env.registry.create('services', 'default', {
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: svcPort, targetPort: 'http' }], ...spec },
  });
  const ip = svc.spec.clusterIP as string;
  await waitFor('both endpoints ready through the cluster IP', () => proxy.pick('default', 'web', svcPort) && proxy.pick('default', 'web', 'http') && proxy.listeners().some((l) => l.address === `${ip}:${svcPort}`));
  return {
    env,
    proxy,
    ip,
    svcPort,
    svc,
    async close() {
      await proxy.close();
      await closeAll(servers);
      env.close();
    },
  };
}

test('the cluster IP balances round robin over ready endpoints and drops one that turns unready', async () => {
  const t = await setup({});
  try {
    await waitFor('two ready endpoints', () => new Set([1, 2, 3, 4].map(() => t.proxy.pick('default', 'web', t.svcPort)?.host)).size === 2);
    const got = await names(t.ip, t.svcPort, 6);
    assert.deepEqual(new Set(got), new Set(['a', 'b']));
    // Strict alternation: round robin, not random.
    for (let i = 1; i < got.length; i++) assert.notEqual(got[i], got[i - 1]);

    setPodStatus(t.env.registry, 'default', 'b', B, false);
    for (;;) {
      const r = await names(t.ip, t.svcPort, 4);
      if (r.every((n) => n === 'a')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(t.proxy.pick('default', 'web', 'http')?.host, A);

    // No ready endpoint: the connection is accepted and closed (kube-proxy REJECT).
    setPodStatus(t.env.registry, 'default', 'a', A, false);
    await waitFor('no endpoint', () => !t.proxy.pick('default', 'web', t.svcPort));
    assert.equal(await closedWithoutData(t.ip, t.svcPort), true);
  } finally {
    await t.close();
  }
});

test('ClientIP affinity pins a client to one endpoint', async () => {
  const t = await setup({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } });
  try {
    await waitFor('two ready endpoints', () => t.proxy.listeners().length && new Set(['x', 'y', 'z', 'w'].map((c) => t.proxy.pick('default', 'web', t.svcPort, c)?.host)).size === 2);
    const got = await names(t.ip, t.svcPort, 6);
    assert.equal(new Set(got).size, 1, got.join(','));
    const first = t.proxy.pick('default', 'web', t.svcPort, '127.0.0.9');
    for (let i = 0; i < 5; i++) assert.equal(t.proxy.pick('default', 'web', t.svcPort, '127.0.0.9')?.host, first?.host);
    // The pinned endpoint turning unready moves the client.
    const pinned = first!.host;
    setPodStatus(t.env.registry, 'default', pinned === A ? 'a' : 'b', pinned, false);
    await waitFor('client moved', () => t.proxy.pick('default', 'web', t.svcPort, '127.0.0.9')?.host === (pinned === A ? B : A));
  } finally {
    await t.close();
  }
});

test('a NodePort service answers on 127.0.0.1:nodePort and deletion closes its listeners', async () => {
  const t = await setup({ type: 'NodePort' });
  try {
    const nodePort = t.svc.spec.ports[0].nodePort as number;
    assert.ok(nodePort >= 30000 && nodePort <= 32767);
    await waitFor('node port listener', () => t.proxy.listeners().some((l) => l.address === `127.0.0.1:${nodePort}` && l.kind === 'node' && !l.error));
    assert.match((await get('127.0.0.1', nodePort)).body, /^[ab]\n$/);
    assert.match((await get(t.ip, t.svcPort)).body, /^[ab]\n$/);

    await t.env.registry.delete('services', 'default', 'web');
    await waitFor('listeners closed', () => !t.proxy.listeners().some((l) => l.owner === 'default/web'));
    await assert.rejects(get('127.0.0.1', nodePort), /ECONNREFUSED/);
    await assert.rejects(get(t.ip, t.svcPort), /ECONNREFUSED/);
  } finally {
    await t.close();
  }
});

test('a LoadBalancer service also listens on 127.0.0.1:port when that port is free', async () => {
  const t = await setup({ type: 'LoadBalancer' });
  try {
    await waitFor('lb listener', () => t.proxy.listeners().some((l) => l.address === `127.0.0.1:${t.svcPort}` && l.kind === 'lb'));
    assert.match((await get('127.0.0.1', t.svcPort)).body, /^[ab]\n$/);
  } finally {
    await t.close();
  }
});

test('a port change moves the cluster IP listener, and the port-map annotation is honoured', async () => {
  const env = startEnv();
  const bound = await freePort(A);
  const server = await appServer(A, bound, 'mapped');
  const proxy = new ServiceProxy({ client: env.registry, proxyPort: await freePort(A) });
  try {
    await proxy.start();
    // The app could not bind its containerPort 80 and the node agent recorded where it went.
    await runPod(env.registry, 'default', 'm', { ip: A, port: 80, labels: { app: 'm' }, annotations: { 'skiff.dev/port-map': JSON.stringify({ 80: bound }) } });
    const p1 = await freePort();
    const svc = await env.registry.create('services', 'default', { metadata: { name: 'm' }, spec: { selector: { app: 'm' }, ports: [{ port: p1, targetPort: 80 }] } });
    const ip = svc.spec.clusterIP as string;
    await waitFor('endpoint', () => proxy.pick('default', 'm', p1)?.port === bound && proxy.listeners().some((l) => l.address === `${ip}:${p1}`));
    assert.equal((await get(ip, p1)).body, 'mapped\n');

    const p2 = await freePort();
    const cur = env.registry.getSync('services', 'default', 'm');
    await env.registry.update('services', 'default', { ...cur, spec: { ...cur.spec, ports: [{ port: p2, targetPort: 80 }] } });
    await waitFor('listener moved', () => proxy.listeners().some((l) => l.address === `${ip}:${p2}`) && !proxy.listeners().some((l) => l.address === `${ip}:${p1}`));
    assert.equal((await get(ip, p2)).body, 'mapped\n');
    await assert.rejects(get(ip, p1), /ECONNREFUSED/);

    await proxy.close();
    await proxy.close();
    assert.deepEqual(proxy.listeners(), []);
    await assert.rejects(get(ip, p2), /ECONNREFUSED/);
  } finally {
    await proxy.close();
    await closeAll([server]);
    env.close();
  }
});

test('a half-closed client still gets the reply: FIN is forwarded, the other direction keeps flowing', async () => {
  const env = startEnv();
  const port = await freePort(A);
  // Answers only after the client's FIN, then closes: needs half-close through the proxy.
  const server = net.createServer({ allowHalfOpen: true }, (c) => {
    let got = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => (got += d));
    c.on('end', () => c.end(`got:${got}`));
  });
  await new Promise<void>((r) => server.listen(port, A, r));
  const proxy = new ServiceProxy({ client: env.registry, proxyPort: await freePort(A) });
  try {
    await proxy.start();
    await runPod(env.registry, 'default', 'h', { ip: A, port, labels: { app: 'h' } });
    const svcPort = await freePort();
    const svc = await env.registry.create('services', 'default', { metadata: { name: 'h' }, spec: { selector: { app: 'h' }, ports: [{ port: svcPort, targetPort: port }] } });
    const ip = svc.spec.clusterIP as string;
    await waitFor('ready', () => proxy.pick('default', 'h', svcPort) && proxy.listeners().some((l) => l.address === `${ip}:${svcPort}`));
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: ip, port: svcPort, allowHalfOpen: true });
      let out = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (out += d));
      s.on('end', () => resolve(out));
      s.on('error', reject);
      s.end('abc');
    });
    assert.equal(reply, 'got:abc');
  } finally {
    await proxy.close();
    await closeAll([server]);
    env.close();
  }
});

test('a cluster IP port that cannot be bound is logged once, and pods still reach the service by name', async () => {
  const env = startEnv();
  const logs: Array<Record<string, unknown>> = [];
  const port = await freePort(A);
  const app = await appServer(A, port, 'app');
  const clusterIP = `127.43.${200 + Math.floor(Math.random() * 50)}.${2 + Math.floor(Math.random() * 250)}`;
  const svcPort = await freePort(clusterIP);
  // Stands in for EACCES on a port below 1024 without root: the bind fails either way.
  const squatter = net.createServer();
  await new Promise<void>((r) => squatter.listen(svcPort, clusterIP, r));
  const proxy = new ServiceProxy({ client: env.registry, proxyPort: await freePort(A), log: (e) => logs.push(e) });
  try {
    await proxy.start();
    await runPod(env.registry, 'default', 'app', { ip: A, port, labels: { app: 'app' } });
    await env.registry.create('services', 'default', { metadata: { name: 'app' }, spec: { clusterIP, selector: { app: 'app' }, ports: [{ port: svcPort, targetPort: port }] } });
    await waitFor('failure recorded', () => proxy.listeners().find((l) => l.address === `${clusterIP}:${svcPort}` && l.error === 'EADDRINUSE'));
    // An update reconciles again: the failure is not logged a second time.
    const cur = env.registry.getSync('services', 'default', 'app');
    await env.registry.update('services', 'default', { ...cur, metadata: { ...cur.metadata, labels: { touched: 'yes' } } });
    await waitFor('pod proxy', () => proxy.pick('default', 'app', svcPort) && proxy.listeners().some((l) => l.kind === 'pod-proxy'));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(logs.filter((l) => l.code === 'EADDRINUSE').length, 1);
    const proxyPort = Number(proxy.listeners().find((l) => l.kind === 'pod-proxy')!.address.split(':')[1]);
    const viaName = await raw(A, proxyPort, `GET http://app:${svcPort}/ HTTP/1.1\r\nHost: app:${svcPort}\r\nConnection: close\r\n\r\n`);
    assert.match(viaName, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n(4\r\n)?app\n/);
    const viaIP = await raw(A, proxyPort, `GET http://${clusterIP}:${svcPort}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(viaIP, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n(4\r\n)?app\n/);

    // The pod stops: its proxy listener goes away.
    const pod = env.registry.getSync('pods', 'default', 'app');
    env.registry.writeSync('pods', 'default', { ...pod, status: { ...pod.status, phase: 'Succeeded' } }, 'status');
    await waitFor('pod proxy closed', () => !proxy.listeners().some((l) => l.kind === 'pod-proxy'));
    await assert.rejects(get(A, proxyPort), /ECONNREFUSED/);
  } finally {
    await proxy.close();
    await closeAll([app, squatter]);
    env.close();
  }
});
