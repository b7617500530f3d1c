import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { adoptForBatch, flushingInline, flushSocket, holding, probeEvery, quietFlushes, readDone, readStart, writeLater } from './batch.ts';
import { until } from '../../stream/stream.test-helper.ts';

/** A connected pair over loopback: `s` is written, `text()` is what the peer read so far. */
async function pair(): Promise<{ s: net.Socket; peer: net.Socket; text: () => string; close: () => void }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const s = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [peer] = (await once(server, 'connection')) as [net.Socket];
  let got = '';
  peer.on('data', (c: Buffer) => (got += c.toString('latin1')));
  peer.on('error', () => {});
  s.on('error', () => {});
  await once(s, 'connect');
  adoptForBatch(s);
  return {
    s,
    peer,
    text: () => got,
    close: () => {
      s.destroy();
      peer.destroy();
      server.close();
    },
  };
}

const immediate = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('writeLater holds text until the end of the I/O phase, then writes it in order as one piece', async () => {
  const p = await pair();
  writeLater(p.s, 'GET /a HTTP/1.1\r\n\r\n');
  writeLater(p.s, 'GET /b HTTP/1.1\r\n\r\n');
  assert.equal(holding(p.s), true);
  assert.equal(p.s.bytesWritten, 0, 'nothing reached the socket yet');
  await immediate();
  assert.equal(holding(p.s), false);
  await until(() => p.text().length === 38);
  assert.equal(p.text(), 'GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n');
  p.close();
});

test('flushSocket writes held text first, so a direct write after it keeps the order', async () => {
  const p = await pair();
  writeLater(p.s, 'first;');
  flushSocket(p.s);
  p.s.write('second;');
  await immediate();
  await until(() => p.text().length === 13);
  assert.equal(p.text(), 'first;second;');
  p.close();
});

test('a socket destroyed before the flush drops its held text without an error', async () => {
  const p = await pair();
  writeLater(p.s, 'lost');
  p.s.destroy();
  await immediate();
  assert.equal(holding(p.s), false);
  await once(p.peer, 'close');
  assert.equal(p.text(), '');
  p.close();
});

/** What a direct read's callback that queues `text` for each socket does (reads.ts brackets every read so). */
function read(...writes: [net.Socket, string][]): void {
  readStart();
  for (const [s, t] of writes) writeLater(s, t);
  readDone();
}

test('at low load writes leave when the read that queued them returns; a poll with a batch again holds them to the check phase', async () => {
  const a = await pair();
  const b = await pair();
  // A poll whose reads queued for two sockets: batching, whatever the tests before left.
  read([a.s, 'x'], [b.s, '']);
  await immediate();
  // Polls that each return one read: held to setImmediate until the flushes show it.
  for (let i = 0; i < quietFlushes; i++) {
    assert.equal(flushingInline(), false);
    read([a.s, 'x']);
    assert.equal(holding(a.s), true, `read ${i} is held while batching`);
    await immediate();
  }
  assert.equal(flushingInline(), true);
  read([a.s, 'y']);
  assert.equal(holding(a.s), false, 'written as the read returned');
  // A write outside a read still waits for the check phase.
  writeLater(a.s, 'z');
  assert.equal(holding(a.s), true);
  await immediate();
  await until(() => a.text().length === quietFlushes + 3);
  // Inline reads until the probe: its read is held, and two sockets flushed in that phase switch back.
  let n = 0;
  while (!holding(a.s)) {
    assert.ok(++n <= probeEvery, 'a probe within probeEvery reads');
    read([a.s, '.']);
  }
  read([b.s, 'batch']);
  assert.equal(holding(b.s), true, 'a read in the probe phase waits for it');
  await immediate();
  assert.equal(flushingInline(), false);
  read([b.s, '!']);
  assert.equal(holding(b.s), true, 'batching again');
  await immediate();
  await until(() => b.text() === 'batch!');
  a.close();
  b.close();
});

test('a read callback that throws still ends its bracket: later writes outside reads are scheduled', async () => {
  const p = await pair();
  readStart();
  try {
    throw new Error('boom');
  } catch {
    // reads.ts calls readDone() in a finally
  } finally {
    readDone();
  }
  writeLater(p.s, 'after');
  await immediate();
  await until(() => p.text() === 'after');
  p.close();
});
