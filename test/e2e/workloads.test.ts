import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSkiff, eventually, root, type SkiffProcess } from './harness.ts';

const fixtures = join(root, 'test', 'fixtures');
let skiff: SkiffProcess;
const ns = 'user11';
const k = (...args: string[]) => skiff.kubectl(['-n', ns, ...args]);

before(async () => {
  skiff = await startSkiff();
  await skiff.kubectl(['create', 'namespace', ns]);
  // Made first, so that its first scheduled minute has come by the last test of this file.
  const r = await k('create', 'cronjob', 'tick', '--image=busybox', '--schedule=* * * * *', '--', 'echo', 'tick');
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  await skiff?.stop();
  skiff?.cleanup();
});

test('create -f makes the deployment, its replica set and pod, and the service with a cluster IP', async () => {
  const r = await k('create', '-f', join(fixtures, 'userlist.yaml'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'deployment.apps/userlist created\nservice/userlist-svc created');
  const pods = await eventually(async () => {
    const p = await k('get', 'pods', '-l', 'app=userlist', '-o', 'name');
    return p.stdout.trim().split('\n').filter(Boolean);
  });
  assert.equal(pods.length, 1);
  assert.match(pods[0], /^pod\/userlist-[a-z0-9]{8,10}-[a-z0-9]{5}$/);
  const svc = await k('get', 'svc', 'userlist-svc');
  assert.match(svc.stdout, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/m);
  assert.match(svc.stdout, /^userlist-svc\s+ClusterIP\s+127\.43\.\d+\.\d+\s+<none>\s+80\/TCP\s+\d+s$/m);
  const again = await k('create', '-f', join(fixtures, 'userlist.yaml'));
  assert.equal(again.code, 1);
  assert.match(again.stderr, /Error from server \(AlreadyExists\): error when creating ".*userlist.yaml": deployments.apps "userlist" already exists/);
});

test('get pod -o wide, -o yaml and -o jsonpath show the stored pod', async () => {
  await eventually(async () => (await k('get', 'deploy', 'userlist', '-o', 'jsonpath={.status.readyReplicas}')).stdout === '1');
  const wide = await k('get', 'pod', '-o', 'wide');
  assert.match(wide.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/m);
  const node = (await skiff.kubectl(['get', 'nodes', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout;
  assert.ok(node);
  assert.match(wide.stdout, new RegExp(`^userlist-\\S+\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+127\\.42\\.\\d+\\.\\d+\\s+${node.replace(/\./g, '\\.')}\\s+<none>\\s+<none>$`, 'm'));
  const nodes = await skiff.kubectl(['get', 'nodes']);
  assert.match(nodes.stdout, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/m);
  assert.match(nodes.stdout, new RegExp(`^${node.replace(/\./g, '\\.')}\\s+Ready\\s+control-plane\\s+\\S+\\s+v1\\.32\\.0\\+skiff$`, 'm'));
  const yaml = await k('get', 'deploy', 'userlist', '-o', 'yaml');
  assert.match(yaml.stdout, /^apiVersion: apps\/v1$/m);
  assert.match(yaml.stdout, /^kind: Deployment$/m);
  assert.match(yaml.stdout, /^ {2}resourceVersion: "\d+"$/m);
  assert.match(yaml.stdout, /^ {2}uid: [0-9a-f-]{36}$/m);
  assert.match(yaml.stdout, /maxSurge: 25%/);
  const jp = await k('get', 'pods', '-l', 'app=userlist', '-o', 'jsonpath={.items[0].spec.containers[0].image}');
  assert.equal(jp.stdout, 'ssongman/userlist:v1');
});

test('get all, get crd and get vs', async () => {
  const all = await k('get', 'all');
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^pod\/userlist-\S+\s+1\/1\s+Running/m);
  assert.match(all.stdout, /^service\/userlist-svc\s+ClusterIP/m);
  assert.match(all.stdout, /^deployment\.apps\/userlist\s+1\/1\s+1\s+1\s+\S+$/m);
  assert.match(all.stdout, /^replicaset\.apps\/userlist-\S+\s+1\s+1\s+1\s+\S+$/m);
  const crd = await skiff.kubectl(['get', 'crd']);
  assert.match(crd.stdout, /^NAME\s+CREATED AT$/m);
  assert.match(crd.stdout, /^virtualservices\.networking\.istio\.io\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
  assert.match(crd.stdout, /^destinationrules\.networking\.istio\.io\s/m);
  const vs = await k('get', 'vs');
  assert.match(vs.stdout + vs.stderr, /No resources found in user11 namespace\./);
});

test('apply -f twice with a change in between configures the deployment', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-apply-'));
  try {
    const text = readFileSync(join(fixtures, 'userlist.yaml'), 'utf8').replace(/name: userlist\n/g, 'name: applied\n').replace(/app: userlist/g, 'app: applied').replace('name: userlist-svc', 'name: applied-svc');
    writeFileSync(join(dir, 'a.yaml'), text);
    let r = await k('apply', '-f', join(dir, 'a.yaml'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'deployment.apps/applied created\nservice/applied-svc created');
    r = await k('apply', '-f', join(dir, 'a.yaml'));
    assert.equal(r.stdout.trim(), 'deployment.apps/applied unchanged\nservice/applied-svc unchanged');
    writeFileSync(join(dir, 'a.yaml'), text.replace('replicas: 1', 'replicas: 2').replace('containerPort: 8181', 'containerPort: 8282'));
    r = await k('apply', '-f', join(dir, 'a.yaml'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'deployment.apps/applied configured\nservice/applied-svc unchanged');
    r = await k('get', 'deploy', 'applied', '-o', 'jsonpath={.spec.replicas} {.spec.template.spec.containers[0].ports[*].containerPort}');
    assert.equal(r.stdout, '2 8282');
    r = await k('delete', '-f', join(dir, 'a.yaml'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'deployment.apps "applied" deleted\nservice "applied-svc" deleted');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scale, edit, rollout restart and rollout status drive the deployment controller', async () => {
  let r = await k('scale', '--replicas=3', 'deployment/userlist');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'deployment.apps/userlist scaled');
  r = await k('rollout', 'status', 'deployment/userlist', '--timeout=60s');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /deployment "userlist" successfully rolled out/);
  r = await k('get', 'deploy', 'userlist');
  assert.match(r.stdout, /^userlist\s+3\/3\s+3\s+3\s+\S+$/m);

  // edit through an EDITOR script that changes the image, as a user would in vi.
  const dir = mkdtempSync(join(tmpdir(), 'skiff-edit-'));
  try {
    const editor = join(dir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "s#image: ssongman/userlist:v1#image: ssongman/userlist:v2#" "$1"\n');
    chmodSync(editor, 0o755);
    r = await skiff.kubectl(['-n', ns, 'edit', 'deploy', 'userlist'], { env: { EDITOR: editor, KUBE_EDITOR: editor } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'deployment.apps/userlist edited');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  r = await k('rollout', 'status', 'deployment/userlist', '--timeout=60s');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /successfully rolled out/);
  r = await k('get', 'pods', '-l', 'app=userlist', '-o', 'jsonpath={.items[*].spec.containers[0].image}');
  assert.deepEqual([...new Set(r.stdout.split(' '))], ['ssongman/userlist:v2']);

  r = await k('rollout', 'restart', 'deployment/userlist');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'deployment.apps/userlist restarted');
  r = await k('rollout', 'status', 'deployment/userlist', '--timeout=60s');
  assert.equal(r.code, 0, r.stderr);
  r = await k('rollout', 'history', 'deployment/userlist');
  assert.match(r.stdout, /^REVISION\s+CHANGE-CAUSE$/m);
  assert.match(r.stdout, /^3\s+<none>$/m);
  r = await k('rollout', 'undo', 'deployment/userlist', '--to-revision=1');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'deployment.apps/userlist rolled back');
  await k('rollout', 'status', 'deployment/userlist', '--timeout=60s');
  r = await k('get', 'deploy', 'userlist', '-o', 'jsonpath={.spec.template.spec.containers[0].image}');
  assert.equal(r.stdout, 'ssongman/userlist:v1');
});

test('describe shows the deployment, its replica sets and events', async () => {
  const r = await k('describe', 'deploy', 'userlist');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Name:\s+userlist$/m);
  assert.match(r.stdout, /^Namespace:\s+user11$/m);
  assert.match(r.stdout, /^Replicas:\s+3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable$/m);
  assert.match(r.stdout, /^NewReplicaSet:\s+userlist-\S+ \(3\/3 replicas created\)$/m);
  assert.match(r.stdout, /ScalingReplicaSet\s+.*Scaled up replica set userlist-\S+ from \d+ to \d+/);
  const pod = (await k('get', 'pods', '-l', 'app=userlist', '-o', 'jsonpath={.items[0].metadata.name}')).stdout;
  const d = await k('describe', 'pod', pod);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /^Controlled By:\s+ReplicaSet\/userlist-\S+$/m);
  assert.match(d.stdout, /^\s+Port:\s+8181\/TCP$/m);
});

test('get pod -w prints the rows of new and deleted pods', async () => {
  const w = skiff.spawnKubectl(['-n', ns, 'get', 'pod', '-w']);
  try {
    await eventually(() => /^NAME\s+READY\s+STATUS/m.test(w.out()));
    const r = await k('run', 'curltest', '--image=curlimages/curl', '--', 'sleep', '365d');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'pod/curltest created');
    const seen = await eventually(() => /^curltest\s+1\/1\s+Running/m.test(w.out()));
    assert.ok(seen, w.out());
    assert.match(w.out(), /^curltest\s+0\/1\s+Pending/m);
    const del = await k('delete', 'pod', 'curltest');
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout.trim(), 'pod "curltest" deleted');
    assert.equal(w.out().match(/^NAME\s+READY/gm)?.length, 1, 'the header prints once');
  } finally {
    w.kill();
  }
});

test('create deploy, expose deployment and create ingress as the course types them', async () => {
  let r = await k('create', 'deploy', 'userlist2', '--image=ssongman/userlist:v1');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'deployment.apps/userlist2 created');
  r = await k('get', 'deploy', 'userlist2', '-o', 'jsonpath={.spec.template.spec.containers[0].name}');
  assert.equal(r.stdout, 'userlist');
  r = await k('expose', 'deployment', 'userlist2', '--port=80', '--target-port=8181');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'service/userlist2 exposed');
  r = await k('create', 'ingress', 'userlist2', '--class=traefik', '--rule=userlist.user11.127.0.0.1.nip.io/*=userlist2:80');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ingress.networking.k8s.io/userlist2 created');
  r = await k('get', 'ingress');
  assert.match(r.stdout, /^NAME\s+CLASS\s+HOSTS\s+ADDRESS\s+PORTS\s+AGE$/m);
  assert.match(r.stdout, /^userlist2\s+traefik\s+userlist\.user11\.127\.0\.0\.1\.nip\.io\s+\S*\s*80\s+\S+$/m);
  const eps = await eventually(async () => (await k('get', 'endpoints', 'userlist2', '-o', 'jsonpath={.subsets[0].addresses[*].ip}')).stdout);
  assert.match(eps, /^127\.42\.\d+\.\d+$/);
});

test('delete deployment cascades to its replica sets and pods', async () => {
  let r = await k('delete', 'deploy', 'userlist2');
  assert.equal(r.code, 0, r.stderr);
  const gone = await eventually(async () => (await k('get', 'rs,pods', '-l', 'app=userlist2', '-o', 'name')).stdout.trim() === '');
  assert.ok(gone);
  r = await k('delete', 'pod', 'nosuch');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error from server \(NotFound\): pods "nosuch" not found/);
});

test('create job runs to Complete and logs job/ shows its output; a failing job fails at its backoffLimit', async () => {
  let r = await k('create', 'job', 'hello', '--image=busybox', '--', 'echo', 'hello-from-job');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'job.batch/hello created');
  r = await k('wait', '--for=condition=complete', 'job/hello', '--timeout=60s');
  assert.equal(r.code, 0, r.stderr);
  r = await k('get', 'job', 'hello');
  assert.match(r.stdout, /^hello\s+Complete\s+1\/1\s+\S+\s+\S+$/m);
  r = await k('logs', 'job/hello');
  assert.equal(r.stdout.trim(), 'hello-from-job');
  r = await k('get', 'pods', '-l', 'job-name=hello', '--no-headers');
  assert.match(r.stdout, /^hello-\w{5}\s+0\/1\s+Completed\s+0\s/);

  r = await skiff.kubectl(['-n', ns, 'apply', '-f', '-'], { input: `apiVersion: batch/v1
kind: Job
metadata: {name: bad}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: bad, image: busybox, command: [sh, -c, 'exit 3']}]
` });
  assert.equal(r.code, 0, r.stderr);
  r = await k('wait', '--for=condition=failed', 'job/bad', '--timeout=60s');
  assert.equal(r.code, 0, r.stderr);
  r = await k('get', 'job', 'bad', '-o', 'jsonpath={.status.conditions[?(@.type=="Failed")].reason} {.status.failed}');
  assert.equal(r.stdout, 'BackoffLimitExceeded 1');
});

test('in a namespace labelled for injection, a job pod gets a sidecar that exits with the app, and the job completes', async () => {
  await skiff.kubectl(['create', 'namespace', 'jobs-mesh']);
  await skiff.kubectl(['label', 'namespace', 'jobs-mesh', 'istio-injection=enabled']);
  let r = await skiff.kubectl(['-n', 'jobs-mesh', 'create', 'job', 'once', '--image=busybox', '--', 'echo', 'done']);
  assert.equal(r.code, 0, r.stderr);
  r = await skiff.kubectl(['-n', 'jobs-mesh', 'wait', '--for=condition=complete', 'job/once', '--timeout=90s']);
  assert.equal(r.code, 0, r.stderr);
  r = await skiff.kubectl(['-n', 'jobs-mesh', 'get', 'pods', '-l', 'job-name=once', '--no-headers']);
  assert.match(r.stdout, /^once-\w{5}\s+0\/2\s+Completed\s/);
});

test('a CronJob makes a Job at its scheduled minute and the Job completes; a bad schedule gets the parser\'s error', async () => {
  let r = await k('create', 'cronjob', 'bad', '--image=busybox', '--schedule=61 * * * *', '--', 'true');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /CronJob\.batch "bad" is invalid: spec\.schedule: Invalid value: "61 \* \* \* \*": end of range \(61\) above maximum \(59\): 61/);
  const done = await eventually(async () => {
    r = await k('get', 'jobs', '-o', 'jsonpath={range .items[?(@.metadata.ownerReferences[0].name=="tick")]}{.metadata.name} {.status.succeeded}{"\\n"}{end}');
    return /^tick-\d+ 1$/m.test(r.stdout);
  }, 120_000, 2000);
  assert.ok(done, r.stdout + r.stderr);
  r = await k('get', 'cronjob', 'tick', '-o', 'jsonpath={.status.lastScheduleTime} {.status.lastSuccessfulTime}');
  assert.match(r.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z \d{4}-/);
  r = await k('delete', 'cronjob', 'tick');
  assert.equal(r.code, 0, r.stderr);
});

test('a StatefulSet runs <name>-0 then <name>-1 with a claim each, rolls out, and scales down from the top', async () => {
  let r = await skiff.kubectl(['-n', ns, 'apply', '-f', '-'], { input: `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: store}
spec:
  serviceName: store
  replicas: 2
  selector: {matchLabels: {app: store}}
  template:
    metadata: {labels: {app: store}}
    spec:
      containers: [{name: store, image: honester/hello-server, ports: [{containerPort: 8080}]}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
` });
  assert.equal(r.code, 0, r.stderr);
  r = await k('rollout', 'status', 'statefulset/store', '--timeout=60s');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /roll out complete: 2 new pods have been updated/);
  r = await k('get', 'pods', '-l', 'app=store', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.spec.hostname}.{.spec.subdomain}{"\\n"}{end}');
  assert.deepEqual(r.stdout.trim().split('\n').sort(), ['store-0 store-0.store', 'store-1 store-1.store']);
  r = await k('get', 'pvc', '-o', 'name');
  assert.match(r.stdout, /persistentvolumeclaim\/data-store-0/);
  assert.match(r.stdout, /persistentvolumeclaim\/data-store-1/);
  r = await k('scale', 'statefulset', 'store', '--replicas=1');
  assert.equal(r.code, 0, r.stderr);
  const one = await eventually(async () => (await k('get', 'pods', '-l', 'app=store', '-o', 'name')).stdout.trim() === 'pod/store-0', 30_000, 500);
  assert.ok(one, 'store-1 is removed, store-0 stays');
});

test('a DaemonSet runs one pod on the node and rollout status follows a template change', async () => {
  let r = await skiff.kubectl(['-n', ns, 'apply', '-f', '-'], { input: `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: busybox, command: [sleep, 1d]}]
` });
  assert.equal(r.code, 0, r.stderr);
  r = await k('rollout', 'status', 'daemonset/agent', '--timeout=60s');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /daemon set "agent" successfully rolled out/);
  r = await k('get', 'daemonset', 'agent', '--no-headers');
  assert.match(r.stdout.trim(), /^agent\s+1\s+1\s+1\s+1\s+1\s+<none>\s+\S+$/);
  const before = (await k('get', 'pods', '-l', 'app=agent', '-o', 'name')).stdout.trim();
  r = await k('set', 'env', 'daemonset/agent', 'MODE=2');
  assert.equal(r.code, 0, r.stderr);
  r = await k('rollout', 'status', 'daemonset/agent', '--timeout=60s');
  assert.equal(r.code, 0, r.stderr);
  const after = await eventually(async () => {
    const now = (await k('get', 'pods', '-l', 'app=agent', '-o', 'name')).stdout.trim();
    return now && now !== before && !now.includes('\n') ? now : '';
  }, 30_000, 500);
  assert.ok(after, 'the pod was replaced by one of the new template');
  r = await k('delete', 'daemonset', 'agent');
  assert.equal(r.code, 0, r.stderr);
});

test('a ResourceQuota refuses the pod past its limit with the API server\'s message and shows its usage', async () => {
  await skiff.kubectl(['create', 'namespace', 'quota']);
  const q = (...args: string[]) => skiff.kubectl(['-n', 'quota', ...args]);
  let r = await q('create', 'quota', 'q', '--hard=pods=1');
  assert.equal(r.code, 0, r.stderr);
  r = await q('run', 'p1', '--image=busybox', '--', 'sleep', '1d');
  assert.equal(r.code, 0, r.stderr);
  r = await q('run', 'p2', '--image=busybox', '--', 'sleep', '1d');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error from server \(Forbidden\): pods "p2" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1/);
  const shown = await eventually(async () => /^q\s+\S+\s+pods: 1\/1\s*$/m.test((r = await q('get', 'quota')).stdout), 10_000, 200);
  assert.ok(shown, r.stdout);
  r = await skiff.kubectl(['delete', 'namespace', 'quota', '--wait=false']);
  assert.equal(r.code, 0, r.stderr);
});
