// The machine's own kubectl (when there is one, and whatever its version) must work too, not only the
// pinned 1.32 from npm. On Debian machines it is often Google Cloud SDK's dispatcher, which picks its
// bundled kubectl by the server's reported minor version.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { root, run, startSkiff, type SkiffProcess } from './harness.ts';

function systemKubectl(): { path: string; version: string } | undefined {
  try {
    const path = execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim();
    if (!path) return undefined;
    const out = execFileSync(path, ['version', '--client'], { encoding: 'utf8', env: { ...process.env, KUBECONFIG: '/dev/null' } });
    return { path, version: /Client Version: (\S+)/.exec(out)?.[1] ?? 'unknown' };
  } catch {
    return undefined;
  }
}

const sys = systemKubectl();
const missing = 'this machine has no kubectl of its own: only the pinned kubectl 1.32 is tested';
let skiff: SkiffProcess | undefined;

before(async () => {
  if (sys) skiff = await startSkiff();
});
after(async () => {
  await skiff?.stop();
  skiff?.cleanup();
});

test(`the machine's own kubectl (${sys?.version ?? 'none'}) runs the core commands`, async (t) => {
  if (!sys || !skiff) return t.skip(missing);
  const k = (args: string[]) => skiff!.kubectl(args, { bin: sys.path });
  let r = await k(['get', 'ns']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^default\s+Active/m);
  r = await k(['create', 'namespace', 'sys']);
  assert.equal(r.stdout.trim(), 'namespace/sys created', r.stderr);
  r = await k(['-n', 'sys', 'create', 'deploy', 'web', '--image=ssongman/userlist:v1', '--replicas=2']);
  assert.equal(r.stdout.trim(), 'deployment.apps/web created', r.stderr);
  r = await k(['-n', 'sys', 'apply', '-f', join(root, 'test', 'fixtures', 'reviews-routing.yaml')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /virtualservice\.networking\.istio\.io\/reviews created/);
  r = await k(['-n', 'sys', 'get', 'deploy,vs']);
  assert.match(r.stdout, /^deployment\.apps\/web\s+[0-2]\/2\s+2\s+[0-2]\s+\S+$/m);
  r = await k(['-n', 'sys', 'scale', 'deploy/web', '--replicas=1']);
  assert.equal(r.stdout.trim(), 'deployment.apps/web scaled', r.stderr);
  r = await k(['delete', 'namespace', 'sys']);
  assert.equal(r.code, 0, r.stderr);
});

test('the pinned kubectl is 1.32', async () => {
  const { kubectl132 } = await import('./harness.ts');
  const r = await run(kubectl132, ['version', '--client']);
  assert.match(r.stdout, /Client Version: v1\.32\./);
});
