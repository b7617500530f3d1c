/** Writes past the Writable (writes.ts) on real loopback sockets. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { test } from 'node:test';
import { connectDirect } from './reads.ts';
import { directWrites, writeDirect } from './writes.ts';
import { until } from '../../stream/stream.test-helper.ts';

/** A dialled socket and the connection the server accepted for it; the accepted side is paused. */
async function pair(dial: (port: number) => net.Socket = (port) => net.connect(port, '127.0.0.1')): Promise<{ s: net.Socket; peer: net.Socket; close: () => void }> {
  const server = net.createServer({ pauseOnConnect: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const s = dial((server.address() as net.AddressInfo).port);
  const [peer] = (await once(server, 'connection')) as [net.Socket];
  if (s.connecting) await once(s, 'connect');
  return {
    s,
    peer,
    close: () => {
      s.destroy();
      peer.destroy();
      server.close();
    },
  };
}

/** Everything `peer` reads until it ends. */
async function readAll(peer: net.Socket): Promise<string> {
  let got = '';
  peer.on('data', (c: Buffer) => (got += c.toString('latin1')));
  peer.resume();
  await once(peer, 'end');
  return got;
}

test('this node lets held writes skip the Writable (the proxy is slower without it)', () => {
  assert.equal(directWrites, true);
});

test('a direct write reaches the peer, in order with writes through the socket before and after it', { timeout: 10_000 }, async (t) => {
  const p = await pair();
  t.after(p.close);
  p.s.write('one ');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(p.s.writableLength, 0);
  // Writes the kernel takes whole share one request object.
  assert.equal(writeDirect(p.s, 'two '), true);
  assert.equal(writeDirect(p.s, 'and a half '), true);
  p.s.end('three');
  assert.equal(await readAll(p.peer), 'one two and a half three');
});

const queued = (s: net.Socket): number => (s as unknown as { _handle: { writeQueueSize: number } })._handle.writeQueueSize;

test('what the kernel does not take stays queued on the handle; the next writes wait behind it through the Writable', { timeout: 10_000 }, async (t) => {
  const p = await pair();
  t.after(p.close);
  // The peer is paused: a few MB fill both socket buffers, so the write completes only in part.
  const big = 'a'.repeat(4 * 1024 * 1024 - 1) + 'Z';
  assert.equal(writeDirect(p.s, big), true);
  assert.ok(queued(p.s) > 0, 'the rest is queued');
  assert.equal(writeDirect(p.s, 'next'), false, 'a pending write sends the next one through the socket');
  p.s.write('next');
  let got = '';
  p.peer.on('data', (c: Buffer) => (got += c.toString('latin1')));
  p.peer.resume();
  await until(() => queued(p.s) === 0 && p.s.writableLength === 0);
  // The pending write completed; direct writes go on.
  assert.equal(writeDirect(p.s, ' after'), true);
  p.s.end();
  await once(p.peer, 'end');
  assert.equal(got.length, big.length + 10);
  assert.equal(got.indexOf('Z'), big.length - 1);
  assert.ok(got.endsWith('Znext after'));
});

test('a socket still connecting, corked, ended, over TLS or with bytes in its Writable is left to the socket', { timeout: 10_000 }, async (t) => {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const s = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  t.after(() => {
    s.destroy();
    server.close();
  });
  assert.equal(writeDirect(s, 'x'), false, 'connecting');
  await once(s, 'connect');
  s.cork();
  assert.equal(writeDirect(s, 'x'), false, 'corked');
  s.uncork();
  assert.equal(writeDirect(s, 'x'), true, 'none of these');

  const p = await pair();
  t.after(p.close);
  // The peer is paused, so a few MB stay in the Writable.
  p.s.write(Buffer.alloc(4 * 1024 * 1024));
  assert.ok(p.s.writableLength > 0);
  assert.equal(writeDirect(p.s, 'x'), false, 'bytes in the Writable');

  const q = await pair();
  t.after(q.close);
  q.s.end();
  assert.equal(writeDirect(q.s, 'x'), false, 'ended');

  const r = await pair();
  t.after(r.close);
  const secure = new tls.TLSSocket(r.s);
  secure.on('error', () => {});
  t.after(() => secure.destroy());
  assert.equal(writeDirect(secure, 'x'), false, 'TLS');
});

test('a write the kernel refuses destroys the socket with the write error, as node does', { timeout: 10_000 }, async (t) => {
  // A dialled socket reading through `onread` stops reading when paused, so the reset is first seen by the write.
  const p = await pair((port) => connectDirect({ port, host: '127.0.0.1' }, () => true));
  t.after(p.close);
  p.s.pause();
  p.peer.resetAndDestroy();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const failed = once(p.s, 'error') as Promise<[NodeJS.ErrnoException]>;
  assert.equal(writeDirect(p.s, 'too late'), true);
  const [err] = await failed;
  assert.equal(err.syscall, 'write');
  assert.match(String(err.code), /^(EPIPE|ECONNRESET)$/);
  assert.equal(p.s.destroyed, true);
});
