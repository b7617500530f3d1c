/**
 * H1Call on real loopback sockets: a raw server reads the exact request bytes and writes exact
 * response bytes; the socket is set up as the pool sets it up (connectForExchanges at dial, the exchange
 * told first when the socket closes), and `done` records how each exchange hands its socket back.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import { H1Body } from './body.ts';
import { callOf, connectForExchanges, type DoneFn, H1Call, type H1Incoming, type Relay } from './client.ts';
import { lowerNames, unchunk, Wire } from './wire.test-helper.ts';

const sockets = new Set<net.Socket>();
let server: net.Server;
let port = 0;
/** Server sides of connections, taken in order by pair(). */
const accepted: net.Socket[] = [];
const acceptWaiters: ((s: net.Socket) => void)[] = [];

before(async () => {
  server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    const w = acceptWaiters.shift();
    if (w) w(s);
    else accepted.push(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
});


/** Listeners the pool installs on a dialled socket (upstream/sockets.ts). */
function onPoolClose(this: net.Socket): void {
  callOf(this)?.socketGone();
}

/** A connected client socket prepared as the pool prepares one, and the server side of it. */
async function pair(): Promise<{ s: net.Socket; peer: Wire }> {
  const s = connectForExchanges({ port, host: '127.0.0.1' });
  sockets.add(s);
  s.on('error', () => {}); // the pool ignores errors of busy sockets: 'close' follows
  s.on('close', onPoolClose);
  const [serverSide] = await Promise.all([
    new Promise<net.Socket>((resolve) => {
      const ready = accepted.shift();
      if (ready) resolve(ready);
      else acceptWaiters.push(resolve);
    }),
    new Promise((resolve) => s.once('connect', resolve)),
  ]);
  return { s, peer: new Wire(serverSide) };
}

/** A done callback recording its calls. */
function recorder(): { done: DoneFn; calls: [net.Socket, boolean][]; next: Promise<[net.Socket, boolean]> } {
  const calls: [net.Socket, boolean][] = [];
  let resolve: (c: [net.Socket, boolean]) => void;
  const next = new Promise<[net.Socket, boolean]>((r) => (resolve = r));
  const done: DoneFn = (socket, reusable) => {
    calls.push([socket, reusable]);
    resolve([socket, reusable]);
  };
  return { done, calls, next };
}

interface Read {
  res: H1Incoming;
  body: string;
  /** 'end' or 'close' (the body's last event seen first). */
  how: 'end' | 'close';
  events: string[];
}

/** The response of `call` and its body read to 'end' (or to a 'close' without it). */
function response(call: H1Call): Promise<Read> {
  return new Promise((resolve, reject) => {
    call.once('error', reject);
    call.once('response', (res: H1Incoming) => {
      let body = '';
      const events: string[] = [];
      res.on('data', (d: Buffer) => (body += d.toString('latin1')));
      res.on('aborted', () => events.push('aborted'));
      res.on('end', () => events.push('end'));
      res.on('close', () => {
        events.push('close');
        resolve({ res, body, how: events.includes('end') ? 'end' : 'close', events });
      });
    });
  });
}

/** A GET on a fresh pair, answered with `answer` by the peer: the socket, peer, done() recorder and the response. */
async function getAnswered(answer: string): Promise<{ s: net.Socket; peer: Wire; r: ReturnType<typeof recorder>; got: Promise<Read> }> {
  const { s, peer } = await pair();
  const r = recorder();
  const call = new H1Call(s, 'GET', '/', ['host', 'a'], false, r.done);
  const got = response(call);
  call.end();
  await peer.take();
  peer.sock.write(answer);
  return { s, peer, r, got };
}

/** Resolves with the 'error' of `call`. */
function failure(call: H1Call): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve, reject) => {
    call.once('error', resolve);
    call.once('response', () => reject(new Error('unexpected response')));
  });
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// ---- requests ----

test('H1Call sends a GET head without framing and reads the response; done(socket, true)', async () => {
  const { s, peer } = await pair();
  const r = recorder();
  const call = new H1Call(s, 'GET', '/p?q=1', ['Host', 'svc', 'x-one', '1'], false, r.done);
  assert.equal(callOf(s), call);
  const got = response(call);
  call.end();
  assert.equal(await peer.take(), 'GET /p?q=1 HTTP/1.1\r\nHost: svc\r\nx-one: 1\r\n\r\n');
  peer.sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello');
  const { res, body, events } = await got;
  assert.equal(res.statusCode, 200);
  assert.equal(res.statusMessage, 'OK');
  assert.equal(res.httpVersion, '1.1');
  assert.deepEqual(res.rawHeaders, ['content-type', 'text/plain', 'content-length', '5']);
  assert.deepEqual({ ...res.headers }, { 'content-type': 'text/plain', 'content-length': '5' });
  assert.equal(body, 'hello');
  assert.equal(res.complete, true);
  assert.deepEqual(events, ['end', 'close']);
  assert.deepEqual(r.calls, [[s, true]]);
  assert.equal(callOf(s), undefined);
  assert.equal(s.destroyed, false);
  s.destroy();
});

test('H1Call writes a pre-rendered tail in place of the pairs it stands for, framing still from the pairs before it', async () => {
  const { s, peer } = await pair();
  const r = recorder();
  const headers = ['host', 'svc', 'content-length', '2', 'x-tail', 'pair value', 'x-envoy-attempt-count', '1'];
  const call = new H1Call(s, 'POST', '/t', headers, false, r.done, '\r\nx-tail: rendered\r\nx-envoy-attempt-count: 1', 4);
  const got = response(call);
  call.end('ok');
  // The content-length before the tail frames the body: no second one is added.
  assert.equal(await peer.take(2), 'POST /t HTTP/1.1\r\nhost: svc\r\ncontent-length: 2\r\nx-tail: rendered\r\nx-envoy-attempt-count: 1\r\n\r\nok');
  peer.sock.write('HTTP/1.1 204 No Content\r\n\r\n');
  assert.equal((await got).res.statusCode, 204);
  s.destroy();
});

test("H1Call's response headers follow node's rules, as node's http client reads the same bytes", async () => {
  const bytes =
    'HTTP/1.1 201 Made It\r\nSet-Cookie: a=1\r\nX-Dup: 1\r\nContent-Type: text/a\r\nset-cookie: b=2\r\nx-dup: 2\r\n' +
    'content-type: text/b\r\nCookie: c=1\r\nCookie: d=2\r\nEmpty:\r\nContent-Length: 0\r\n\r\n';
  const { s, peer } = await pair();
  const call = new H1Call(s, 'GET', '/', ['host', 'a'], false, recorder().done);
  const got = response(call);
  call.end();
  await peer.take();
  peer.sock.write(bytes);
  const { res } = await got;
  s.destroy();
  const node = http.createServer((_req, nres) => nres.socket!.end(bytes));
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  const nodeRes = await new Promise<http.IncomingMessage>((resolve) => http.get({ host: '127.0.0.1', port: (node.address() as net.AddressInfo).port, agent: false }, resolve));
  nodeRes.resume();
  await new Promise((resolve) => node.close(resolve));
  assert.equal(res.statusCode, nodeRes.statusCode);
  assert.equal(res.statusMessage, nodeRes.statusMessage);
  // Names lowercase, as Envoy's codec hands them on; otherwise the pairs node reads.
  assert.deepEqual(res.rawHeaders, lowerNames(nodeRes.rawHeaders));
  assert.deepEqual({ ...res.headers }, { ...nodeRes.headers });
});

test('H1Call sends content-length: 0 for an empty POST, none for an empty DELETE', async () => {
  const { s, peer } = await pair();
  const r = recorder();
  const post = new H1Call(s, 'POST', '/', ['host', 'a'], false, r.done);
  const got = response(post);
  post.end();
  assert.equal(await peer.take(), 'POST / HTTP/1.1\r\nhost: a\r\ncontent-length: 0\r\n\r\n');
  peer.sock.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
  await got;
  const del = new H1Call(s, 'DELETE', '/x', ['host', 'a'], true, r.done);
  const got2 = response(del);
  del.end();
  assert.equal(await peer.take(), 'DELETE /x HTTP/1.1\r\nhost: a\r\n\r\n');
  peer.sock.write('HTTP/1.1 204 No Content\r\n\r\n');
  assert.equal((await got2).res.statusCode, 204);
  assert.deepEqual(r.calls, [[s, true], [s, true]]);
  s.destroy();
});

test('H1Call.end(body) adds a content-length of its bytes', async () => {
  const { s, peer } = await pair();
  const call = new H1Call(s, 'PUT', '/', ['host', 'a'], false, recorder().done);
  call.end('héllo ✓');
  assert.equal(await peer.take(10), 'PUT / HTTP/1.1\r\nhost: a\r\ncontent-length: 10\r\n\r\n' + Buffer.from('héllo ✓').toString('latin1'));
  call.destroy();
});

test('H1Call sends a body written in pieces without a length chunked, dropping a given transfer-encoding', async () => {
  const { s, peer } = await pair();
  const r = recorder();
  const call = new H1Call(s, 'POST', '/up', ['host', 'a', 'Transfer-Encoding', 'chunked', 'x-after', '1'], false, r.done);
  const got = response(call);
  call.write('abc');
  call.write(Buffer.alloc(0));
  await tick();
  call.write(Buffer.from('0123456789abcdefg'));
  call.end('!');
  const text = await peer.until((t) => t.endsWith('0\r\n\r\n'));
  assert.equal(text, 'POST /up HTTP/1.1\r\nhost: a\r\nx-after: 1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n11\r\n0123456789abcdefg\r\n1\r\n!\r\n0\r\n\r\n');
  peer.sock.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
  await got;
  assert.deepEqual(r.calls, [[s, true]]);
  s.destroy();
});

test('H1Call sends a body as is when the request has a content-length', async () => {
  const { s, peer } = await pair();
  const call = new H1Call(s, 'POST', '/', ['host', 'a', 'Content-Length', '6'], false, recorder().done);
  call.write('abc');
  call.end('def');
  assert.equal(await peer.take(6), 'POST / HTTP/1.1\r\nhost: a\r\nContent-Length: 6\r\n\r\nabcdef');
  call.destroy();
});

test("H1Call talks to node's HTTP server: a chunked upload echoed back", async () => {
  const node = http.createServer((req, res) => {
    res.setHeader('x-te', String(req.headers['transfer-encoding']));
    req.pipe(res);
  });
  await new Promise<void>((resolve) => node.listen(0, '127.0.0.1', resolve));
  const s = connectForExchanges({ port: (node.address() as net.AddressInfo).port, host: '127.0.0.1' });
  s.on('error', () => {});
  s.on('close', onPoolClose);
  await new Promise((resolve) => s.once('connect', resolve));
  const r = recorder();
  const call = new H1Call(s, 'POST', '/echo', ['host', 'svc'], false, r.done);
  const got = response(call);
  for (let i = 0; i < 10; i++) call.write(`piece${i};`);
  call.end();
  const { res, body } = await got;
  assert.equal(res.headers['x-te'], 'chunked');
  assert.equal(res.headers['transfer-encoding'], 'chunked');
  assert.equal(body, Array.from({ length: 10 }, (_, i) => `piece${i};`).join(''));
  assert.deepEqual(r.calls, [[s, true]]);
  s.destroy();
  node.closeAllConnections();
  await new Promise((resolve) => node.close(resolve));
});

const piece = Buffer.alloc(64 * 1024, 'u');
const pieces = 32; // 2 MiB: far more than the socket buffers, so write() says false

/** Lets a paused upstream read a large chunked upload, checks it and answers it. */
async function slowUpstream(peer: Wire): Promise<void> {
  peer.sock.pause();
  await new Promise((resolve) => setTimeout(resolve, 20));
  peer.sock.resume();
  const text = await peer.until((t) => t.endsWith('\r\n0\r\n\r\n'));
  const head = text.indexOf('\r\n\r\n') + 4;
  assert.equal(text.slice(0, head), 'POST /up HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n');
  const body = unchunk(text.slice(head));
  assert.equal(body.length, piece.length * pieces);
  assert.equal(body, piece.toString('latin1').repeat(pieces));
  peer.sock.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
}

test("H1Call emits 'drain' after write() said false, so a stream piped into it finishes", async () => {
  const { s, peer } = await pair();
  const r = recorder();
  const call = new H1Call(s, 'POST', '/up', ['host', 'a'], false, r.done);
  let drains = 0;
  call.on('drain', () => drains++);
  const got = response(call);
  Readable.from((function* () {
    for (let i = 0; i < pieces; i++) yield piece;
  })()).pipe(call as unknown as NodeJS.WritableStream);
  await slowUpstream(peer);
  assert.equal((await got).res.statusCode, 200);
  assert.ok(drains > 0);
  assert.deepEqual(r.calls, [[s, true]]);
  s.destroy();
});

test('H1Call takes a downstream H1Body piped into it with backpressure (the router forwarding an upload)', async () => {
  const { s, peer } = await pair();
  const r = recorder();
  const call = new H1Call(s, 'POST', '/up', ['host', 'a'], false, r.done);
  const got = response(call);
  const downstream = new net.Socket(); // only paused and resumed by the body
  const body = new H1Body(downstream);
  body.pipe(call);
  for (let i = 0; i < pieces; i++) body.push(piece);
  body.finish(undefined);
  await slowUpstream(peer);
  assert.equal((await got).res.statusCode, 200);
  assert.equal(body.readableEnded, true);
  assert.deepEqual(r.calls, [[s, true]]);
  s.destroy();
});

// ---- responses ----

test('H1Call reads a chunked response with trailers', async () => {
  const { s, peer, r, got } = await getAnswered('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Grpc-Status\r\n\r\n5\r\nhello\r\n');
  await tick();
  peer.sock.write('6\r\n world\r\n0\r\nGrpc-Status: 0\r\nX-T: a\r\n\r\n');
  const { res, body } = await got;
  assert.equal(body, 'hello world');
  assert.deepEqual(res.rawTrailers, ['grpc-status', '0', 'x-t', 'a']);
  assert.deepEqual(res.trailers, { 'grpc-status': '0', 'x-t': 'a' });
  assert.deepEqual(r.calls, [[s, true]]);
  s.destroy();
});


test('H1Call keeps what it read: connections share one read buffer, and bodies and split heads outlive it', async () => {
  // Two connections, each answered in pieces in turn: every read lands in the same buffer. The first
  // body is not read until everything has arrived, so only copies can still hold its bytes.
  const a = await pair();
  const b = await pair();
  const callA = new H1Call(a.s, 'GET', '/', ['host', 'a'], false, recorder().done);
  const callB = new H1Call(b.s, 'GET', '/', ['host', 'b'], false, recorder().done);
  const heads: H1Incoming[] = [];
  callA.on('response', (res: H1Incoming) => heads.push(res));
  const gotB = response(callB);
  callA.end();
  callB.end();
  await Promise.all([a.peer.take(), b.peer.take()]);
  const sent = async (w: Wire, text: string): Promise<void> => {
    w.sock.write(text);
    // Until the other side has read it: the next write is another read of the shared buffer.
    for (let i = 0; i < 50 && w.sock.writableLength > 0; i++) await tick();
    await new Promise((resolve) => setTimeout(resolve, 20));
  };
  await sent(a.peer, 'HTTP/1.1 200 OK\r\nContent-Le');
  await sent(b.peer, 'HTTP/1.1 200 OK\r\nX-Pad: ' + 'b'.repeat(200) + '\r\nContent-Length: 4\r\n\r\nBBBB');
  await sent(a.peer, 'ngth: 10\r\nX-A: kept\r\n\r\nAAAAA');
  await sent(b.peer, 'x'.repeat(300));
  await sent(a.peer, 'aaaaa');
  assert.equal(heads.length, 1);
  const resA = heads[0];
  assert.deepEqual(resA.rawHeaders, ['content-length', '10', 'x-a', 'kept']);
  let bodyA = '';
  const endA = new Promise((resolve) => resA.on('end', resolve));
  resA.on('data', (d: Buffer) => (bodyA += d.toString('latin1')));
  await endA;
  assert.equal(bodyA, 'AAAAAaaaaa');
  assert.equal((await gotB).body, 'BBBB');
  a.s.destroy();
  b.s.destroy();
});
test('H1Call skips interim 1xx responses', async () => {
  const { s, peer } = await pair();
  const r = recorder();
  const call = new H1Call(s, 'POST', '/', ['host', 'a', 'expect', '100-continue'], false, r.done);
  let responses = 0;
  call.on('response', () => responses++);
  const got = response(call);
  call.end('x');
  await peer.take(1);
  peer.sock.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n');
  await tick();
  peer.sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  const { res, body } = await got;
  assert.equal(responses, 1);
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.rawHeaders, ['content-length', '2']);
  assert.equal(body, 'ok');
  assert.deepEqual(r.calls, [[s, true]]);
  s.destroy();
});

test('H1Call reads no body for a HEAD response with a content-length, and the connection serves again', async () => {
  const { s, peer } = await pair();
  const r = recorder();
  const head = new H1Call(s, 'HEAD', '/', ['host', 'a'], false, r.done);
  const got = response(head);
  head.end();
  assert.equal(await peer.take(), 'HEAD / HTTP/1.1\r\nhost: a\r\n\r\n');
  peer.sock.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n');
  const { res, body } = await got;
  assert.equal(res.headers['content-length'], '10');
  assert.equal(body, '');
  assert.equal(res.complete, true);
  assert.deepEqual(r.calls, [[s, true]]);
  const get = new H1Call(s, 'GET', '/', ['host', 'a'], true, r.done);
  assert.equal(get.reusedSocket, true);
  const got2 = response(get);
  get.end();
  await peer.take();
  peer.sock.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789');
  assert.equal((await got2).body, '0123456789');
  assert.deepEqual(r.calls, [[s, true], [s, true]]);
  s.destroy();
});

test('H1Call reads a body without length until the connection closes, and never gives the socket back', async () => {
  const { s, peer, r, got } = await getAnswered('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart1,');
  await tick();
  peer.sock.end('part2');
  const { res, body, events } = await got;
  assert.equal(body, 'part1,part2');
  assert.equal(res.complete, true);
  assert.deepEqual(events, ['end', 'close']);
  await tick();
  assert.ok(r.calls.every(([, reusable]) => !reusable), JSON.stringify(r.calls.map((c) => c[1])));
});

test('H1Call hands back a connection the server ends with Connection: close as not reusable', async () => {
  const { s, peer, r, got } = await getAnswered('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok');
  assert.equal((await got).body, 'ok');
  assert.deepEqual(await r.next, [s, false]);
  s.destroy();
});

test('H1Call reads HTTP/1.0 responses: not reusable, unless they say keep-alive', async () => {
  const { s, peer, r, got } = await getAnswered('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok');
  const { res } = await got;
  assert.equal(res.httpVersion, '1.0');
  assert.deepEqual(r.calls, [[s, true]]);
  const call2 = new H1Call(s, 'GET', '/', ['host', 'a'], true, r.done);
  const got2 = response(call2);
  call2.end();
  await peer.take();
  peer.sock.write('HTTP/1.0 404 Not Found\r\nContent-Length: 2\r\n\r\nno');
  const second = await got2;
  assert.equal(second.res.statusCode, 404);
  assert.equal(second.body, 'no');
  assert.deepEqual(r.calls, [[s, true], [s, false]]);
  s.destroy();
});

test('H1Call gives the socket back only once both the request is sent and the response read', async () => {
  const { s, peer } = await pair();
  const r = recorder();
  const call = new H1Call(s, 'POST', '/', ['host', 'a', 'content-length', '4'], false, r.done);
  const got = response(call);
  call.write('ab');
  await peer.take(2);
  peer.sock.write('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n');
  assert.equal((await got).res.statusCode, 413);
  assert.deepEqual(r.calls, []);
  call.end('cd');
  // Answered before the request was whole: the connection cannot carry another request.
  assert.deepEqual(r.calls, [[s, false]]);
  s.destroy();
});

test('H1Call never gives back a connection after a 101 Switching Protocols', async () => {
  const { s, peer } = await pair();
  const r = recorder();
  const call = new H1Call(s, 'GET', '/', ['host', 'a', 'connection', 'upgrade', 'upgrade', 'x'], false, r.done);
  const got = response(call);
  call.end();
  await peer.take();
  peer.sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n');
  assert.equal((await got).res.statusCode, 101);
  assert.deepEqual(await r.next, [s, false]);
  s.destroy();
});

// ---- failures ----

test('H1Call emits ECONNRESET when the server closes before answering', async () => {
  const { s, peer } = await pair();
  const r = recorder();
  const call = new H1Call(s, 'GET', '/', ['host', 'a'], true, r.done);
  const err = failure(call);
  call.end();
  await peer.take();
  peer.sock.end();
  const e = await err;
  assert.equal(e.code, 'ECONNRESET');
  assert.equal(call.reusedSocket, true);
  assert.deepEqual(r.calls, []);
});

test("H1Call emits ECONNRESET when the server resets before answering", async () => {
  const { s, peer } = await pair();
  const call = new H1Call(s, 'GET', '/', ['host', 'a'], false, recorder().done);
  const err = failure(call);
  call.end();
  await peer.take();
  peer.sock.resetAndDestroy();
  assert.equal((await err).code, 'ECONNRESET');
});

test("H1Call ends a response cut mid-body with 'close' and complete false", async () => {
  const { s, peer } = await pair();
  const r = recorder();
  const call = new H1Call(s, 'GET', '/', ['host', 'a'], false, r.done);
  let errors = 0;
  call.on('error', () => errors++);
  const got = response(call);
  call.end();
  await peer.take();
  peer.sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial');
  await tick();
  peer.sock.end();
  const { res, body, how, events } = await got;
  assert.equal(body, 'partial');
  assert.equal(how, 'close');
  assert.deepEqual(events, ['aborted', 'close']);
  assert.equal(res.complete, false);
  assert.equal(errors, 0);
  assert.deepEqual(r.calls, []);
});

test('H1Call ends a chunked response cut between chunks with complete false', async () => {
  const { s, peer } = await pair();
  const call = new H1Call(s, 'GET', '/', ['host', 'a'], false, recorder().done);
  const got = response(call);
  call.end();
  await peer.take();
  peer.sock.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
  const { res, body, how } = await got;
  assert.deepEqual([body, how, res.complete], ['abc', 'close', false]);
});

test("H1Call emits 'error' for a garbage status line and closes the socket", async () => {
  const { s, peer } = await pair();
  const r = recorder();
  const call = new H1Call(s, 'GET', '/', ['host', 'a'], false, r.done);
  const err = failure(call);
  call.end();
  await peer.take();
  peer.sock.write('HTTP/1.1 2000 Weird\r\n\r\n');
  const e = await err;
  assert.equal(e.code, 'HPE_INVALID');
  assert.equal(s.destroyed, true);
  await peer.gone();
  assert.deepEqual(r.calls, []);
});

test("H1Call cuts a response whose chunked framing breaks: 'close' with complete false", async () => {
  const { s, peer } = await pair();
  const call = new H1Call(s, 'GET', '/', ['host', 'a'], false, recorder().done);
  const got = response(call);
  call.end();
  await peer.take();
  peer.sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX');
  const { res, body, how } = await got;
  assert.deepEqual([body, how, res.complete], ['abc', 'close', false]);
  assert.equal(s.destroyed, true);
});

test('H1Call.destroy() before the response closes the socket and emits nothing', async () => {
  const { s, peer } = await pair();
  const r = recorder();
  const call = new H1Call(s, 'GET', '/', ['host', 'a'], false, r.done);
  const seen: string[] = [];
  call.on('error', () => seen.push('error'));
  call.on('response', () => seen.push('response'));
  call.end();
  await peer.take();
  call.destroy();
  assert.equal(call.destroyed, true);
  assert.equal(s.destroyed, true);
  assert.equal(callOf(s), undefined);
  peer.sock.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  await peer.gone();
  await tick();
  assert.deepEqual(seen, []);
  assert.deepEqual(r.calls, []);
  // Idempotent, and writes after it are refused.
  call.destroy();
  assert.equal(call.write('x'), false);
});

test('H1Call.destroy() after done() leaves the socket to the exchange it serves next', async () => {
  const { s, peer } = await pair();
  const r = recorder();
  const first = new H1Call(s, 'GET', '/1', ['host', 'a'], false, r.done);
  const got = response(first);
  first.end();
  await peer.take();
  peer.sock.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1');
  await got;
  assert.deepEqual(r.calls, [[s, true]]);
  const second = new H1Call(s, 'GET', '/2', ['host', 'a'], true, r.done);
  first.destroy(); // late, as the router abandoning an attempt whose socket already went back
  assert.equal(s.destroyed, false);
  assert.equal(callOf(s), second);
  const got2 = response(second);
  second.end();
  assert.equal(await peer.take(), 'GET /2 HTTP/1.1\r\nhost: a\r\n\r\n');
  peer.sock.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n2');
  assert.equal((await got2).body, '2');
  s.destroy();
});

test('H1Call.reusedSocket mirrors the constructor argument', async () => {
  const { s } = await pair();
  const fresh = new H1Call(s, 'GET', '/', [], false, recorder().done);
  assert.equal(fresh.reusedSocket, false);
  fresh.destroy();
  const { s: s2 } = await pair();
  const reused = new H1Call(s2, 'GET', '/', [], true, recorder().done);
  assert.equal(reused.reusedSocket, true);
  reused.destroy();
});

test('H1Call does not give back a connection with bytes after a complete response', async () => {
  const { s, peer, r, got } = await getAnswered('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  assert.equal((await got).body, 'ok');
  assert.deepEqual(await r.next, [s, false]);
  s.destroy();
});

test('H1Call: bytes arriving on a connection after its exchange ended destroy it', async () => {
  const { s, peer, r, got } = await getAnswered('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  await got;
  assert.deepEqual(r.calls, [[s, true]]);
  peer.sock.write('HTTP/1.1 200 OK\r\n\r\n');
  await peer.gone();
  assert.equal(s.destroyed, true);
});

// ---- relays ----

test('A relay with bodyText gets a body read with its head as text, and pieces read after it as views', async () => {
  const { s, peer } = await pair();
  const r = recorder();
  const got: string[] = [];
  const relay: Relay<string> = {
    head: (owner, h) => (got.push(`${owner} head ${h.status}`), true),
    body: (owner, view) => got.push(`${owner} view ${view.toString('latin1')}`),
    bodyText: (owner, text) => got.push(`${owner} text ${text}`),
    end: (owner) => got.push(`${owner} end`),
    cut: (owner) => got.push(`${owner} cut`),
    fail: (owner, err) => got.push(`${owner} fail ${err.code}`),
  };
  const call = new H1Call(s, 'GET', '/', ['host', 'a'], false, r.done);
  call.relayTo(relay, 'f');
  call.end();
  await peer.take();
  peer.sock.write('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhead');
  for (let i = 0; i < 100 && got.length < 2; i++) await tick();
  peer.sock.write('-rest');
  for (let i = 0; i < 100 && got.length < 4; i++) await tick();
  assert.deepEqual(got, ['f head 200', 'f text head', 'f view -rest', 'f end']);
  assert.deepEqual(r.calls, [[s, true]]);
  s.destroy();
});

test('A relay without bodyText gets every piece as a view', async () => {
  const { s, peer } = await pair();
  const got: string[] = [];
  const relay: Relay<number> = {
    head: () => true,
    body: (_, view) => got.push(view.toString('latin1')),
    end: () => got.push('end'),
    cut: () => got.push('cut'),
    fail: () => got.push('fail'),
  };
  const call = new H1Call(s, 'GET', '/', ['host', 'a'], false, recorder().done);
  call.relayTo(relay, 1);
  call.end();
  await peer.take();
  peer.sock.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
  for (let i = 0; i < 100 && got.length < 2; i++) await tick();
  assert.deepEqual(got, ['hello', 'end']);
  s.destroy();
});
