import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { alive, cs, isReady, startNode, waitFor, type NodeEnv } from '../node.test-helper.ts';
import { type PidRecord, readPidFile } from '../pids.ts';
import { hostedDefaults } from './hosted.ts';

interface Answer {
  status: number;
  body: string;
  hostPid: string | undefined;
}

function get(url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, hostPid: res.headers['x-host-pid'] as string | undefined }));
      })
      .on('error', reject);
  });
}

/** The first answer of a pod's app (Ready comes from a TCP check, so the first try may race the listen). */
async function answer(url: string): Promise<Answer> {
  let got: Answer | undefined;
  await waitFor(`${url} answers`, async () => {
    got = await get(url).catch(() => undefined);
    return got;
  });
  return got!;
}

function records(n: NodeEnv): PidRecord[] {
  return readPidFile(n.dataDir);
}

function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
}

const hello = (extra: Record<string, unknown> = {}) => ({ containers: [{ name: 'hello', image: 'honester/hello-server', ports: [{ containerPort: 8080 }], ...extra }] });

describe('app host: built-in server apps of many containers in one process', () => {
  let n: NodeEnv;
  before(async () => {
    n = await startNode();
  });
  after(async () => {
    await n.close();
  });

  it('runs each hosted app on its pod IP in one shared host, each container behind a sleeping stub of its own', async () => {
    n.pod('h1', hello());
    n.pod('h2', hello());
    const [p1, p2] = [await n.until('h1', 'ready', isReady), await n.until('h2', 'ready', isReady)];
    const [a1, a2] = [await answer(`http://${p1.status.podIP}:8080/x`), await answer(`http://${p2.status.podIP}:8080/y`)];
    assert.deepEqual(JSON.parse(a1.body), { app: 'hello', args: [], path: '/x', port: '8080' });
    assert.ok(a1.hostPid && a1.hostPid === a2.hostPid, 'both apps answer from the same host process');
    const c1 = n.agent.container('default', 'h1', 'hello')!;
    const c2 = n.agent.container('default', 'h2', 'hello')!;
    assert.notEqual(c1.pid, c2.pid);
    assert.match(cmdline(c1.pid!), /sleep infinity/);
    await waitFor('pids.json lists the stubs and the host', () => records(n).length === 3);
    const host = records(n).find((r) => r.container === 'skiff-app-host');
    assert.equal(String(host?.pgid), a1.hostPid);
    assert.equal(host?.pod, '');
    // The host writes each app's output to its container's log file, with the usual timestamps.
    const log = readFileSync(n.agent.logFiles('default', 'h1', 'hello')!.current, 'utf8');
    assert.match(log, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z hello listening on 127\.42\.\d+\.\d+:8080\n$/);
  });

  it('a stub killed from outside ends its container with 137; the container restarts, counted, on the same port', async () => {
    n.pod('k1', hello());
    const p = await n.until('k1', 'ready', isReady);
    const before = n.agent.container('default', 'k1', 'hello')!.pid!;
    process.kill(-before, 'SIGKILL');
    const q = await n.until('k1', 'restarted and ready', (x) => cs(x).restartCount === 1 && isReady(x));
    assert.equal(cs(q).lastState.terminated.exitCode, 137);
    assert.equal(cs(q).lastState.terminated.reason, 'Error');
    assert.equal((await answer(`http://${p.status.podIP}:8080/`)).status, 200);
  });

  it('SIGTERM to the stub stops the app as its own SIGTERM would: exit code 0, Completed', async () => {
    n.pod('t1', { restartPolicy: 'Never', ...hello() });
    const p = await n.until('t1', 'ready', isReady);
    await answer(`http://${p.status.podIP}:8080/`);
    process.kill(n.agent.container('default', 't1', 'hello')!.pid!, 'SIGTERM');
    const q = await n.until('t1', 'terminated', (x) => cs(x).state?.terminated);
    assert.equal(cs(q).state.terminated.exitCode, 0);
    assert.equal(cs(q).state.terminated.reason, 'Completed');
    assert.equal(q.status.phase, 'Succeeded');
    await assert.rejects(get(`http://${p.status.podIP}:8080/`), 'the app no longer listens');
  });

  it('an app that throws ends only its own container, with exit code 1 and the error in its log; its neighbour keeps serving', async () => {
    n.pod('c1', hello());
    n.pod('c2', hello());
    const [p1, p2] = [await n.until('c1', 'ready', isReady), await n.until('c2', 'ready', isReady)];
    const before = await answer(`http://${p2.status.podIP}:8080/`);
    await assert.rejects(get(`http://${p1.status.podIP}:8080/crash`), 'the crashing request gets no answer');
    const q = await n.until('c1', 'restarted', (x) => cs(x).restartCount === 1);
    assert.equal(cs(q).lastState.terminated.exitCode, 1);
    const prev = readFileSync(n.agent.logFiles('default', 'c1', 'hello')!.previous!, 'utf8');
    assert.match(prev, /Error: hello crashed on purpose/);
    assert.match(prev, /Node\.js v\d+/);
    const after = await get(`http://${p2.status.podIP}:8080/`);
    assert.equal(after.hostPid, before.hostPid, 'the host did not restart');
    assert.equal(cs(n.get('c2')).restartCount, 0);
    // A rejected promise nobody handles ends its app the same way.
    await n.until('c1', 'ready again', isReady);
    await answer(`http://${p1.status.podIP}:8080/`);
    await get(`http://${p1.status.podIP}:8080/reject`);
    const r = await n.until('c1', 'restarted twice', (x) => cs(x).restartCount === 2);
    assert.equal(cs(r).lastState.terminated.exitCode, 1);
  });

  it('a port already taken ends the container with exit code 1 and the app message in its log', async () => {
    n.pod('twice', { containers: [{ name: 'a', image: 'honester/hello-server', ports: [{ containerPort: 8080 }] }, { name: 'b', image: 'honester/hello-server', env: [{ name: 'PORT', value: '8080' }] }] });
    const p = await n.until('twice', 'a container failed', (x) => (x.status?.containerStatuses ?? []).some((s: Record<string, any>) => s.lastState?.terminated || s.state?.terminated));
    const failed = p.status.containerStatuses.find((s: Record<string, any>) => s.lastState?.terminated || s.state?.terminated);
    assert.equal((failed.lastState.terminated ?? failed.state.terminated).exitCode, 1);
    const files = n.agent.logFiles('default', 'twice', failed.name)!;
    const text = readFileSync(files.previous ?? files.current, 'utf8');
    assert.match(text, /cannot listen on 127\.42\.\d+\.\d+:8080: the port is already in use/);
  });

  it('the host killed with -9 ends every hosted container; they restart in a new host', async () => {
    n.pod('d1', hello());
    n.pod('d2', hello());
    const [p1, p2] = [await n.until('d1', 'ready', isReady), await n.until('d2', 'ready', isReady)];
    const old = (await answer(`http://${p1.status.podIP}:8080/`)).hostPid!;
    const before = [cs(p1).restartCount, cs(p2).restartCount];
    process.kill(-Number(old), 'SIGKILL');
    await n.until('d1', 'restarted', (x) => cs(x).restartCount === before[0] + 1 && isReady(x));
    await n.until('d2', 'restarted', (x) => cs(x).restartCount === before[1] + 1 && isReady(x));
    assert.equal(cs(n.get('d1')).lastState.terminated.exitCode, 137);
    const now = (await answer(`http://${p2.status.podIP}:8080/`)).hostPid!;
    assert.notEqual(now, old);
    assert.equal(alive(Number(old)), false);
    await waitFor('pids.json names the new host', () => records(n).some((r) => r.container === 'skiff-app-host' && String(r.pgid) === now));
  });

  // A hung host spins a core until killed: a timeout (then after() closes the agent) and the finally make sure it goes.
  it('a host that hangs does not answer a stop: it is killed after ackMs, and every app in it restarts', { timeout: 30_000 }, async () => {
    const ackMs = hostedDefaults.ackMs;
    hostedDefaults.ackMs = 300;
    let host = 0;
    try {
      n.pod('b1', hello());
      n.pod('b2', hello());
      const [p1, p2] = [await n.until('b1', 'ready', isReady), await n.until('b2', 'ready', isReady)];
      host = Number((await answer(`http://${p1.status.podIP}:8080/`)).hostPid);
      const before = cs(n.get('b2')).restartCount;
      get(`http://${p1.status.podIP}:8080/block`).catch(() => undefined);
      const log = n.agent.logFiles('default', 'b1', 'hello')!.current;
      await waitFor('the app blocks', () => readFileSync(log, 'utf8').includes('blocking'));
      process.kill(n.agent.container('default', 'b1', 'hello')!.pid!, 'SIGTERM');
      await waitFor('the hung host is killed', () => !alive(host));
      await n.until('b2', 'restarted in a new host', (x) => cs(x).restartCount === before + 1 && isReady(x));
      assert.equal(cs(n.get('b2')).lastState.terminated.exitCode, 137);
      assert.notEqual(Number((await answer(`http://${p2.status.podIP}:8080/`)).hostPid), host);
    } finally {
      hostedDefaults.ackMs = ackMs;
      if (host && alive(host)) process.kill(-host, 'SIGKILL');
    }
  });

  it('containers with a command, stdin or a client app run as their own process', async () => {
    n.pod('own', { containers: [{ name: 'f', image: 'fortio/fortio', command: ['/usr/bin/fortio', 'server'], ports: [{ containerPort: 8080 }] }] });
    n.pod('cli', { restartPolicy: 'Never', containers: [{ name: 'f', image: 'fortio/fortio', args: ['load', 'http://x/'], ports: [{ containerPort: 8080 }] }] });
    n.pod('tty', { containers: [{ name: 'h', image: 'honester/hello-server', stdin: true, ports: [{ containerPort: 8080 }] }] });
    for (const [name, ctr] of [['own', 'f'], ['cli', 'f'], ['tty', 'h']]) {
      await n.until(name, 'started', (x) => cs(x).state?.running || cs(x).state?.terminated);
      const pid = n.agent.container('default', name, ctr)!.pid;
      assert.ok(pid, name);
      assert.match(cmdline(pid), /fake-skiff\.mjs app (fortio|hello)/, name);
    }
  });
});

describe('app host lifecycle', () => {
  it('close() stops the host with the containers, leaving an empty pids file and no process', async () => {
    const n = await startNode();
    try {
      n.pod('a', hello());
      const p = await n.until('a', 'ready', isReady);
      const host = Number((await answer(`http://${p.status.podIP}:8080/`)).hostPid);
      const stub = n.agent.container('default', 'a', 'hello')!.pid!;
      await n.agent.close();
      assert.equal(alive(host), false);
      assert.equal(alive(stub), false);
      assert.deepEqual(records(n), []);
    } finally {
      await n.close();
    }
  });

  it('a new agent after the old one died without close() kills the old host and stubs, and runs the pod once', async () => {
    const n = await startNode();
    try {
      n.pod('s', hello());
      const p = await n.until('s', 'ready', isReady);
      const host = Number((await answer(`http://${p.status.podIP}:8080/`)).hostPid);
      const stub = n.agent.container('default', 's', 'hello')!.pid!;
      n.agent.abandon();
      assert.ok(alive(host) && alive(stub), 'the host and the stub outlive a dead agent');
      assert.equal((await get(`http://${p.status.podIP}:8080/`)).status, 200, 'the app keeps serving');
      const next = n.newAgent();
      await next.start();
      assert.equal(alive(host), false);
      assert.equal(alive(stub), false);
      await n.until('s', 'running again', (x) => cs(x).restartCount === 1 && isReady(x));
      const now = Number((await answer(`http://${p.status.podIP}:8080/`)).hostPid);
      assert.notEqual(now, host);
    } finally {
      await n.close();
    }
  });

  it('an idle host quits; the next hosted container starts a new one', async () => {
    const n = await startNode({ appHostIdleMs: 100 });
    try {
      n.pod('i1', { terminationGracePeriodSeconds: 1, ...hello() });
      const p = await n.until('i1', 'ready', isReady);
      const host = Number((await answer(`http://${p.status.podIP}:8080/`)).hostPid);
      n.env.registry.deleteSync('pods', 'default', 'i1');
      await waitFor('the idle host quits', () => !alive(host) && records(n).length === 0);
      n.pod('i2', hello());
      const q = await n.until('i2', 'ready', isReady);
      assert.notEqual(Number((await answer(`http://${q.status.podIP}:8080/`)).hostPid), host);
    } finally {
      await n.close();
    }
  });

  it('appHost: false (SKIFF_APP_HOST=0) runs every container as its own process', async () => {
    const n = await startNode({ appHost: false });
    try {
      n.pod('solo', hello());
      const p = await n.until('solo', 'ready', isReady);
      const a = await answer(`http://${p.status.podIP}:8080/`);
      assert.equal(a.hostPid, undefined);
      assert.match(cmdline(n.agent.container('default', 'solo', 'hello')!.pid!), /fake-skiff\.mjs app hello/);
    } finally {
      await n.close();
    }
  });

  it('the real `skiff app-host` runs the real apps: their log lines, and the standalone message for a port taken', async () => {
    const main = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
    const n = await startNode({ appHost: [process.execPath, '--import', import.meta.resolve('tsx'), main, 'app-host'] });
    try {
      n.pod('real', { containers: [
        { name: 'a', image: 'honester/hello-server', env: [{ name: 'LOG', value: '1' }, { name: 'VERSION', value: 'v7' }], ports: [{ containerPort: 8080 }] },
        { name: 'b', image: 'honester/hello-server', env: [{ name: 'PORT', value: '8080' }] },
      ] });
      const p = await n.until('real', 'one container failed', (x) => (x.status?.containerStatuses ?? []).some((s: Record<string, any>) => s.lastState?.terminated));
      const failed = p.status.containerStatuses.find((s: Record<string, any>) => s.lastState?.terminated);
      const other = failed.name === 'a' ? 'b' : 'a';
      assert.equal(failed.lastState.terminated.exitCode, 1);
      // Before the restart the failed run's file is still the current one; after it, the previous one.
      const files = n.agent.logFiles('default', 'real', failed.name)!;
      const text = readFileSync(files.previous ?? files.current, 'utf8');
      assert.match(text, / hello: cannot listen on 127\.42\.\d+\.\d+:8080: the port is already in use \(another container of this pod, or a program on this machine, listens there\)\n$/);
      const a = await answer(`http://${p.status.podIP}:8080/`);
      assert.equal(a.body, other === 'a' ? 'Hello server - v7\n' : 'Hello server - v1\n');
      if (other === 'a') {
        await waitFor('the request is logged', () => /Hello server - v7 - 200/.test(readFileSync(n.agent.logFiles('default', 'real', 'a')!.current, 'utf8')));
      }
    } finally {
      await n.close();
    }
  });
});
