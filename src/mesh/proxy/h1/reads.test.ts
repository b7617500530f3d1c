/** Direct reads (reads.ts) on real loopback sockets. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { keepCopy } from './parser.ts';
import { connectDirect, directAccepted, readAcceptedDirectly, readBuffer, readNow } from './reads.ts';
import { until } from '../../stream/stream.test-helper.ts';

/** A server whose accepted connections read directly into `onBytes`; the dialled side and the accepted one. */
async function acceptedPair(onBytes: (s: net.Socket, view: Buffer) => boolean): Promise<{ client: net.Socket; accepted: net.Socket; server: net.Server; direct: boolean }> {
  let direct = false;
  const server = net.createServer();
  const got = new Promise<net.Socket>((resolve) => {
    server.once('connection', (s: net.Socket) => {
      direct = readAcceptedDirectly(s, onBytes);
      resolve(s);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const accepted = await got;
  return { client, accepted, server, direct };
}

test('this node lets accepted connections read directly (the proxy is slower without it)', () => {
  assert.equal(directAccepted, true);
});

test('accepted connections: reads come as views of the shared buffer, no data events; pause() stops them', async () => {
  let seen = '';
  const { client, accepted, server, direct } = await acceptedPair((_s, view) => {
    assert.equal(view.buffer, readBuffer.buffer);
    seen += view.toString('latin1');
    return true;
  });
  assert.equal(direct, true);
  accepted.on('data', () => assert.fail('no data event expected'));
  client.write('hello ');
  await until(() => seen === 'hello ');
  accepted.pause();
  client.write('later');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(seen, 'hello ');
  accepted.resume();
  await until(() => seen === 'hello later');
  client.destroy();
  await until(() => accepted.destroyed);
  server.close();
});

test('accepted connections: a handler that pushes copies hands the bytes back to the socket as a Readable (pipe works)', async () => {
  const { client, accepted, server } = await acceptedPair((s, view) => s.push(Buffer.from(view)));
  const echoed: Buffer[] = [];
  client.on('data', (d: Buffer) => echoed.push(d));
  accepted.pipe(accepted);
  const big = Buffer.alloc(300_000, 'x');
  big.write('start', 0);
  big.write('end', big.length - 3);
  client.write(big);
  await until(() => Buffer.concat(echoed).length === big.length);
  assert.ok(Buffer.concat(echoed).equals(big));
  client.destroy();
  server.close();
});

test('dialled connections: reads go to the handler with their socket, and end/close still come', async () => {
  const server = net.createServer((s) => s.end('bytes then EOF'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let seen = '';
  let from: net.Socket | undefined;
  const s = connectDirect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1' }, (sock, view) => {
    from = sock;
    seen += view.toString('latin1');
    return true;
  });
  const closed = new Promise((resolve) => s.on('close', resolve));
  const ended = new Promise((resolve) => s.on('end', resolve));
  await Promise.all([closed, ended]);
  assert.equal(seen, 'bytes then EOF');
  assert.equal(from, s);
  server.close();
});

test('keepCopy() copies a view of the shared buffer into a backing store of its own, never a slice of the Buffer pool', () => {
  readBuffer.write('ok, and more', 0, 'latin1');
  const copy = keepCopy(readBuffer.subarray(0, 2));
  readBuffer.write('XX', 0, 'latin1');
  assert.equal(copy.toString('latin1'), 'ok');
  // Its own: the whole ArrayBuffer is these two bytes (Buffer.from() would give 2 bytes of an 8 KiB pool slab).
  assert.equal(copy.byteOffset, 0);
  assert.equal(copy.buffer.byteLength, 2);
  assert.notEqual(copy.buffer, keepCopy(readBuffer.subarray(0, 2)).buffer);
});

test('readNow() is one time for the whole of a direct read, a later one for the next, and the clock outside reads', async () => {
  const times: number[][] = [];
  const { client, accepted, server } = await acceptedPair(() => {
    const a = readNow();
    const b = readNow();
    times.push([a, b]);
    return true;
  });
  client.write('one');
  await until(() => times.length === 1);
  const between = readNow();
  client.write('two');
  await until(() => times.length === 2);
  assert.equal(times[0][0], times[0][1]);
  assert.equal(times[1][0], times[1][1]);
  assert.ok(between >= times[0][0] && times[1][0] >= between, `${times[0][0]} <= ${between} <= ${times[1][0]}`);
  client.destroy();
  accepted.destroy();
  server.close();
});
