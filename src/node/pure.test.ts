import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { expand } from './env.ts';
import { imageRepository, resolveImage } from './images.ts';
import { AddressClaims, IpAllocator } from './ips.ts';
import { processStartTime } from './pids.ts';
import { LogWriter } from './logs.ts';
import { lookPath } from './process.ts';
import { podPhase, type ContainerView } from './status.ts';

describe('resolveImage()', () => {
  it('matches built-in images by repository, whatever the registry prefix, tag or digest', () => {
    for (const img of ['ssongman/userlist', 'ssongman/userlist:v1', 'docker.io/ssongman/userlist:latest', 'index.docker.io/ssongman/userlist@sha256:abc']) {
      assert.deepEqual(resolveImage(img, {}), { kind: 'app', app: 'userlist', args: [] }, img);
    }
    assert.equal(imageRepository('docker.io/library/busybox:1.36'), 'busybox');
    assert.deepEqual(resolveImage('kennethreitz/httpbin', {}), { kind: 'app', app: 'httpbin', args: [] });
    assert.deepEqual(resolveImage('mccutchen/go-httpbin:v2', {}), { kind: 'app', app: 'httpbin', args: [] });
    assert.deepEqual(resolveImage('honester/hello-server:v1', {}), { kind: 'app', app: 'hello', args: [] });
    assert.deepEqual(resolveImage('istio/examples-bookinfo-productpage-v1:1.20.1', {}), { kind: 'app', app: 'bookinfo', args: ['productpage'] });
    assert.deepEqual(resolveImage('docker.io/istio/examples-bookinfo-reviews-v3:1.20.1', {}), { kind: 'app', app: 'bookinfo', args: ['reviews', 'v3'] });
  });

  it('passes fortio args through, defaults to `server`, and treats a fortio command as the app', () => {
    assert.deepEqual(resolveImage('fortio/fortio:latest_release', {}), { kind: 'app', app: 'fortio', args: ['server'] });
    assert.deepEqual(resolveImage('fortio/fortio', { args: ['load', '-c', '2', 'http://x'] }), { kind: 'app', app: 'fortio', args: ['load', '-c', '2', 'http://x'] });
    assert.deepEqual(resolveImage('fortio/fortio', { command: ['/usr/bin/fortio', 'load'], args: ['http://x'] }), { kind: 'app', app: 'fortio', args: ['load', 'http://x'] });
  });

  it('runs commands of tool images on the host, sleeps without one, and lets a command override a built-in app', () => {
    assert.deepEqual(resolveImage('curlimages/curl', { command: ['/bin/sleep', 'infinity'] }), { kind: 'host', argv: ['/bin/sleep', 'infinity'] });
    assert.deepEqual(resolveImage('curlimages/curl:8.5.0', {}), { kind: 'host', argv: ['sleep', 'infinity'] });
    assert.deepEqual(resolveImage('curlimages/curl', { args: ['-s', 'http://x'] }), { kind: 'host', argv: ['curl', '-s', 'http://x'] });
    assert.deepEqual(resolveImage('busybox', { args: ['sh', '-c', 'echo'] }), { kind: 'host', argv: ['sh', '-c', 'echo'] });
    assert.deepEqual(resolveImage('ssongman/userlist', { command: ['sh'], args: ['-c', 'echo'] }), { kind: 'host', argv: ['sh', '-c', 'echo'] });
    assert.deepEqual(resolveImage('nginx', { command: ['python3', '-m', 'http.server'] }), { kind: 'host', argv: ['python3', '-m', 'http.server'] });
  });

  it('fails an unknown image without command with the catalog and the way out', () => {
    const r = resolveImage('nginx:1.25', {});
    assert.equal(r.kind, 'unknown');
    assert.match((r as { message: string }).message, /^Failed to pull image "nginx:1.25": .*honester\/hello-server.*set command: \[\.\.\.\] to run a program from this machine$/);
  });
});

describe('expand()', () => {
  const vars: Record<string, string> = { A: 'a', B: 'b' };
  const look = (n: string): string | undefined => vars[n];
  it('expands $(VAR), keeps unknown references and unclosed ones, and unescapes $$', () => {
    assert.equal(expand('$(A)-$(B)', look), 'a-b');
    assert.equal(expand('$(C)', look), '$(C)');
    assert.equal(expand('$$(A)', look), '$(A)');
    assert.equal(expand('$(A', look), '$(A');
    assert.equal(expand('cost $5 $', look), 'cost $5 $');
    assert.equal(expand('$$$(A)', look), '$a');
  });
});

describe('IpAllocator', () => {
  it('skips 127.42.0.0 and .0.1, keeps reserved addresses and frees on release', () => {
    const ips = new IpAllocator({ start: 2 });
    assert.equal(ips.reserve('old', '127.42.0.2'), true);
    assert.equal(ips.reserve('clash', '127.42.0.2'), false);
    assert.equal(ips.reserve('bad', '10.0.0.1'), false);
    assert.equal(ips.allocate('a'), '127.42.0.3');
    assert.equal(ips.allocate('a'), '127.42.0.3');
    ips.release('old');
    assert.equal(ips.allocate('b'), '127.42.0.4');
    assert.equal(ips.size, 2);
  });
  it('skips an address another live Skiff of the machine claims, and takes over a dead or reused one', (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-claims-'));
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    t.after(() => {
      other.kill();
      rmSync(dir, { recursive: true, force: true });
    });
    const dead = spawnSync('true').pid;
    const claim = (ip: string, holder: string): void => writeFileSync(path.join(dir, ip), holder);
    claim('127.42.0.2', `${other.pid} ${processStartTime(other.pid!) ?? ''}`);
    claim('127.42.0.3', `${dead} 1`);
    claim('127.42.0.4', `${process.pid} not-my-start-time`);
    const ips = new IpAllocator({ start: 2, claims: new AddressClaims(dir) });
    assert.equal(ips.allocate('a'), '127.42.0.3', 'a claim of a process that is gone is stale');
    assert.equal(ips.allocate('b'), '127.42.0.4', 'a claim of a reused pid is stale');
    assert.equal(ips.reserve('c', '127.42.0.2'), false, 'a live Skiff holds it');
    assert.equal(ips.allocate('c'), '127.42.0.5');
    const mine = readFileSync(path.join(dir, '127.42.0.5'), 'utf8');
    assert.equal(mine.split(' ')[0], String(process.pid));
    ips.release('a');
    assert.equal(existsSync(path.join(dir, '127.42.0.3')), false, 'release gives the claim back');
    ips.releaseAll();
    assert.equal(existsSync(path.join(dir, '127.42.0.5')), false);
    assert.equal(existsSync(path.join(dir, '127.42.0.2')), true, 'another Skiff’s claim stays');
    assert.equal(new IpAllocator({ start: 2, claims: new AddressClaims(dir) }).allocate('d'), '127.42.0.3');
  });
  it('starts at a random place, so two Skiffs on one machine do not hand out the same first addresses', () => {
    const firsts = new Set(Array.from({ length: 5 }, (_, i) => new IpAllocator().allocate(`p${i}`)));
    assert.ok(firsts.size > 1);
  });
});

describe('LogWriter', () => {
  it('stamps whole lines, joins partial writes and stops at the cap with a note', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-logs-'));
    try {
      const w = new LogWriter(path.join(dir, 'c', '0.log'), { maxBytes: 200 });
      w.write('out', 'hel');
      w.write('out', 'lo\nwor');
      w.write('err', 'oops\n');
      w.write('out', 'ld\n');
      w.write('out', `${'x'.repeat(300)}\n`);
      w.write('out', 'after\n');
      w.close();
      const lines = readFileSync(path.join(dir, 'c', '0.log'), 'utf8').trim().split('\n');
      assert.deepEqual(lines.map((l) => l.slice(31)), ['hello', 'oops', 'world', '[skiff] log file reached 200 bytes; further output of this run is dropped']);
      assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lookPath()', () => {
  it('finds programs in PATH and words failures as runc does', () => {
    assert.equal(lookPath('sh', '/nonexistent:/bin:/usr/bin', '/'), '/bin/sh');
    assert.throws(() => lookPath('nosuch', '/bin', '/'), { message: 'unable to start container process: exec: "nosuch": executable file not found in $PATH' });
    assert.throws(() => lookPath('/nosuch', '/bin', '/'), { message: 'unable to start container process: exec: "/nosuch": stat /nosuch: no such file or directory' });
  });
});

describe('podPhase()', () => {
  const c = (state: ContainerView['state'], last: ContainerView['lastState'] = {}): ContainerView => ({ name: 'c', image: 'i', init: false, sidecar: false, state, lastState: last, restartCount: 0, pulled: true, started: false, ready: false });
  const done = (code: number): ContainerView['state'] => ({ terminated: { exitCode: code, reason: code ? 'Error' : 'Completed', startedAt: '', finishedAt: '' } });
  it('follows the kubelet: waiting is Pending, crash-looping is Running, finished is Succeeded or Failed by policy', () => {
    assert.equal(podPhase('Always', true, [], [c({ waiting: { reason: 'ContainerCreating' } })]), 'Pending');
    assert.equal(podPhase('Always', true, [], [c({ waiting: { reason: 'CrashLoopBackOff' } }, done(1))]), 'Running');
    assert.equal(podPhase('Never', true, [], [c(done(0))]), 'Succeeded');
    assert.equal(podPhase('Never', true, [], [c(done(0)), c(done(2))]), 'Failed');
    assert.equal(podPhase('OnFailure', true, [], [c(done(0))]), 'Succeeded');
    assert.equal(podPhase('Always', false, [c(done(1))], [c({ waiting: { reason: 'PodInitializing' } })]), 'Pending');
    assert.equal(podPhase('Never', false, [{ ...c(done(1)), init: true }], [c({ waiting: { reason: 'PodInitializing' } })]), 'Failed');
  });
});
