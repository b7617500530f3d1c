import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { adoptForBatch, flushSocket, holding, writeLater } from './batch.ts';
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
