import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { isAlive, pidFilePath, type PidRecord, processStartTime } from './pids.ts';
import { reap, startReaper } from './reaper.ts';
import { until } from '../mesh/stream/stream.test-helper.ts';

const skiffBin = fileURLToPath(new URL('../../bin/skiff.js', import.meta.url));
const reaperModule = fileURLToPath(new URL('./reaper.ts', import.meta.url));

const dirs: string[] = [];
const groups: number[] = [];
after(() => {
  for (const g of groups) {
    try {
      process.kill(-g, 'SIGKILL');
    } catch {
      // Gone, as it should be.
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'skiff-reaper-'));
  dirs.push(d);
  mkdirSync(path.dirname(pidFilePath(d)));
  return d;
}

/** A detached `sleep` (its own group, as the agent runs containers), recorded in dir's pids file. */
function recordedSleeper(dir: string): number {
  const c = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  c.unref();
  const pgid = c.pid!;
  groups.push(pgid);
  const r: PidRecord = { pgid, startTime: processStartTime(pgid), podUid: 'uid', pod: 'p', container: 'c' };
  writeFileSync(pidFilePath(dir), JSON.stringify([r]));
  return pgid;
}

describe('reaper', () => {
  it('kills the recorded groups once the process that started the watch is killed with -9', { timeout: 60_000 }, async () => {
    const dir = dataDir();
    const pgid = recordedSleeper(dir);
    // A stand-in for `skiff up`: starts the watch, then waits to be killed.
    const code = `const m = await import(${JSON.stringify(reaperModule)}); m.startReaper(${JSON.stringify(skiffBin)}, ${JSON.stringify(dir)}); process.stdout.write('watching\\n'); setInterval(() => {}, 1000);`;
    const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    owner.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.includes('watching'), 30_000);
    assert.equal(isAlive(pgid), true);
    owner.kill('SIGKILL');
    await until(() => !isAlive(pgid), 30_000);
    assert.equal(isAlive(pgid), false);
  });

  it('stop() ends the watch and leaves the recorded groups running', async () => {
    const dir = dataDir();
    const pgid = recordedSleeper(dir);
    const r = startReaper(skiffBin, dir);
    assert.ok(r, 'sh starts here');
    r.stop();
    // Once the watch is gone, a reap it had started would have finished.
    await until(() => !isAlive(r.pid), 30_000);
    assert.equal(isAlive(pgid), true);
  });

  it('reap leaves the groups alone when another live Skiff holds the data dir, and kills them when none does', async () => {
    const dir = dataDir();
    const pgid = recordedSleeper(dir);
    // The lock names a live process (this test) that is not the dead owner: a new Skiff took over.
    writeFileSync(path.join(dir, 'skiff.lock'), String(process.pid));
    assert.equal(await reap(dir, 999_999_999), 0);
    assert.equal(isAlive(pgid), true);
    // The lock still names the owner itself (it died holding it): its groups are reaped.
    assert.equal(await reap(dir, process.pid), 1);
    assert.equal(isAlive(pgid), false);
  });

  it('reap skips a recorded pid that now belongs to another process', async () => {
    const dir = dataDir();
    const pgid = recordedSleeper(dir);
    writeFileSync(pidFilePath(dir), JSON.stringify([{ pgid, startTime: '1', podUid: 'u', pod: 'p', container: 'c' }]));
    assert.equal(await reap(dir, 0), 0);
    assert.equal(isAlive(pgid), true);
  });
});
