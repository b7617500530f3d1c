import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { runLoad, formatResult, planLoad, proxyFor } from './load.ts';
import { FortioError } from './errors.ts';
import { LogLevel } from './log.ts';

const open = new WeakMap<net.Server, Set<net.Socket>>();

async function listen(server: net.Server): Promise<number> {
  const socks = new Set<net.Socket>();
  open.set(server, socks);
  server.on('connection', (s: net.Socket) => {
    socks.add(s);
    s.on('close', () => socks.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

async function close(server: net.Server): Promise<void> {
  for (const s of open.get(server) ?? []) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
}

/** An HTTP server that answers 503 + Connection: close on every `nth` request. */
function okServer(nth = 0): http.Server {
  let count = 0;
  return http.createServer((req, res) => {
    count++;
    if (nth > 0 && count % nth === 0) {
      res.writeHead(503, { 'Content-Length': 2, Connection: 'close' });
      res.end('no');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 5 });
    res.end('hello');
  });
}

test('runLoad() -c 1 -qps 0 -n 100 keeps one socket and gets 100 200s', async () => {
  const server = okServer();
  const port = await listen(server);
  try {
    const r = await runLoad({ url: `http://127.0.0.1:${port}/get`, connections: 1, qps: 0, n: 100 });
    assert.equal(r.duration.count, 100);
    assert.deepEqual([...r.retCodes], [[200, 100]]);
    assert.equal(r.socketCount, 1);
    const text = formatResult(r, { level: LogLevel.Warning });
    assert.match(text, /^Code 200 : 100 \(100\.0 %\)$/m);
    assert.match(text, /^Sockets used: 1 \(for perfect keepalive, would be 1\)$/m);
    assert.match(text, /^Starting at max qps with 1 thread\(s\) \[gomax \d+\] for exactly 100 calls \(100 per thread \+ 0\)$/m);
    assert.match(text, /^All done 100 calls \(plus 0 warmup\) [\d.]+ ms avg, [\d.]+ qps$/m);
    assert.match(text, /^# target 99\.9% [\d.e-]+$/m);
  } finally {
    await close(server);
  }
});

test('runLoad() counts 503+close answers and opens a new socket after each', async () => {
  const server = okServer(4);
  const port = await listen(server);
  try {
    const r = await runLoad({ url: `http://127.0.0.1:${port}/`, connections: 1, qps: 0, n: 20 });
    assert.equal(r.retCodes.get(200), 15);
    assert.equal(r.retCodes.get(503), 5);
    // one initial socket + one after each 503 except when the 503 was the very last call
    assert.equal(r.socketCount, 5);
    assert.equal(r.errors.count, 5);
    const text = formatResult(r, { level: LogLevel.Warning });
    assert.match(text, /^Code 200 : 15 \(75\.0 %\)$/m);
    assert.match(text, /^Code 503 : 5 \(25\.0 %\)$/m);
    assert.match(text, /^Response Header Sizes : count 20 avg [\d.]+ \+\/- [\d.]+ min 0 max \d+ sum \d+$/m);
  } finally {
    await close(server);
  }
});

test('runLoad() reconnects when a raw server answers 503 and drops the connection', async () => {
  let n = 0;
  const server = net.createServer((sock) => {
    sock.on('data', () => {
      n++;
      if (n % 2 === 0) sock.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 19\r\n\r\nupstream overflow\r\n');
      else sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    sock.on('error', () => undefined);
  });
  const port = await listen(server);
  try {
    const r = await runLoad({ url: `http://127.0.0.1:${port}/`, connections: 2, qps: 0, n: 10 });
    assert.equal((r.retCodes.get(200) ?? 0) + (r.retCodes.get(503) ?? 0), 10);
    assert.ok((r.retCodes.get(503) ?? 0) >= 1);
    assert.ok(r.socketCount > 2, `sockets ${r.socketCount}`);
  } finally {
    await close(server);
  }
});

test('planLoad() splits -n across threads exactly, giving the leftover to thread 0', () => {
  const p = planLoad({ url: 'http://x/', connections: 3, qps: 0, n: 20 });
  assert.deepEqual([p.threads, p.perThread, p.leftOver], [3, 6, 2]);
  const q = planLoad({ url: 'http://x/', connections: 4, qps: 10, n: 5 });
  assert.deepEqual([q.threads, q.perThread, q.leftOver], [2, 2, 1]);
  assert.equal(q.warnings.length, 1);
});

test('runLoad() -n split across -c threads sums exactly', async () => {
  const server = okServer();
  const port = await listen(server);
  try {
    const r = await runLoad({ url: `http://127.0.0.1:${port}/`, connections: 3, qps: 0, n: 20 });
    assert.equal(r.duration.count, 20);
    assert.equal(r.retCodes.get(200), 20);
    assert.equal(r.socketCount, 3);
  } finally {
    await close(server);
  }
});

test('runLoad() with -qps paces the calls and still makes exactly -n calls', async () => {
  const server = okServer();
  const port = await listen(server);
  try {
    const r = await runLoad({ url: `http://127.0.0.1:${port}/`, connections: 2, qps: 100, n: 10 });
    assert.equal(r.duration.count, 10);
    assert.ok(r.sleep && r.sleep.count === 8); // 2 threads x (5 calls - 1) sleeps
    assert.match(formatResult(r, { level: LogLevel.Warning }), /^(Sleep times|Aggregated Sleep Time) : count 8 /m);
  } finally {
    await close(server);
  }
});

test('runLoad() duration mode does a warmup per thread and stops after -t', async () => {
  const server = okServer();
  const port = await listen(server);
  try {
    const r = await runLoad({ url: `http://127.0.0.1:${port}/`, connections: 2, qps: 0, durationMs: 150 });
    assert.ok(r.duration.count > 0);
    assert.equal(r.warmup, 2);
    assert.match(formatResult(r), /\(plus 2 warmup\)/);
  } finally {
    await close(server);
  }
});

async function deadPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await close(s);
  return port;
}

test('runLoad() counts connection refused as code -1 and does not hang', async () => {
  const port = await deadPort();
  const r = await runLoad({ url: `http://127.0.0.1:${port}/`, connections: 2, qps: 0, n: 6 });
  assert.deepEqual([...r.retCodes], [[-1, 6]]);
  assert.equal(r.socketCount, 6);
  assert.match(formatResult(r, { level: LogLevel.Warning }), /^Code  -1 : 6 \(100\.0 %\)$/m);
});

test('runLoad() aborts on failed warmup unless allowInitialErrors', async () => {
  const port = await deadPort();
  await assert.rejects(runLoad({ url: `http://127.0.0.1:${port}/`, connections: 1, durationMs: 100 }),
    (e: unknown) => e instanceof FortioError && e.code === 'SKIFF_ERR_FORTIO_WARMUP');
  const r = await runLoad({ url: `http://127.0.0.1:${port}/`, connections: 1, qps: 0, durationMs: 50, allowInitialErrors: true });
  assert.ok((r.retCodes.get(-1) ?? 0) > 0);
});

test('runLoad() times out a silent server as -1', async () => {
  const server = net.createServer((s) => s.on('error', () => undefined).resume());
  const port = await listen(server);
  try {
    const r = await runLoad({ url: `http://127.0.0.1:${port}/`, connections: 1, qps: 0, n: 2, timeoutMs: 100 });
    assert.deepEqual([...r.retCodes], [[-1, 2]]);
  } finally {
    await close(server);
  }
});

test('runLoad() sends absolute-URL requests through HTTP_PROXY', async () => {
  const seen: string[] = [];
  const proxy = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url} host=${req.headers.host}`);
    res.writeHead(200, { 'Content-Length': 7 });
    res.end('proxied');
  });
  const port = await listen(proxy);
  try {
    const r = await runLoad({
      url: 'http://httpbin.test:8000/get', connections: 1, qps: 0, n: 3,
      env: { HTTP_PROXY: `http://127.0.0.1:${port}` },
    });
    assert.deepEqual([...r.retCodes], [[200, 3]]);
    assert.deepEqual(seen, Array(3).fill('GET http://httpbin.test:8000/get host=httpbin.test:8000'));
    assert.deepEqual([...r.ipCount], [[`127.0.0.1:${port}`, 1]]);
  } finally {
    await close(proxy);
  }
});

test('proxyFor() honours NO_PROXY, lowercase env and never proxies loopback', () => {
  const u = (s: string): URL => new URL(s);
  assert.deepEqual(proxyFor(u('http://a.svc:80/'), undefined, { http_proxy: '10.0.0.1:3128' }), { host: '10.0.0.1', port: 3128 });
  assert.equal(proxyFor(u('http://a.svc/'), undefined, { HTTP_PROXY: 'http://p:1', NO_PROXY: 'svc' }), undefined);
  assert.equal(proxyFor(u('http://a.svc/'), undefined, { HTTP_PROXY: 'http://p:1', NO_PROXY: '.svc' }), undefined);
  assert.equal(proxyFor(u('http://a.svc/'), undefined, { HTTP_PROXY: 'http://p:1', NO_PROXY: '*' }), undefined);
  assert.ok(proxyFor(u('http://a.svc:8000/'), undefined, { HTTP_PROXY: 'http://p:1', NO_PROXY: 'a.svc:9000' }));
  assert.equal(proxyFor(u('http://127.0.0.1:8000/'), undefined, { HTTP_PROXY: 'http://p:1' }), undefined);
  assert.equal(proxyFor(u('https://a.svc/'), undefined, { HTTP_PROXY: 'http://p:1' }), undefined);
});

test('runLoad() handles chunked and read-until-close responses', async () => {
  let n = 0;
  const server = net.createServer((sock) => {
    sock.on('data', () => {
      n++;
      if (n === 1) sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
      else sock.end('HTTP/1.1 200 OK\r\n\r\nuntil close');
    });
    sock.on('error', () => undefined);
  });
  const port = await listen(server);
  try {
    const r = await runLoad({ url: `http://127.0.0.1:${port}/`, connections: 1, qps: 0, n: 3 });
    assert.deepEqual([...r.retCodes], [[200, 3]]);
    assert.equal(r.socketCount, 2); // chunked keeps socket 1; the until-close answer on it forces socket 2
  } finally {
    await close(server);
  }
});
