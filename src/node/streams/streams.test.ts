// Pod streams against the real kubectl 1.32: a real ApiServer (HTTPS, token) over a real Registry, a fake
// NodeRuntime whose containers are temp dirs and log files written here, and kubectl run as a child process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../store/index.ts';
import { ApiServer, Registry, ensurePki, type KObject } from '../../api/index.ts';
import type { ContainerLogFiles, ContainerRuntimeInfo, NodeRuntime } from '../types.ts';
import { installPodStreams } from './index.ts';
import { adler32, headerDictionary } from './spdy.ts';

const kubectlBin = join(process.cwd(), '.tools/v32/kubectl');
const hasKubectl = existsSync(kubectlBin);
const hasScript = existsSync('/usr/bin/script') || existsSync('/bin/script');

/** A NodeRuntime whose state the test sets directly. */
class FakeRuntime implements NodeRuntime {
  containers = new Map<string, ContainerRuntimeInfo>();
  logs = new Map<string, ContainerLogFiles>();
  container(ns: string, pod: string, c: string): ContainerRuntimeInfo | undefined {
    return this.containers.get(`${ns}/${pod}/${c}`);
  }
  logFiles(ns: string, pod: string, c: string): ContainerLogFiles | undefined {
    return this.logs.get(`${ns}/${pod}/${c}`);
  }
}

let dir: string;
let store: Store;
let reg: Registry;
let server: ApiServer;
let runtime: FakeRuntime;
let home: string;
let echoServer: Server;
let echoPort: number;
const events: Record<string, unknown>[] = [];

function ts(i: number): string {
  return `2026-01-01T00:00:0${i}.123456789Z`;
}

function makePod(name: string, containers: string[], o: { nodeName?: string; phase?: string; running?: string[]; annotations?: Record<string, string> } = {}): void {
  const pod: KObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: { ...(o.nodeName === '' ? {} : { nodeName: o.nodeName ?? 'skiff' }), containers: containers.map((c) => ({ name: c, image: 'busybox' })) },
  };
  const created = reg.createSync('pods', 'default', pod);
  const running = o.running ?? containers;
  created.status = {
    phase: o.phase ?? 'Running',
    podIP: '127.0.0.1',
    containerStatuses: containers.map((c) => ({
      name: c,
      ready: running.includes(c),
      restartCount: 1,
      image: 'busybox',
      imageID: '',
      state: running.includes(c) ? { running: { startedAt: '2026-01-01T00:00:00Z' } } : { waiting: { reason: 'ContainerCreating' } },
      ...(running.includes(c) ? { lastState: { terminated: { exitCode: 1, reason: 'Error', containerID: 'skiff://old' } } } : {}),
    })),
  };
  reg.writeSync('pods', 'default', created, 'status');
  for (const c of containers) {
    const cdir = join(dir, 'pods', name, c);
    mkdirSync(cdir, { recursive: true });
    if (!running.includes(c)) continue;
    runtime.containers.set(`default/${name}/${c}`, {
      namespace: 'default',
      pod: name,
      container: c,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', POD_IP: '127.0.0.1', GREETING: `hello from ${c}` },
      cwd: cdir,
      podIP: '127.0.0.1',
      running: true,
    });
    const current = join(cdir, 'current.log');
    const previous = join(cdir, 'previous.log');
    writeFileSync(current, [1, 2, 3].map((i) => `${ts(i)} ${c} line ${i}\n`).join(''));
    writeFileSync(previous, `${ts(0)} ${c} crashed before\n`);
    runtime.logs.set(`default/${name}/${c}`, { current, previous });
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-streams-'));
  store = new Store(join(dir, 'db'));
  reg = new Registry(store);
  reg.createSync('namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  const pki = await ensurePki(dir, { dns: ['localhost'], ips: ['127.0.0.1'] });
  const token = 'streams-test-token-0123456789';
  server = new ApiServer(reg, { host: '127.0.0.1', port: 0, tls: { key: pki.keyPem, cert: pki.certPem }, tokens: [token] });
  runtime = new FakeRuntime();
  installPodStreams(server, { client: reg, runtime, log: (e) => events.push(e) });
  const port = await server.listen();
  home = join(dir, 'home');
  mkdirSync(join(home, '.kube'), { recursive: true });
  writeFileSync(
    join(home, '.kube', 'config'),
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: skiff',
      '  cluster:',
      `    server: https://127.0.0.1:${port}`,
      `    certificate-authority-data: ${Buffer.from(pki.caPem).toString('base64')}`,
      'users:',
      '- name: skiff',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: skiff',
      '  context: {cluster: skiff, user: skiff, namespace: default}',
      'current-context: skiff',
      '',
    ].join('\n'),
  );
  makePod('web', ['web']);
  makePod('multi', ['app', 'side']);
  makePod('pending', ['web'], { nodeName: '', phase: 'Pending', running: [] });
  makePod('creating', ['web'], { phase: 'Pending', running: [] });
  echoServer = createServer((s) => {
    let bulk = -1;
    s.on('data', (d) => {
      // `BULK` then 2 MiB in: 4 MiB out, then close. Anything else is echoed.
      if (bulk < 0 && d.subarray(0, 4).toString() === 'BULK') bulk = 0;
      if (bulk < 0) return void s.write(`echo:${d.toString()}`);
      bulk += d.length;
      if (bulk >= (2 << 20) + 4) s.end(Buffer.alloc(4 << 20, 'y'));
    });
  });
  await new Promise<void>((resolve) => echoServer.listen(0, '127.0.0.1', resolve));
  echoPort = (echoServer.address() as { port: number }).port;
  makePod('fwd', ['web'], { annotations: { 'skiff.dev/port-map': JSON.stringify({ '8080': echoPort }) } });
});

after(async () => {
  await server.close();
  echoServer.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function kubectlEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, KUBECONFIG: join(home, '.kube', 'config') };
}

function kubectl(args: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<Run> {
  return run(kubectlBin, args, o);
}

function run(file: string, args: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: kubectlEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} timed out; stdout=${stdout} stderr=${stderr}`));
    }, o.timeoutMs ?? 15000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(o.input ?? '');
  });
}

function waitFor(child: ChildProcess, pattern: RegExp, what: () => string, timeoutMs = 10000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${what()}`)), timeoutMs);
    const check = (): void => {
      if (pattern.test(what())) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        child.stderr?.off('data', check);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    check();
  });
}

test('the SPDY/3 dictionary is the 1423 bytes of the draft (adler32 e3c6a7c2)', () => {
  assert.equal(headerDictionary.length, 1423);
  assert.equal(adler32(headerDictionary).toString(16), 'e3c6a7c2');
});

test('kubectl logs prints the lines without timestamps', { skip: !hasKubectl }, async () => {
  const r = await kubectl(['logs', 'web']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'web line 1\nweb line 2\nweb line 3\n');
});

test('kubectl logs --tail=2 --timestamps keeps the last two lines with their timestamps', { skip: !hasKubectl }, async () => {
  const r = await kubectl(['logs', 'web', '--tail=2', '--timestamps']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${ts(2)} web line 2\n${ts(3)} web line 3\n`);
});

test('kubectl logs -c picks the container, --previous reads the previous run, --limit-bytes cuts', { skip: !hasKubectl }, async () => {
  const c = await kubectl(['logs', 'multi', '-c', 'side']);
  assert.equal(c.stdout, 'side line 1\nside line 2\nside line 3\n');
  const p = await kubectl(['logs', 'web', '--previous']);
  assert.equal(p.stdout, 'web crashed before\n');
  const l = await kubectl(['logs', 'web', '--limit-bytes=7']);
  assert.equal(l.stdout, 'web lin');
  const s = await kubectl(['logs', 'web', `--since-time=${ts(3)}`]);
  assert.equal(s.stdout, 'web line 3\n');
});

test('kubectl logs reports an unknown container, a waiting one and a missing previous run as upstream does', { skip: !hasKubectl }, async () => {
  const bad = await kubectl(['logs', 'web', '-c', 'nope']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /container nope is not valid for pod web/);
  const waiting = await kubectl(['logs', 'creating']);
  assert.match(waiting.stderr, /Error from server \(BadRequest\): container "web" in pod "creating" is waiting to start: ContainerCreating/);
  runtime.logs.set('default/multi/app', { current: runtime.logs.get('default/multi/app')!.current });
  const prev = await kubectl(['logs', 'multi', '-c', 'app', '--previous']);
  assert.match(prev.stderr, /previous terminated container "app" in pod "multi" not found/);
});

test('kubectl logs -f streams appended lines and ends when the container stops', { skip: !hasKubectl }, async () => {
  makePod('follow', ['web']);
  const child = spawn(kubectlBin, ['logs', '-f', 'follow'], { env: kubectlEnv() });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await waitFor(child, /web line 3\n/, () => out);
  const file = runtime.logs.get('default/follow/web')!.current;
  appendFileSync(file, `${ts(4)} appended 4\n${ts(5)} appe`);
  await waitFor(child, /appended 4\n/, () => out);
  appendFileSync(file, `nded 5\n`);
  await waitFor(child, /appended 5\n/, () => out);
  runtime.containers.get('default/follow/web')!.running = false;
  assert.equal(await exited, 0);
  assert.equal(out, 'web line 1\nweb line 2\nweb line 3\nappended 4\nappended 5\n');
});

test('kubectl exec passes stdout, stderr and the exit code', { skip: !hasKubectl }, async () => {
  const r = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(r.code, 3);
  assert.equal(r.stdout, 'out\n');
  assert.match(r.stderr, /^err\n/);
  assert.match(r.stderr, /command terminated with exit code 3/);
});

test('kubectl exec -i pipes stdin and ends on its EOF', { skip: !hasKubectl }, async () => {
  const r = await kubectl(['exec', '-i', 'web', '--', 'cat'], { input: 'hi\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hi\n');
});

test('kubectl exec runs with the container env and cwd', { skip: !hasKubectl }, async () => {
  const r = await kubectl(['exec', 'multi', '-c', 'side', '--', 'sh', '-c', 'echo $POD_IP; echo $GREETING; pwd']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `127.0.0.1\nhello from side\n${join(dir, 'pods', 'multi', 'side')}\n`);
});

test('kubectl exec of a missing program prints the runtime message', { skip: !hasKubectl }, async () => {
  const r = await kubectl(['exec', 'web', '--', 'nosuchcmd']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /exec: "nosuchcmd": executable file not found in \$PATH: unknown/);
});

test('kubectl exec into a pod without a node or a running container fails with upstream messages', { skip: !hasKubectl }, async () => {
  const pending = await kubectl(['exec', 'pending', '--', 'true']);
  assert.equal(pending.code, 1);
  assert.match(pending.stderr, /Error from server \(BadRequest\): pod pending does not have a host assigned/);
  const creating = await kubectl(['exec', 'creating', '--', 'true']);
  assert.equal(creating.code, 1);
  assert.match(creating.stderr, /container not found \("web"\)/);
});

test('kubectl exec leaving first (killed client) kills the whole process group', { skip: !hasKubectl }, async () => {
  const child = spawn(kubectlBin, ['exec', 'web', '--', 'sh', '-c', 'sleep 300 & echo $! $$; wait'], { env: kubectlEnv() });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await waitFor(child, /^\d+ \d+\n/, () => out);
  const pids = out.trim().split(' ').map(Number);
  child.kill('SIGTERM');
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 50 && pids.some(alive); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.deepEqual(pids.filter(alive), []);
});

test('kubectl exec -it runs on a real terminal', { skip: !hasKubectl ? 'no kubectl' : !hasScript ? 'util-linux script not found' : false }, async () => {
  const cmd = `${kubectlBin} exec -it web -- sh -c 'tty; stty size; exit 4'`;
  const r = await run('script', ['-qfec', cmd, '/dev/null']);
  assert.match(r.stdout, /\/dev\/pts\/\d+/);
  assert.match(r.stdout, /command terminated with exit code 4/);
  assert.equal(r.code, 4);
});

/** Runs kubectl port-forward to pod/fwd and hands back the local port and a stop function. */
async function portForward(env: NodeJS.ProcessEnv, pod = 'fwd', remote = 8080): Promise<{ port: number; stop(): Promise<void>; output(): string }> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  const child = spawn(kubectlBin, ['port-forward', `pod/${pod}`, `${port}:${remote}`], { env: { ...kubectlEnv(), ...env } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const closed = new Promise((resolve) => child.on('close', resolve));
  await waitFor(child, /Forwarding from 127\.0\.0\.1/, () => out);
  return {
    port,
    output: () => out,
    async stop() {
      child.kill('SIGINT');
      await closed;
    },
  };
}

/** Sends `msg` over a fresh connection and reads until the peer closes or `want` bytes came. */
function exchange(port: number, msg: Buffer | string, want: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const s = connect(port, '127.0.0.1', () => s.write(msg));
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= want) s.end();
    });
    s.on('close', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

for (const [transport, env] of [
  ['tunneled through a WebSocket (the default)', {}],
  ['over SPDY/3.1 (KUBECTL_PORT_FORWARD_WEBSOCKETS=false)', { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }],
] as const) {
  test(`kubectl port-forward ${transport} reaches the pod port through skiff.dev/port-map`, { skip: !hasKubectl }, async () => {
    const before = events.length;
    const pf = await portForward(env);
    try {
      for (const msg of ['one', 'two']) assert.equal((await exchange(pf.port, msg, msg.length + 5)).toString(), `echo:${msg}`);
      // 2 MiB each way: more than SPDY's 64 KiB window, which spdystream never replenishes.
      const big = Buffer.alloc(2 << 20, 'x');
      const back = await exchange(pf.port, Buffer.concat([Buffer.from('BULK'), big]), 4 << 20);
      assert.equal(back.length, 4 << 20);
      const used = events.slice(before).find((e) => e.msg === 'port-forward')?.transport;
      assert.equal(used, 'KUBECTL_PORT_FORWARD_WEBSOCKETS' in env ? 'spdy' : 'websocket');
    } finally {
      await pf.stop();
    }
  });
}

test('kubectl port-forward to a closed port reports the kubelet error (kubectl then ends, as upstream)', { skip: !hasKubectl }, async () => {
  const pf = await portForward({}, 'fwd', 9);
  try {
    const r = await exchange(pf.port, 'x', 1);
    assert.equal(r.length, 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.match(pf.output(), /error forwarding port 9 to pod fwd, uid .*: failed to connect to 127\.0\.0\.1:9/);
  } finally {
    await pf.stop();
  }
});
