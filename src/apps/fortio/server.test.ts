import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { start } from './index.ts';
import { echoDelayMs, echoSize, echoStatus, pickWeighted, rollProbability } from './server.ts';

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: string }

function request(port: number, path: string, opts: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

test('start() echo server echoes the body and content type on /', async () => {
  const s = await start({ host: '127.0.0.1', port: 0, env: {} });
  try {
    const r = await request(s.port, '/anything', { method: 'POST', body: 'hello', headers: { 'Content-Type': 'text/x-test' } });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'hello');
    assert.equal(r.headers['content-type'], 'text/x-test');
  } finally {
    await s.close();
  }
});

test('echo server honours status, size, header, close and delay query args', async () => {
  const s = await start({ host: '127.0.0.1', port: 0, env: {} });
  try {
    const r = await request(s.port, '/?status=503&size=10&header=X-Foo:bar&close=true&delay=5ms');
    assert.equal(r.status, 503);
    assert.equal(r.body.length, 10);
    assert.equal(r.headers['x-foo'], 'bar');
    assert.equal(r.headers.connection, 'close');
    assert.equal((await request(s.port, '/?status=bogus')).status, 400);
  } finally {
    await s.close();
  }
});

test('echo server /debug describes the request and /fortio/ serves a page', async () => {
  const s = await start({ host: '127.0.0.1', port: 0, env: {} });
  try {
    const r = await request(s.port, '/debug?x=1', { headers: { 'x-custom': 'v' } });
    assert.equal(r.status, 200);
    assert.match(r.body, /^Φορτίο version 1\.\d+\.\d+ echo debug server up for /);
    assert.match(r.body, /^GET \/debug\?x=1 HTTP\/1\.1$/m);
    assert.match(r.body, /^X-Custom: v$/m);
    const ui = await request(s.port, '/fortio/');
    assert.equal(ui.status, 200);
    assert.match(ui.headers['content-type'] ?? '', /text\/html/);
    await s.close();
    await s.close(); // idempotent
  } finally {
    await s.close();
  }
});

test('pickWeighted() and friends follow fortio probabilistic syntax', () => {
  assert.equal(pickWeighted('503', '200'), '503');
  assert.equal(pickWeighted('503:50,429:10', '200', 30), '503');
  assert.equal(pickWeighted('503:50,429:10', '200', 55), '429');
  assert.equal(pickWeighted('503:50,429:10', '200', 90), '200');
  assert.equal(pickWeighted('503:80,429:30', '200', 1), undefined); // sums over 100
  assert.equal(echoStatus('503:50', 10), 503);
  assert.equal(echoStatus('x'), 400);
  assert.equal(echoDelayMs('10ms'), 10);
  assert.equal(echoDelayMs('10s'), 1500);
  assert.equal(echoSize('-5'), 0);
  assert.equal(echoSize(null), -1);
  assert.equal(rollProbability('25', 10), true);
  assert.equal(rollProbability('25', 50), false);
  assert.equal(rollProbability('false'), false);
});
