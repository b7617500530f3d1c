import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fortioCli, start } from './index.ts';
import { parseFlags, type CliIO } from './cli.ts';

function capture(env: Record<string, string | undefined> = {}): CliIO & { out: string; err: string } {
  const io = { out: '', err: '', env, stdout(s: string) { io.out += s; }, stderr(s: string) { io.err += s; } };
  return io;
}

async function echo(): Promise<{ url: string; close(): Promise<void> }> {
  const s = await start({ host: '127.0.0.1', port: 0, env: {} });
  return { url: `http://127.0.0.1:${s.port}`, close: s.close };
}

test('fortioCli load prints fortio summary lines on stderr and exits 0', async () => {
  const s = await echo();
  try {
    const io = capture();
    const code = await fortioCli(['load', '-c', '2', '-qps', '0', '-n', '20', '-loglevel', 'Warning', `${s.url}/get`], io);
    assert.equal(code, 0);
    const lines = io.err.split('\n');
    assert.match(lines[0] ?? '', /"msg":"Log level is now 3 Warning \(was 2 Info\)"/);
    assert.match(io.err, new RegExp(`^Fortio 1\\.\\d+\\.\\d+ running at 0 queries per second, \\d+->\\d+ procs, for 20 calls: ${s.url}/get$`, 'm'));
    assert.match(io.err, /^Starting at max qps with 2 thread\(s\) \[gomax \d+\] for exactly 20 calls \(10 per thread \+ 0\)$/m);
    assert.match(io.err, /^Ended after [\d.]+(ms|s|µs) : 20 calls\. qps=[\d.]+$/m);
    assert.match(io.err, /^Aggregated Function Time : count 20 avg /m);
    assert.match(io.err, /^# range, mid point, percentile, count$/m);
    for (const p of ['50', '75', '90', '99', '99\\.9']) assert.match(io.err, new RegExp(`^# target ${p}% `, 'm'));
    assert.match(io.err, /^Sockets used: 2 \(for perfect keepalive, would be 2\)$/m);
    assert.match(io.err, /^Code 200 : 20 \(100\.0 %\)$/m);
    assert.match(io.err, /^Response Body\/Total Sizes : count 20 /m);
    assert.match(io.err, /^All done 20 calls \(plus 0 warmup\) [\d.]+ ms avg, [\d.]+ qps$/m);
    assert.equal(io.out, '');
  } finally {
    await s.close();
  }
});

test('fortioCli load against ?status=503 splits codes and -json - writes fortio-shaped JSON', async () => {
  const s = await echo();
  try {
    const io = capture();
    const code = await fortioCli(['load', '-c', '1', '-qps', '0', '-n', '4', '-json', '-', '-p', '50,99', `${s.url}/?status=503`], io);
    assert.equal(code, 0);
    assert.match(io.err, /^Code 503 : 4 \(100\.0 %\)$/m);
    assert.match(io.err, /^Sockets used: 4 /m);
    const j = JSON.parse(io.out) as { RetCodes: Record<string, number>; DurationHistogram: { Count: number; Percentiles: unknown[] } };
    assert.deepEqual(j.RetCodes, { 503: 4 });
    assert.equal(j.DurationHistogram.Count, 4);
    assert.equal(j.DurationHistogram.Percentiles.length, 2);
    const dir = mkdtempSync(join(tmpdir(), 'fortio-'));
    const io2 = capture();
    assert.equal(await fortioCli(['load', '-quiet', '-n', '2', '-qps', '0', '-json', join(dir, 'r.json'), `${s.url}/`], io2), 0);
    assert.match(io2.err, /Successfully wrote \d+ bytes of Json data to /);
    assert.equal((JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as { Exactly: number }).Exactly, 2);
    assert.doesNotMatch(io2.err, /^Starting at/m); // -quiet (Error level) trims the report like fortio
    rmSync(dir, { recursive: true, force: true });
  } finally {
    await s.close();
  }
});

test('fortioCli curl prints headers on stderr and the body on stdout', async () => {
  const s = await echo();
  try {
    const io = capture();
    assert.equal(await fortioCli(['curl', '-H', 'X-Test: yes', `${s.url}/debug`], io), 0);
    assert.match(io.err, /^HTTP\/1\.1 200 OK\r$/m);
    assert.match(io.out, /^GET \/debug HTTP\/1\.1$/m);
    assert.match(io.out, /^X-Test: yes$/m);
    const io2 = capture();
    assert.equal(await fortioCli(['curl', '-payload', 'ping', `${s.url}/`], io2), 0);
    assert.equal(io2.out, 'ping');
    const io3 = capture();
    assert.equal(await fortioCli(['curl', `${s.url}/?status=404`], io3), 1);
    assert.match(io3.out, /^HTTP\/1\.1 404/);
  } finally {
    await s.close();
  }
});

test('fortioCli curl and load honour HTTP_PROXY with absolute-URL requests', async () => {
  const { createServer } = await import('node:http');
  const seen: string[] = [];
  const proxy = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'Content-Length': 2 });
    res.end('ok');
  }).listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  const env = { HTTP_PROXY: `http://127.0.0.1:${(proxy.address() as { port: number }).port}` };
  try {
    const io = capture(env);
    assert.equal(await fortioCli(['curl', 'http://httpbin:8000/get'], io), 0);
    assert.equal(io.out, 'ok');
    const io2 = capture(env);
    assert.equal(await fortioCli(['load', '-c', '1', '-qps', '0', '-n', '3', 'httpbin:8000/headers'], io2), 0);
    assert.match(io2.err, /^Code 200 : 3 \(100\.0 %\)$/m);
    assert.deepEqual(seen, ['GET http://httpbin:8000/get', ...Array(3).fill('GET http://httpbin:8000/headers')]);
  } finally {
    proxy.closeAllConnections();
    proxy.close();
  }
});

test('fortioCli rejects unknown commands and bad flags with exit 1', async () => {
  const io = capture();
  assert.equal(await fortioCli(['frobnicate'], io), 1);
  assert.match(io.err, /Error: unknown command "frobnicate"/);
  assert.match(io.err, /usage:/);
  const io2 = capture();
  assert.equal(await fortioCli(['load', '-bogus', 'http://x/'], io2), 1);
  assert.match(io2.err, /flag provided but not defined: -bogus/);
  const io3 = capture();
  assert.equal(await fortioCli(['load', '-c', 'two', 'http://x/'], io3), 1);
  assert.match(io3.err, /invalid value "two" for flag -c/);
  const io4 = capture();
  assert.equal(await fortioCli(['load', '-t', '5', 'http://x/'], io4), 1);
  assert.match(io4.err, /invalid duration/);
  const io5 = capture();
  assert.equal(await fortioCli(['load', '-loglevel', 'Loud', 'http://x/'], io5), 1);
  const io6 = capture();
  assert.equal(await fortioCli(['load'], io6), 1);
  assert.match(io6.err, /needs a URL/);
  const io7 = capture();
  assert.equal(await fortioCli(['load', '-H', 'nocolon', 'http://x/'], io7), 1);
  assert.match(io7.err, /invalid header "nocolon"/);
});

test('fortioCli version, help and no-args', async () => {
  const io = capture();
  assert.equal(await fortioCli(['version'], io), 0);
  assert.match(io.out, /^1\.\d+\.\d+\n$/);
  const io2 = capture();
  assert.equal(await fortioCli(['help'], io2), 0);
  assert.match(io2.out, /fortio command \[flags\] target/);
  const io3 = capture();
  assert.equal(await fortioCli([], io3), 1);
  assert.match(io3.err, /usage:/);
});

test('fortioCli load aborts when warmup fails (duration mode) with fortio message', async () => {
  const s = await echo();
  try {
    const io = capture();
    assert.equal(await fortioCli(['load', '-t', '100ms', `${s.url}/?status=500`], io), 1);
    assert.match(io.err, /^Aborting because of error 500 for http:\/\/127\.0\.0\.1:\d+\/\?status=500 \(\d+ bytes\)$/m);
  } finally {
    await s.close();
  }
});

test('parseFlags() follows Go flag syntax and stops at the first argument', () => {
  const r = parseFlags(['-c=3', '--qps', '0', '-H', 'A: b', '-H', 'C: d', '-keepalive=false', 'http://x/', '-n', '5']);
  assert.deepEqual(r.flags, { c: 3, qps: 0, H: ['A: b', 'C: d'], keepalive: false });
  assert.deepEqual(r.rest, ['http://x/', '-n', '5']);
});

test('fortioCli server serves until the signal aborts', async () => {
  const ac = new AbortController();
  const io = capture({ POD_IP: '127.0.0.1' });
  io.signal = ac.signal;
  const done = fortioCli(['server', '-http-port', '127.0.0.1:0'], io);
  await new Promise((r) => setTimeout(r, 100));
  assert.match(io.err, /http-echo server listening on tcp 127\.0\.0\.1:\d+/);
  ac.abort();
  assert.equal(await done, 0);
});
