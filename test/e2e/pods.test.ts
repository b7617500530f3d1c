// Pods run for real: the course's Kubernetes steps (issue 3) through the real kubectl and curl.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPidFile } from '../../src/node/pids.ts';
import { eventually, hasShared, root, run, sharedDir, startSkiff, type SkiffProcess } from './harness.ts';

const fixtures = join(root, 'test', 'fixtures');
// The course's own files when shared/ is next to the project; Skiff's copy of them otherwise.
const userlistFiles = hasShared
  ? ['11.userlist-deployment.yaml', '12.userlist-svc.yaml'].flatMap((f) => ['-f', join(sharedDir, 'fixtures', 'course', 'kubernetes', 'userlist', f)])
  : ['-f', join(fixtures, 'userlist.yaml')];
let skiff: SkiffProcess;
const ns = 'user11';
const k = (...args: string[]) => skiff.kubectl(['-n', ns, ...args]);

/** The process groups the node agent has running, from its record in the data dir (`pod` is ns/name). */
/** Process groups the node agent recorded for this test's namespace (istio-ingress runs the gateway pod throughout). */
function recordedGroups(s: SkiffProcess): Array<{ pgid: number; pod: string; container: string }> {
  return allRecordedGroups(s).filter((g) => g.pod.startsWith(`${ns}/`));
}

/** Every process group the node agent recorded (the app host's record, which serves the built-in apps of many pods, has no pod). */
function allRecordedGroups(s: SkiffProcess): Array<{ pgid: number; pod: string; container: string }> {
  return readPidFile(s.dataDir);
}

/** The app host's process group, while one runs. */
function hostGroup(s: SkiffProcess): number | undefined {
  return allRecordedGroups(s).find((g) => g.container === 'skiff-app-host')?.pgid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const hasScript = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v script'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

before(async () => {
  skiff = await startSkiff();
  await skiff.kubectl(['create', 'namespace', ns]);
});
after(async () => {
  await skiff?.stop();
  skiff?.cleanup();
});

test('1. create -f runs the userlist pod: get pod -w shows ContainerCreating, then Running', async () => {
  const w = skiff.spawnKubectl(['-n', ns, 'get', 'pod', '-w']);
  try {
    await eventually(() => /No resources found|NAME/.test(w.out()));
    const r = await k('create', ...userlistFiles);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(await eventually(() => /^userlist-\S+\s+1\/1\s+Running\s+0/m.test(w.out())), w.out());
    assert.match(w.out(), /^userlist-\S+\s+0\/1\s+ContainerCreating\s+0/m);
  } finally {
    w.kill();
  }
});

test('2. exec -it deploy/userlist -- bash, and curl localhost:8181 inside it', async (t) => {
  if (!hasScript) return t.skip('util-linux script is missing: no terminal for exec -it');
  // `script` gives kubectl a real terminal, as a user's shell would.
  const cmd = `KUBECONFIG=${skiff.kubeconfig} HOME=${skiff.home} ${process.env.SKIFF_KUBECTL ?? join(root, '.tools', 'v32', 'kubectl')} -n ${ns} exec -it deploy/userlist -- bash -c 'curl -s -i localhost:8181/users/1; exit 0'`;
  const r = await run('script', ['-qfec', cmd, '/dev/null'], { timeoutMs: 30_000 });
  assert.match(r.stdout, /HTTP\/1\.1 200 OK/);
  assert.match(r.stdout, /"id":1,"name":"[^"]+","gender":"[FM]"/);
  const plain = await k('exec', 'deploy/userlist', '--', 'sh', '-c', 'echo $POD_IP; exit 7');
  assert.equal(plain.code, 7);
  assert.match(plain.stdout, /^127\.42\.\d+\.\d+$/m);
  assert.match(plain.stderr, /command terminated with exit code 7/);
});

test('3-4. curltest reaches userlist by service name, cluster IP, FQDN and pod IP', async () => {
  let r = await k('run', 'curltest', '--image=curlimages/curl', '--', 'sleep', '365d');
  assert.equal(r.code, 0, r.stderr);
  r = await k('wait', '--for=condition=Ready', 'pod/curltest', '--timeout=30s');
  assert.equal(r.code, 0, r.stderr);
  const clusterIP = (await k('get', 'svc', 'userlist-svc', '-o', 'jsonpath={.spec.clusterIP}')).stdout;
  const podIP = (await k('get', 'pod', '-l', 'app=userlist', '-o', 'jsonpath={.items[0].status.podIP}')).stdout;
  for (const url of ['userlist-svc/users/1', `${clusterIP}/users/1`, 'userlist-svc.user11.svc.cluster.local/users/1', `${podIP}:8181/users/1`]) {
    r = await k('exec', 'curltest', '--', 'curl', '-s', '-i', url);
    assert.equal(r.code, 0, `${url}: ${r.stderr}`);
    assert.match(r.stdout, /^HTTP\/1\.1 200 OK/, `${url}: ${r.stdout}`);
    assert.match(r.stdout, /^\{"id":1,"name":"[^"]+"/m, url);
  }
  // The host reaches the cluster IP directly too.
  const host = await run('curl', ['-s', '-f', `http://${clusterIP}/users/2`]);
  assert.match(host.stdout, /^\{"id":2,/);
});

test('5-6. scale to 3: curls through the service reach several replicas; edit, then expose a second service', async () => {
  let r = await k('scale', '--replicas=3', 'deployment/userlist');
  assert.equal(r.code, 0, r.stderr);
  r = await k('rollout', 'status', 'deployment/userlist', '--timeout=60s');
  assert.equal(r.code, 0, r.stderr);
  await eventually(async () => (await k('get', 'endpoints', 'userlist-svc', '-o', 'jsonpath={.subsets[0].addresses[*].ip}')).stdout.split(' ').length === 3);
  const hosts = new Set<string>();
  for (let i = 0; i < 12; i++) {
    r = await k('exec', 'curltest', '--', 'curl', '-s', '-i', 'userlist-svc/users/1');
    assert.match(r.stdout, /^HTTP\/1\.1 200 OK/, r.stdout + r.stderr);
    hosts.add(/x-hostname: (\S+)/i.exec(r.stdout)?.[1] ?? '');
  }
  assert.ok(hosts.size > 1, `all 12 answers came from ${[...hosts].join(', ')}`);
  r = await k('patch', 'deploy', 'userlist', '-p', '{"spec":{"replicas":2}}');
  assert.equal(r.code, 0, r.stderr);
  r = await k('expose', 'deployment', 'userlist', '--name', 'userlist-svc2', '--port=80', '--target-port=8181');
  assert.equal(r.stdout.trim(), 'service/userlist-svc2 exposed', r.stderr);
  const viaSvc2 = await eventually(async () => {
    const x = await k('exec', 'curltest', '--', 'curl', '-s', '-f', 'userlist-svc2/users/3');
    return x.code === 0 ? x : undefined;
  });
  assert.match(viaSvc2?.stdout ?? '', /^\{"id":3,/);
});

test('7. an Ingress with a nip.io host answers on the ingress port by Host header', async () => {
  let r = await k('create', 'ingress', 'userlist-ingress', '--class=traefik', '--rule=userlist.user11.cloud.1.2.3.4.nip.io/*=userlist-svc:80');
  assert.equal(r.code, 0, r.stderr);
  const viaIngress = await eventually(async () => {
    const x = await run('curl', ['-s', '-f', '-H', 'Host: userlist.user11.cloud.1.2.3.4.nip.io', `http://127.0.0.1:${skiff.ingressPort}/users/4`]);
    return x.code === 0 ? x : undefined;
  });
  assert.match(viaIngress?.stdout ?? '', /^\{"id":4,/);
  const unknown = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: nosuch.nip.io', `http://127.0.0.1:${skiff.ingressPort}/`]);
  assert.equal(unknown.stdout, '404');
  r = await k('get', 'ingress', 'userlist-ingress', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}');
  assert.equal(r.stdout, '127.0.0.1');
});

test('faults: a crashing container backs off, a missing program is named, a killed process is restarted and counted', async () => {
  let r = await k('run', 'crasher', '--image=busybox', '--', 'sh', '-c', 'echo bye; exit 1');
  assert.equal(r.code, 0, r.stderr);
  r = await k('run', 'nobinary', '--image=busybox', '--command', '--', 'no-such-program-skiff');
  assert.equal(r.code, 0, r.stderr);
  const crashing = await eventually(async () => {
    const x = await k('get', 'pod', 'crasher');
    return /crasher\s+0\/1\s+CrashLoopBackOff\s+[1-9]/.test(x.stdout) ? x.stdout : undefined;
  }, 40_000);
  assert.ok(crashing, 'crasher reaches CrashLoopBackOff with restarts');
  r = await k('logs', 'crasher', '--previous');
  assert.equal(r.stdout.trim(), 'bye');
  const described = await eventually(async () => {
    const x = await k('describe', 'pod', 'nobinary');
    return /no-such-program-skiff/.test(x.stdout) && /executable file not found/.test(x.stdout) ? x.stdout : undefined;
  });
  assert.ok(described, 'describe names the missing program');

  const before = recordedGroups(skiff).find((g) => g.pod.startsWith(`${ns}/userlist-`));
  assert.ok(before, 'the userlist process is recorded');
  process.kill(-before.pgid, 'SIGKILL');
  const restarted = await eventually(async () => {
    const x = await k('get', 'pod', before.pod.split('/')[1], '-o', 'jsonpath={.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].ready}');
    return x.stdout === '1 true';
  }, 30_000);
  assert.ok(restarted, 'the killed container is restarted, counted and ready again');
  await k('delete', 'pod', 'crasher', 'nobinary', '--grace-period=1');
});

test('faults: a port already taken gets a clear error in the logs and the pod status', async (t) => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'twohellos' },
    spec: {
      containers: [
        { name: 'first', image: 'honester/hello-server', ports: [{ containerPort: 8080 }] },
        { name: 'second', image: 'honester/hello-server', env: [{ name: 'PORT', value: '8080' }] },
      ],
    },
  };
  let r = await skiff.kubectl(['-n', ns, 'create', '-f', '-'], { input: JSON.stringify(pod) });
  assert.equal(r.code, 0, r.stderr);
  // Whatever happens, the pod goes, so the later steps start from a clean namespace.
  t.after(() => k('delete', 'pod', 'twohellos', '--grace-period=1', '--ignore-not-found'));
  // The containers start together, so either one may be the one that finds the port taken.
  const loser = await eventually(async () => {
    const x = await k('get', 'pod', 'twohellos', '-o', 'jsonpath={range .status.containerStatuses[*]}{.name}={.restartCount} {end}');
    return /(\w+)=[1-9]/.exec(x.stdout)?.[1];
  }, 30_000);
  assert.ok(loser, 'one of the two containers fails and is restarted');
  r = (await eventually(async () => {
    const x = await k('logs', 'twohellos', '-c', loser, '--previous');
    return x.code === 0 && x.stdout + x.stderr ? x : undefined;
  })) as Awaited<ReturnType<typeof k>>;
  assert.match(r.stdout + r.stderr, /cannot listen on 127\.42\.\d+\.\d+:8080: the port is already in use/);
  const backedOff = await eventually(async () => /twohellos\s+1\/2\s+(Error|CrashLoopBackOff)/.test((await k('get', 'pod', 'twohellos')).stdout), 30_000);
  assert.ok(backedOff, 'the pod shows the failing container');
});

test('deleting a pod shows Terminating until its process has ended; --force --grace-period=0 removes it at once', async () => {
  // The container takes 2 s to stop after SIGTERM, so the pod is seen Terminating meanwhile.
  let r = await k('run', 'slowstop', '--image=busybox', '--', 'sh', '-c', 'trap "sleep 2; exit 0" TERM; while true; do sleep 0.2; done');
  assert.equal(r.code, 0, r.stderr);
  r = await k('run', 'forced', '--image=busybox', '--', 'sleep', '3600');
  assert.equal(r.code, 0, r.stderr);
  r = await k('wait', '--for=condition=Ready', 'pod/slowstop', 'pod/forced', '--timeout=30s');
  assert.equal(r.code, 0, r.stderr);
  const group = recordedGroups(skiff).find((g) => g.pod === `${ns}/slowstop`);
  assert.ok(group, 'the pod process is recorded');

  r = await k('delete', 'pod', 'slowstop', '--wait=false');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'pod "slowstop" deleted');
  r = await k('get', 'pod', 'slowstop', '-o', 'jsonpath={.metadata.deletionGracePeriodSeconds}');
  assert.equal(r.stdout, '30');
  r = await k('get', 'pod', 'slowstop');
  assert.match(r.stdout, /slowstop\s+1\/1\s+Terminating\s+0/);
  r = await k('wait', '--for=delete', 'pod/slowstop', '--timeout=30s');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(alive(group.pgid), false, 'the process ended before the pod left the API');

  const forced = recordedGroups(skiff).find((g) => g.pod === `${ns}/forced`);
  assert.ok(forced);
  r = await k('delete', 'pod', 'forced', '--force', '--grace-period=0');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /pod "forced" force deleted/);
  r = await k('get', 'pod', 'forced');
  assert.match(r.stderr, /pods "forced" not found/);
  assert.ok(await eventually(() => !alive(forced.pgid), 15_000), 'the force-deleted pod is stopped too');
});

test('8. delete -f removes everything, and no process is left', async () => {
  await k('delete', 'ingress', 'userlist-ingress');
  await k('delete', 'svc', 'userlist-svc2');
  let r = await k('delete', ...userlistFiles);
  assert.equal(r.code, 0, r.stderr);
  r = await k('delete', 'pod', 'curltest', '--grace-period=1');
  assert.equal(r.code, 0, r.stderr);
  const groups = recordedGroups(skiff).map((g) => g.pgid);
  const gone = await eventually(() => recordedGroups(skiff).length === 0 && groups.every((p) => !alive(p)), 40_000);
  assert.ok(gone, `still running: ${JSON.stringify(recordedGroups(skiff))}`);
  // The pods leave the API once their processes are gone (Terminating until then).
  const empty = await eventually(async () => /No resources found/.test((r = await k('get', 'pods')).stdout + r.stderr), 10_000);
  assert.ok(empty, r.stdout + r.stderr);
});

test('kill -9 of Skiff ends its pod processes, and a restart runs each pod again once', async () => {
  let r = await k('create', 'deploy', 'hello', '--image=honester/hello-server', '--replicas=2');
  assert.equal(r.code, 0, r.stderr);
  r = await k('rollout', 'status', 'deployment/hello', '--timeout=60s');
  assert.equal(r.code, 0, r.stderr);
  const first = recordedGroups(skiff).map((g) => g.pgid);
  assert.equal(first.length, 2);
  const host = hostGroup(skiff);
  assert.ok(host, 'the built-in apps run in the app host');
  first.push(host);
  await skiff.stop('SIGKILL');
  // Skiff's watch (node/reaper.ts) ends what the dead Skiff left running, without waiting for a restart.
  const reaped = await eventually(() => first.every((p) => !alive(p)), 30_000);
  assert.ok(reaped, `after kill -9 still running: ${first.filter(alive).join(',')}`);
  const dataDir = skiff.dataDir;
  const home = skiff.home;
  skiff = await startSkiff({ dataDir });
  void home;
  r = await k('rollout', 'status', 'deployment/hello', '--timeout=60s');
  assert.equal(r.code, 0, r.stderr);
  const ok = await eventually(() => first.every((p) => !alive(p)) && recordedGroups(skiff).length === 2, 30_000);
  assert.ok(ok, `old: ${first.filter(alive).join(',')}; now: ${JSON.stringify(recordedGroups(skiff))}`);
  r = await k('get', 'pods', '-o', 'jsonpath={range .items[*]}{.status.phase}{"\\n"}{end}');
  assert.deepEqual(r.stdout.trim().split('\n'), ['Running', 'Running']);
  const now = allRecordedGroups(skiff).map((g) => g.pgid);
  await skiff.stop();
  assert.ok(await eventually(() => now.every((p) => !alive(p)), 20_000), 'a clean stop ends every pod process');
});
