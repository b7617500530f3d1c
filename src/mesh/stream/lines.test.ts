import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { Lines } from './lines.ts';
import { until } from './stream.test-helper.ts';

const closers: Array<() => void> = [];
after(() => {
  for (const c of closers) c();
});

/** A connected loopback socket pair: `a` is ours to write raw bytes, `b` carries the Lines under test. */
async function pair(): Promise<{ a: net.Socket; b: net.Socket }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const a = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const b = await accepted;
  closers.push(() => {
    a.destroy();
    b.destroy();
    server.close();
  });
  await new Promise((r) => (a.connecting ? a.once('connect', r) : r(undefined)));
  return { a, b };
}

test('messages split at every byte, several in one chunk, and the bytes before the socket was handed over all arrive whole and in order', async () => {
  const { a, b } = await pair();
  const got: string[] = [];
  const msgs = ['{"type":"ack","version":"1"}', '{"name":"größe ✓ 🚀"}', '{"x":"\\n escaped newline"}'];
  new Lines(b, (t) => got.push(t), 1 << 20).receive(Buffer.from(`${msgs[0]}\n{"par`));
  const rest = Buffer.from(`tial":1}\n${msgs[1]}\n${msgs[2]}\n`);
  for (let i = 0; i < rest.length; i++) {
    a.write(rest.subarray(i, i + 1));
    await new Promise((r) => setImmediate(r));
  }
  await until(() => got.length === 4);
  assert.deepEqual(got, [msgs[0], '{"partial":1}', msgs[1], msgs[2]]);
  // Many in one write.
  a.write(`${msgs.join('\n')}\n`);
  await until(() => got.length === 7);
  assert.deepEqual(got.slice(4), msgs);
});

test('send writes one line per message; empty lines are skipped', async () => {
  const { a, b } = await pair();
  const got: string[] = [];
  const lines = new Lines(b, () => undefined, 1 << 20);
  const echo = new Lines(a, (t) => got.push(t), 1 << 20);
  lines.send('{"a":1}');
  lines.send('{"b":2}');
  b.write('\n\n');
  lines.send('{"c":3}');
  await until(() => got.length === 3);
  assert.deepEqual(got, ['{"a":1}', '{"b":2}', '{"c":3}']);
  assert.equal(echo.open, true);
});

test('a message over the cap closes the connection, whether it arrives whole or in parts', async () => {
  for (const split of [false, true]) {
    const { a, b } = await pair();
    const got: string[] = [];
    const lines = new Lines(b, (t) => got.push(t), 16);
    const closed = new Promise((r) => b.once('close', r));
    b.on('error', () => undefined);
    a.on('error', () => undefined);
    a.write('{"ok":1}\n');
    if (split) {
      a.write('{"long":"0123');
      await new Promise((r) => setTimeout(r, 20));
      a.write('456789abcdef"}');
    } else a.write('{"long":"0123456789abcdef"}\n');
    await closed;
    assert.deepEqual(got, ['{"ok":1}']);
    assert.equal(lines.open, false);
    lines.send('{"late":1}'); // no throw after close
  }
});
