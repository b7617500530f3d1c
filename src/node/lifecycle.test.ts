import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { alive, cs, isReady, startNode, waitFor } from './node.test-helper.ts';
import { readPidFile } from './pids.ts';

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('NodeAgent with built-in images', () => {
  it('runs a built-in image through `skiff app <id>` on POD_IP:PORT, with an httpGet readiness probe', async () => {
    const n = await startNode();
    try {
      n.pod('users', { containers: [{ name: 'userlist', image: 'docker.io/ssongman/userlist:v1', ports: [{ containerPort: 8181 }], readinessProbe: { httpGet: { path: '/healthz', port: 8181 }, periodSeconds: 1 } }] });
      const p = await n.until('users', 'ready', isReady);
      const r = await get(`http://${p.status.podIP}:8181/x`);
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { app: 'userlist', args: [], path: '/x', port: '8181' });
      n.pod('reviews', { containers: [{ name: 'reviews', image: 'istio/examples-bookinfo-reviews-v2:1.20.1', ports: [{ containerPort: 9080 }] }] });
      const q = await n.until('reviews', 'ready', isReady);
      // Ready without a readiness probe means started, not yet listening: retry until it answers.
      let body = '';
      await waitFor('reviews answers', () => {
        get(`http://${q.status.podIP}:9080/`).then((r) => (body = r.body), () => undefined);
        return body;
      });
      assert.deepEqual(JSON.parse(body).args, ['reviews', 'v2']);
    } finally {
      await n.close();
    }
  });

  it('serves a port below the unprivileged limit on port+20000 and records the map on the pod', async () => {
    const n = await startNode({ privilegedPortStart: 1024 });
    try {
      n.pod('hello', { containers: [{ name: 'hello', image: 'honester/hello-server', ports: [{ containerPort: 80 }], readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 1 } }] });
      const p = await n.until('hello', 'ready', isReady);
      assert.equal(p.metadata.annotations?.['skiff.dev/port-map'], '{"80":20080}');
      assert.equal(n.agent.container('default', 'hello', 'hello')!.env.PORT, '20080');
      assert.deepEqual(n.agent.container('default', 'hello', 'hello')!.portMap, { '80': 20080 });
      assert.equal((await get(`http://${p.status.podIP}:20080/`)).status, 200);
    } finally {
      await n.close();
    }
  });
});

describe('NodeAgent process hygiene', () => {
  it('close() stops every process and empties the pids file', async () => {
    const n = await startNode();
    try {
      n.pod('a', { containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'trap "" TERM; sleep 1000 & wait'] }] });
      n.pod('b', { containers: [{ name: 'app', image: 'alpine', command: ['sleep', '1000'] }] });
      await n.until('a', 'running', (x) => cs(x).state?.running);
      await n.until('b', 'running', (x) => cs(x).state?.running);
      const pids = [n.agent.container('default', 'a', 'app')!.pid!, n.agent.container('default', 'b', 'app')!.pid!];
      await n.agent.close();
      for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} still alive`);
      assert.deepEqual(readPidFile(n.dataDir), []);
    } finally {
      await n.close();
    }
  });

  it('a new agent after the old one died without close() kills the orphans and runs each pod once', async () => {
    const n = await startNode();
    try {
      n.pod('survivor', { containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'sleep 1000 & wait'] }] });
      await n.until('survivor', 'running', (x) => cs(x).state?.running);
      const old = n.agent.container('default', 'survivor', 'app')!;
      const ip = n.get('survivor').status.podIP;
      n.agent.abandon();
      assert.ok(alive(old.pid!));
      const next = n.newAgent();
      await next.start();
      // start() returns once the orphans are gone (a zombie child of this test process counts as gone).
      assert.equal(alive(old.pid!), false);
      const p = await n.until('survivor', 'running again', (x) => cs(x).state?.running && cs(x).restartCount === 1);
      assert.equal(p.status.podIP, ip, 'the pod keeps its address');
      assert.equal(cs(p).lastState.terminated.reason, 'Unknown');
      const now = next.container('default', 'survivor', 'app')!;
      assert.ok(now.running && alive(now.pid!));
      // The file is written on the next turn of the event loop.
      const pgids = (): number[] => readPidFile(n.dataDir).map((r) => r.pgid);
      await waitFor('pids.json names the new group', () => pgids().length > 0);
      assert.deepEqual(pgids(), [now.pid]);
    } finally {
      await n.close();
    }
  });

  it('after the agent died, a restartPolicy Never pod whose container was running fails instead of running again', async () => {
    const n = await startNode();
    try {
      n.pod('once', { restartPolicy: 'Never', containers: [{ name: 'app', image: 'busybox', command: ['sleep', '1000'] }] });
      await n.until('once', 'running', (x) => cs(x).state?.running);
      const old = n.agent.container('default', 'once', 'app')!;
      n.agent.abandon();
      const next = n.newAgent();
      await next.start();
      assert.equal(alive(old.pid!), false);
      const p = await n.until('once', 'failed', (x) => x.status?.phase === 'Failed');
      assert.equal(cs(p).state.terminated.reason, 'Unknown');
      assert.equal(cs(p).state.terminated.exitCode, 255);
      assert.equal(cs(p).restartCount, 0);
      assert.equal(next.container('default', 'once', 'app')?.running ?? false, false);
    } finally {
      await n.close();
    }
  });

  it('brings 100 pods to Ready', async () => {
    const n = await startNode();
    try {
      const t0 = Date.now();
      for (let i = 0; i < 100; i++) n.pod(`many-${i}`, { containers: [{ name: 'app', image: 'busybox', command: ['sleep', '1000'] }] });
      // Polls every 100 ms: listing 100 pods every 10 ms would cost the agent a good part of the CPU.
      for (let i = 0; n.env.registry.listSync('pods', 'default').items.filter(isReady).length < 100; i++) {
        assert.ok(i < 300, 'timed out waiting for 100 ready pods');
        await new Promise((r) => setTimeout(r, 100));
      }
      const ips = new Set(n.env.registry.listSync('pods', 'default').items.map((p) => p.status.podIP));
      assert.equal(ips.size, 100);
      process.stderr.write(`# 100 pods ready in ${Date.now() - t0} ms\n`);
    } finally {
      await n.close();
    }
  });
});
