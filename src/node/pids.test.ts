import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isAlive, PidFile, pidFilePath, type PidRecord, processStartTime, readRecords } from './pids.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'skiff-pids-'));
  dirs.push(d);
  return d;
}

function rec(i: number): PidRecord {
  return { pgid: 100000 + i, startTime: '1', podUid: `uid-${i}`, pod: `pod-${i}`, container: 'c' };
}

const fileOf = pidFilePath;

describe('PidFile', () => {
  it('keeps the file a valid list through growth and shrinking, written in place while it shrinks less than half', async () => {
    const dir = dataDir();
    const pf = new PidFile(dir);
    await pf.killOrphans();
    for (let i = 0; i < 40; i++) pf.add(rec(i));
    pf.flush();
    assert.deepEqual(JSON.parse(readFileSync(fileOf(dir), 'utf8')), Array.from({ length: 40 }, (_, i) => rec(i)));
    const full = statSync(fileOf(dir));
    // Removing a quarter: the same file (same inode), padded to its length, still parses to the rest.
    for (let i = 0; i < 10; i++) pf.remove(100000 + i);
    pf.flush();
    const padded = statSync(fileOf(dir));
    assert.equal(padded.ino, full.ino);
    assert.equal(padded.size, full.size);
    assert.deepEqual(JSON.parse(readFileSync(fileOf(dir), 'utf8')), Array.from({ length: 30 }, (_, i) => rec(i + 10)));
    // Under half the file: replaced by a smaller one.
    for (let i = 10; i < 38; i++) pf.remove(100000 + i);
    pf.flush();
    const small = readFileSync(fileOf(dir), 'utf8');
    assert.ok(small.length < full.size / 2, `${small.length} bytes`);
    assert.deepEqual(JSON.parse(small), [rec(38), rec(39)]);
    pf.close();
    assert.equal(readFileSync(fileOf(dir), 'utf8'), JSON.stringify([rec(38), rec(39)]));
  });

  it('reads every whole record of a list that a kill -9 cut between the new first part and the old rest', () => {
    const old = JSON.stringify([rec(1), rec(2), rec(3), rec(4)]);
    const next = JSON.stringify([{ ...rec(5), pod: 'a-longer-pod-name' }, rec(6)]);
    // The first pages of the new list over the old list's tail, cut mid-record.
    const torn = next.padEnd(old.length).slice(0, next.length - 20) + old.slice(next.length - 20);
    assert.throws(() => JSON.parse(torn));
    const got = readRecords(torn).map((r) => r.pgid);
    assert.ok(got.includes(100005), JSON.stringify(got));
    assert.ok(got.includes(100004), JSON.stringify(got));
    assert.deepEqual(readRecords('[]     '), []);
    assert.deepEqual(readRecords('{"no":"list"}'), []);
    assert.deepEqual(readRecords('garbage'), []);
  });

  it('kills a recorded group that is still alive, found in a torn file, and leaves the file empty', async () => {
    const dir = dataDir();
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    const pid = child.pid!;
    const live: PidRecord = { pgid: pid, startTime: processStartTime(pid), podUid: 'u', pod: 'p', container: 'c' };
    const text = JSON.stringify([rec(1), live, rec(2)]);
    writeFileSync(fileOf(dataDirWithNode(dir)), `${text.slice(0, 40)}#${text.slice(41)}`);
    const pf = new PidFile(dir);
    assert.ok((await pf.killOrphans()) >= 1);
    await exited;
    assert.equal(isAlive(pid), false);
    assert.deepEqual(JSON.parse(readFileSync(fileOf(dir), 'utf8')), []);
    pf.close();
  });
});

function dataDirWithNode(dir: string): string {
  new PidFile(dir).abandon(); // makes <dir>/node
  return dir;
}
