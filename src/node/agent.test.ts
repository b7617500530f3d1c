import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { alive, cs, isReady, startNode, waitFor, type NodeEnv } from './node.test-helper.ts';

const sleeper = { name: 'app', image: 'busybox', command: ['sleep', '1000'] };

describe('NodeAgent', () => {
  let n: NodeEnv;
  before(async () => {
    n = await startNode();
  });
  after(async () => {
    await n.close();
  });

  it('runs a host command: Running, Ready, a pod IP from 127.42.0.0/16, kubelet events', async () => {
    n.pod('run1', { containers: [sleeper] });
    const p = await n.until('run1', 'ready', isReady);
    assert.equal(p.status.phase, 'Running');
    assert.match(p.status.podIP, /^127\.42\.\d+\.\d+$/);
    assert.deepEqual(p.status.podIPs, [{ ip: p.status.podIP }]);
    assert.equal(p.status.hostIP, '127.0.0.1');
    assert.ok(cs(p).state.running.startedAt);
    assert.match(cs(p).containerID, /^skiff:\/\//);
    assert.equal(cs(p).imageID, 'skiff://busybox');
    assert.equal(cs(p).started, true);
    const types = p.status.conditions.map((c: { type: string }) => c.type);
    for (const t of ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']) assert.ok(types.includes(t), t);
    const info = n.agent.container('default', 'run1', 'app');
    assert.ok(info?.running && info.pid && alive(info.pid));
    await waitFor('events', () => n.events('run1').some((e) => e.startsWith('Started')));
    const ev = n.events('run1');
    assert.ok(ev.includes('Pulled: Container image "busybox" already present on machine'), ev.join('\n'));
    assert.ok(ev.includes('Created: Created container: app'));
    assert.ok(ev.includes('Started: Started container app'));
  });

  it('reports ContainerCreating first, then Running, as `kubectl get pod -w` shows', async () => {
    const seen: string[] = [];
    const w = n.env.registry.watch('pods', 'default', { fieldSelector: 'metadata.name=watch1' }, (ev) => {
      const s = ev.object.status?.containerStatuses?.[0]?.state;
      seen.push(s ? Object.keys(s)[0] + (s.waiting ? `:${s.waiting.reason}` : '') : `phase:${ev.object.status?.phase}`);
    });
    try {
      n.pod('watch1', { containers: [sleeper] });
      await n.until('watch1', 'ready', isReady);
      const states = seen.filter((x, i) => x !== seen[i - 1]);
      assert.deepEqual(states, ['phase:Pending', 'waiting:ContainerCreating', 'running']);
    } finally {
      w.close();
    }
  });

  it('gives the process POD_IP, PORT, HTTP_PROXY, service links, valueFrom and envFrom, with $(VAR) expansion', async () => {
    const r = n.env.registry;
    r.createSync('configmaps', 'default', { metadata: { name: 'cfg' }, data: { color: 'blue', size: 'L' } });
    r.createSync('secrets', 'default', { metadata: { name: 'sec' }, data: { password: Buffer.from('s3cret').toString('base64') } });
    r.createSync('services', 'default', { metadata: { name: 'web-api' }, spec: { selector: { app: 'x' }, ports: [{ name: 'http', port: 8080 }] } });
    n.pod('env1', {
      containers: [{
        name: 'app', image: 'busybox', command: ['sh', '-c', 'env > env.txt; echo "$(GREETING)" > greeting.txt; exec sleep 1000'],
        ports: [{ containerPort: 9090 }],
        env: [
          { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'TIER', valueFrom: { fieldRef: { fieldPath: "metadata.labels['tier']" } } },
          { name: 'COLOR', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'color' } } },
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'sec', key: 'password' } } },
          { name: 'MISSING', valueFrom: { configMapKeyRef: { name: 'nope', key: 'x', optional: true } } },
          { name: 'GREETING', value: 'hello $(NAME) in $(COLOR) $$(NAME) $(UNKNOWN)' },
        ],
        envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }, { secretRef: { name: 'sec' } }],
      }],
    }, { labels: { tier: 'front' } });
    const p = await n.until('env1', 'running', (x) => cs(x).state?.running);
    const cwd = n.agent.container('default', 'env1', 'app')!.cwd;
    const env = await n.until('env1', 'env file', () => {
      try {
        return readFileSync(path.join(cwd, 'env.txt'), 'utf8').includes('PORT=');
      } catch {
        return false;
      }
    }).then(() => Object.fromEntries(readFileSync(path.join(cwd, 'env.txt'), 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])));
    const ip = p.status.podIP;
    assert.equal(env.POD_IP, ip);
    assert.equal(env.MY_IP, ip);
    assert.equal(env.PORT, '9090');
    assert.equal(env.HOSTNAME, 'env1');
    assert.equal(env.HTTP_PROXY, `http://${ip}:15080`);
    assert.equal(env.http_proxy, `http://${ip}:15080`);
    assert.equal(env.NO_PROXY, ip);
    assert.equal(env.NAME, 'env1');
    assert.equal(env.TIER, 'front');
    assert.equal(env.COLOR, 'blue');
    assert.equal(env.PASSWORD, 's3cret');
    assert.equal(env.CFG_color, 'blue');
    assert.equal(env.CFG_size, 'L');
    assert.equal(env.password, 's3cret');
    assert.equal(env.MISSING, undefined);
    assert.equal(env.GREETING, 'hello env1 in blue $(NAME) $(UNKNOWN)');
    const svc = r.getSync('services', 'default', 'web-api');
    assert.equal(env.WEB_API_SERVICE_HOST, svc.spec.clusterIP);
    assert.equal(env.WEB_API_SERVICE_PORT, '8080');
    assert.equal(env.WEB_API_SERVICE_PORT_HTTP, '8080');
    assert.equal(env.WEB_API_PORT, `tcp://${svc.spec.clusterIP}:8080`);
    assert.equal(env.WEB_API_PORT_8080_TCP_ADDR, svc.spec.clusterIP);
    assert.ok(env.PATH);
  });

  it('a missing ConfigMap keeps the container in CreateContainerConfigError until it appears', async () => {
    n.pod('cfgerr', { containers: [{ ...sleeper, env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'late', key: 'k' } } }] }] });
    let p = await n.until('cfgerr', 'config error', (x) => cs(x).state?.waiting?.reason === 'CreateContainerConfigError');
    assert.equal(cs(p).state.waiting.message, 'configmap "late" not found');
    n.env.registry.createSync('configmaps', 'default', { metadata: { name: 'late' }, data: { other: '1' } });
    p = await n.until('cfgerr', 'missing key', (x) => cs(x).state?.waiting?.message === "couldn't find key k in ConfigMap default/late");
    const cm = n.env.registry.getSync('configmaps', 'default', 'late');
    await n.env.registry.update('configmaps', 'default', { ...cm, data: { k: 'v' } });
    p = await n.until('cfgerr', 'running', (x) => cs(x).state?.running);
    assert.ok(n.events('cfgerr').includes('Failed: Error: configmap "late" not found'));
  });

  it('exit 0 with restartPolicy Never: Succeeded, Completed', async () => {
    n.pod('done1', { restartPolicy: 'Never', containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'echo bye'] }] });
    const p = await n.until('done1', 'succeeded', (x) => x.status?.phase === 'Succeeded');
    assert.equal(cs(p).state.terminated.reason, 'Completed');
    assert.equal(cs(p).state.terminated.exitCode, 0);
    assert.equal(cs(p).ready, false);
    const ready = p.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    assert.equal(ready.reason, 'PodCompleted');
  });

  it('exit 1 with restartPolicy Never: Failed, Error', async () => {
    n.pod('fail1', { restartPolicy: 'Never', containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'exit 3'] }] });
    const p = await n.until('fail1', 'failed', (x) => x.status?.phase === 'Failed');
    assert.equal(cs(p).state.terminated.reason, 'Error');
    assert.equal(cs(p).state.terminated.exitCode, 3);
  });

  it('a crashing container goes to CrashLoopBackOff with a rising restartCount', async () => {
    n.pod('crash1', { containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'echo boom; exit 2'] }] });
    const p = await n.until('crash1', 'crashloop', (x) => cs(x).state?.waiting?.reason === 'CrashLoopBackOff' && cs(x).restartCount >= 1);
    assert.match(cs(p).state.waiting.message, /^back-off \d+ms restarting failed container=app pod=crash1_default\(/);
    assert.equal(cs(p).lastState.terminated.exitCode, 2);
    assert.equal(cs(p).lastState.terminated.reason, 'Error');
    assert.equal(p.status.phase, 'Running');
    await n.until('crash1', 'restarts', (x) => cs(x).restartCount >= 3);
    assert.ok(n.events('crash1').some((e) => e.startsWith('BackOff: Back-off restarting failed container app in pod crash1_default(')));
    const files = n.agent.logFiles('default', 'crash1', 'app');
    assert.ok(files?.previous && files.current !== files.previous);
  });

  it('an unknown image without a command: ErrImagePull, then ImagePullBackOff, with the catalog in the message', async () => {
    n.pod('img1', { containers: [{ name: 'app', image: 'example.com/acme/shop:1.0' }] });
    let p = await n.until('img1', 'ErrImagePull', (x) => cs(x).state?.waiting?.reason === 'ErrImagePull');
    assert.match(cs(p).state.waiting.message, /Failed to pull image "example.com\/acme\/shop:1.0"/);
    assert.match(cs(p).state.waiting.message, /ssongman\/userlist/);
    assert.match(cs(p).state.waiting.message, /set command: \[\.\.\.\] to run a program from this machine/);
    p = await n.until('img1', 'ImagePullBackOff', (x) => cs(x).state?.waiting?.reason === 'ImagePullBackOff');
    assert.equal(p.status.phase, 'Pending');
    assert.ok(n.events('img1').includes('Failed: Error: ErrImagePull'));
  });

  it('a missing program: StartError with the runtime message, then back-off', async () => {
    n.pod('nobin', { containers: [{ name: 'app', image: 'busybox', command: ['nosuch-program-xyz'] }] });
    const p = await n.until('nobin', 'start error', (x) => (cs(x).state?.terminated ?? cs(x).lastState?.terminated)?.reason === 'StartError');
    const t = cs(p).state.terminated ?? cs(p).lastState.terminated;
    assert.equal(t.exitCode, 128);
    assert.equal(t.message, 'unable to start container process: exec: "nosuch-program-xyz": executable file not found in $PATH');
    assert.ok(n.events('nobin').some((e) => e === `Failed: Error: ${t.message}`));
  });

  it('restarts a process killed with SIGKILL and counts it', async () => {
    n.pod('kill1', { containers: [sleeper] });
    await n.until('kill1', 'running', (x) => cs(x).state?.running);
    const pid = n.agent.container('default', 'kill1', 'app')!.pid!;
    process.kill(pid, 'SIGKILL');
    const p = await n.until('kill1', 'restarted', (x) => cs(x).restartCount === 1 && cs(x).state?.running);
    assert.equal(cs(p).lastState.terminated.exitCode, 137);
    const pid2 = n.agent.container('default', 'kill1', 'app')!.pid!;
    assert.notEqual(pid2, pid);
    assert.ok(alive(pid2));
  });

  it('restarts a native sidecar that dies once the app runs, and counts it', async () => {
    n.pod('side1', { initContainers: [{ name: 'side', image: 'busybox', command: ['sleep', '1000'], restartPolicy: 'Always' }], containers: [sleeper] });
    await n.until('side1', 'ready', isReady);
    const pid = n.agent.container('default', 'side1', 'side')!.pid!;
    process.kill(pid, 'SIGKILL');
    const p = await n.until('side1', 'sidecar restarted', (x) => x.status.initContainerStatuses?.[0]?.restartCount === 1 && x.status.initContainerStatuses[0].state?.running);
    assert.equal(p.status.initContainerStatuses[0].lastState.terminated.exitCode, 137);
    assert.ok(alive(n.agent.container('default', 'side1', 'side')!.pid!));
    assert.ok(alive(n.agent.container('default', 'side1', 'app')!.pid!), 'the app kept running');
    await n.until('side1', 'ready again', isReady);
  });

  it('a failing readiness probe keeps Ready False; passing makes it True', async () => {
    n.pod('ready1', { containers: [{ ...sleeper, readinessProbe: { exec: { command: ['sh', '-c', 'test -f ready'] }, periodSeconds: 1, failureThreshold: 1 } }] });
    await n.until('ready1', 'running', (x) => cs(x).state?.running);
    await new Promise((r) => setTimeout(r, 400));
    let p = n.get('ready1');
    assert.equal(isReady(p), false);
    assert.equal(cs(p).ready, false);
    assert.equal(p.status.phase, 'Running');
    const cwd = n.agent.container('default', 'ready1', 'app')!.cwd;
    writeFileSync(path.join(cwd, 'ready'), '');
    p = await n.until('ready1', 'ready', isReady);
    assert.equal(cs(p).ready, true);
    assert.ok(n.events('ready1').some((e) => e.startsWith('Unhealthy: Readiness probe failed')));
  });

  it('a failing liveness probe restarts the container', async () => {
    n.pod('live1', { containers: [{ ...sleeper, livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 2 } }] });
    await n.until('live1', 'restarted', (x) => cs(x).restartCount >= 1);
    assert.ok(n.events('live1').includes('Killing: Container app failed liveness probe, will be restarted'));
  });

  it('runs init containers in order before the app, sharing an emptyDir', async () => {
    n.pod('init1', {
      volumes: [{ name: 'work', emptyDir: {} }],
      initContainers: [
        { name: 'one', image: 'busybox', command: ['sh', '-c', 'echo one >> work/log'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
        { name: 'two', image: 'busybox', command: ['sh', '-c', 'echo two >> work/log'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
      ],
      containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'cp data/log seen; exec sleep 1000'], volumeMounts: [{ name: 'work', mountPath: '/data' }] }],
    });
    const p = await n.until('init1', 'ready', isReady);
    assert.deepEqual(p.status.initContainerStatuses.map((c: any) => c.state.terminated?.reason), ['Completed', 'Completed']);
    const cwd = n.agent.container('default', 'init1', 'app')!.cwd;
    await n.until('init1', 'copied', () => {
      try {
        return readFileSync(path.join(cwd, 'seen'), 'utf8') === 'one\ntwo\n';
      } catch {
        return false;
      }
    });
  });

  it('mounts ConfigMap volumes as files', async () => {
    n.env.registry.createSync('configmaps', 'default', { metadata: { name: 'files' }, data: { 'app.conf': 'x=1\n' } });
    n.pod('vol1', { volumes: [{ name: 'conf', configMap: { name: 'files' } }], containers: [{ ...sleeper, volumeMounts: [{ name: 'conf', mountPath: '/etc/app' }] }] });
    await n.until('vol1', 'running', (x) => cs(x).state?.running);
    const cwd = n.agent.container('default', 'vol1', 'app')!.cwd;
    assert.equal(readFileSync(path.join(cwd, 'etc/app/app.conf'), 'utf8'), 'x=1\n');
    const cm = n.env.registry.getSync('configmaps', 'default', 'files');
    await n.env.registry.update('configmaps', 'default', { ...cm, data: { 'app.conf': 'x=2\n' } });
    await n.until('vol1', 'refreshed', () => readFileSync(path.join(cwd, 'etc/app/app.conf'), 'utf8') === 'x=2\n');
  });

  it('deleting the pod kills its whole process group and removes the sandbox', async () => {
    n.pod('del1', { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'sleep 1000 & echo $! > child.pid; wait'] }] });
    await n.until('del1', 'running', (x) => cs(x).state?.running);
    const info = n.agent.container('default', 'del1', 'app')!;
    const childPid = await n.until('del1', 'child pid', () => {
      try {
        return Number(readFileSync(path.join(info.cwd, 'child.pid'), 'utf8')) || false;
      } catch {
        return false;
      }
    }).then(() => Number(readFileSync(path.join(info.cwd, 'child.pid'), 'utf8')));
    assert.ok(alive(info.pid!) && alive(childPid));
    n.env.registry.deleteSync('pods', 'default', 'del1');
    await waitFor('processes gone', () => !alive(info.pid!) && !alive(childPid), 5000);
    assert.ok(n.events('del1').includes('Killing: Stopping container app'));
  });

  it('writes logs with RFC3339Nano timestamps', async () => {
    n.pod('log1', { containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'echo hello; echo world >&2; exec sleep 1000'] }] });
    await n.until('log1', 'running', (x) => cs(x).state?.running);
    const files = n.agent.logFiles('default', 'log1', 'app')!;
    assert.match(files.current, /logs\/default_log1_[0-9a-f-]+\/app\/0\.log$/);
    const text = await waitFor('log lines', () => {
      const t = readFileSync(files.current, 'utf8');
      return t.split('\n').length >= 3 ? t : undefined;
    });
    const lines = text.trim().split('\n');
    assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z hello$/);
    assert.ok(lines.some((l) => / world$/.test(l)));
  });
});
