/**
 * H1Server on real loopback sockets: raw clients write exact request bytes and the tests check the
 * exact response bytes (the `date` value aside) and how the connection behaves after them.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { Writable } from 'node:stream';
import { flushingInline, quietFlushes } from './batch.ts';
import { type Fallback, type H1Handler, type H1Request, type H1Response, H1Server } from './server.ts';
import { unchunk, Wire } from './wire.test-helper.ts';

const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();
after(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/**
 * A net.Server handing every connection to an H1Server, as the sniffer does (paused, then accept).
 * Half-open as node's http.Server, whose connections the proxy's H1Server gets.
 */
async function serve(handler: H1Handler, fallback: Fallback = (s) => s.destroy()): Promise<{ port: number; h1: H1Server }> {
  const h1 = new H1Server(handler, fallback);
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.pause();
    h1.accept(s);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, h1 };
}

/** A raw client connection that keeps everything it reads as latin1 text. */
class Client extends Wire {
  constructor(port: number) {
    const s = net.connect(port, '127.0.0.1');
    sockets.add(s);
    super(s);
  }
}

function connect(port: number): Client {
  return new Client(port);
}

const DATE = /date: (\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT)\r\n/g;

/** The text with each valid `date` value replaced by `D` (so exact bytes can be compared). */
function dateless(text: string): string {
  return text.replace(DATE, 'date: D\r\n');
}

const GET = (path = '/', extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: a\r\n${extra}\r\n`;

function ok(body = 'ok'): H1Handler {
  return (_req, res) => {
    res.writeHead(200, ['content-length', String(Buffer.byteLength(body))]);
    res.end(body);
  };
}

// ---- keep-alive ----

test('H1Server answers two requests on one kept-alive connection', async () => {
  const { port, h1 } = await serve((req, res) => {
    res.writeHead(200, ['content-length', String(req.url.length)]);
    res.end(req.url);
  });
  const c = connect(port);
  c.write(GET('/one'));
  await c.until((t) => t.endsWith('/one'));
  c.write(GET('/two'));
  const text = await c.until((t) => t.endsWith('/two'));
  assert.equal(dateless(text), 'HTTP/1.1 200 OK\r\ncontent-length: 4\r\ndate: D\r\n\r\n/one' + 'HTTP/1.1 200 OK\r\ncontent-length: 4\r\ndate: D\r\n\r\n/two');
  assert.equal(c.ended, false);
  assert.equal(h1.conns.size, 1);
  c.sock.destroy();
  await c.untilEnd();
  while (h1.conns.size > 0) await new Promise((resolve) => setImmediate(resolve));
});

test('H1Server closes an HTTP/1.0 connection without keep-alive after the response', async () => {
  const { port } = await serve(ok());
  const c = connect(port);
  c.write('GET / HTTP/1.0\r\n\r\n');
  assert.equal(dateless(await c.untilEnd()), 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ndate: D\r\nconnection: close\r\n\r\nok');
});

test('H1Server keeps an HTTP/1.0 connection with Connection: keep-alive open and says so', async () => {
  const { port } = await serve(ok());
  const c = connect(port);
  c.write('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  await c.until((t) => t.endsWith('ok'));
  c.write('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  const text = await c.count('ok', 2);
  const one = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ndate: D\r\nconnection: keep-alive\r\n\r\nok';
  assert.equal(dateless(text), one + one);
  assert.equal(c.ended, false);
  c.sock.destroy();
});

test('H1Server answers Connection: close with connection: close and ends the socket', async () => {
  const { port } = await serve(ok());
  const c = connect(port);
  c.write(GET('/', 'Connection: close\r\n'));
  assert.equal(dateless(await c.untilEnd()), 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ndate: D\r\nconnection: close\r\n\r\nok');
  assert.equal(c.ended, true);
});

test('H1Server ends the connection after a handler sends connection: close', async () => {
  const { port } = await serve((_req, res) => {
    res.writeHead(503, ['content-length', '0', 'Connection', 'close']);
    res.end();
  });
  const c = connect(port);
  c.write(GET() + GET('/ignored'));
  assert.equal(dateless(await c.untilEnd()), 'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\ndate: D\r\nconnection: close\r\n\r\n');
});

// ---- framing ----

test('H1Server frames a body by the content-length the handler gives', async () => {
  const { port } = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 10 });
    res.write('hello');
    res.write(Buffer.from('world'));
    res.end();
  });
  const c = connect(port);
  c.write(GET());
  const text = await c.until((t) => t.endsWith('world'));
  assert.equal(dateless(text), 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 10\r\ndate: D\r\n\r\nhelloworld');
  c.sock.destroy();
});

test('H1Server sends a body without length chunked across several write() calls', async () => {
  const { port } = await serve((_req, res) => {
    res.writeHead(200);
    res.write('abc');
    res.write('');
    setTimeout(() => {
      res.write(Buffer.alloc(20, 'x'));
      res.end('!');
    }, 5);
  });
  const c = connect(port);
  c.write(GET());
  const text = await c.until((t) => t.endsWith('0\r\n\r\n'));
  assert.equal(dateless(text), `HTTP/1.1 200 OK\r\ndate: D\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n14\r\n${'x'.repeat(20)}\r\n1\r\n!\r\n0\r\n\r\n`);
  // The connection is still usable.
  c.write(GET());
  await c.count('0\r\n\r\n', 2);
  c.sock.destroy();
});

test('H1Response.writeText sends latin1 text as body bytes, framed like write(): by length, else chunked', async () => {
  const { port } = await serve((req, res) => {
    if (req.url === '/len') res.writeHead(200, ['content-length', '4']);
    else res.writeHead(200);
    res.writeText('\xe9t\xe9!');
    res.end();
  });
  const c = connect(port);
  c.write(GET('/len') + GET('/chunked'));
  const text = await c.until((t) => t.endsWith('0\r\n\r\n'));
  assert.equal(dateless(text), 'HTTP/1.1 200 OK\r\ncontent-length: 4\r\ndate: D\r\n\r\n\xe9t\xe9!HTTP/1.1 200 OK\r\ndate: D\r\ntransfer-encoding: chunked\r\n\r\n4\r\n\xe9t\xe9!\r\n0\r\n\r\n');
  c.sock.destroy();
});

test('H1Server frames the body itself when the handler passes transfer-encoding: chunked', async () => {
  const { port } = await serve((_req, res) => {
    res.writeHead(200, ['Transfer-Encoding', 'chunked']);
    res.write('abc');
    res.end();
  });
  const c = connect(port);
  c.write(GET());
  const text = await c.until((t) => t.endsWith('0\r\n\r\n'));
  assert.equal(dateless(text), 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\ndate: D\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
  c.sock.destroy();
});

test('H1Server sends an HTTP/1.0 body without length until the connection closes', async () => {
  const { port } = await serve((_req, res) => {
    res.writeHead(200, { 'x-a': '1' });
    res.write('part1,');
    res.end('part2');
  });
  const c = connect(port);
  c.write('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
  assert.equal(dateless(await c.untilEnd()), 'HTTP/1.1 200 OK\r\nx-a: 1\r\ndate: D\r\nconnection: close\r\n\r\npart1,part2');
});

test('H1Server sends HEAD answers without a body and keeps the connection', async () => {
  const { port } = await serve((req, res) => {
    res.writeHead(200, ['content-length', '5', 'content-type', 'text/plain']);
    res.end(req.method === 'HEAD' ? undefined : 'hello');
  });
  const c = connect(port);
  c.write(`HEAD / HTTP/1.1\r\nHost: a\r\n\r\n${GET()}`);
  const text = await c.until((t) => t.endsWith('hello'));
  const head = 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-type: text/plain\r\ndate: D\r\n\r\n';
  assert.equal(dateless(text), head + head + 'hello');
  c.sock.destroy();
});

test('H1Server drops a body written to a HEAD answer without a length, and adds no chunked framing', async () => {
  const { port } = await serve((_req, res) => {
    res.writeHead(200);
    assert.equal(res.write('ignored'), true);
    res.end('ignored too');
  });
  const c = connect(port);
  c.write(`HEAD / HTTP/1.1\r\nHost: a\r\n\r\n`);
  await c.until((t) => t.endsWith('\r\n\r\n'));
  c.write(GET('/next'));
  const text = await c.count('HTTP/1.1', 2).then(() => c.until((t) => t.endsWith('0\r\n\r\n')));
  assert.equal(dateless(text), 'HTTP/1.1 200 OK\r\ndate: D\r\n\r\nHTTP/1.1 200 OK\r\ndate: D\r\ntransfer-encoding: chunked\r\n\r\n7\r\nignored\r\nb\r\nignored too\r\n0\r\n\r\n');
  c.sock.destroy();
});

test('H1Server sends 204 and 304 without a body or framing', async () => {
  const { port } = await serve((req, res) => {
    res.writeHead(req.url === '/204' ? 204 : 304, { etag: '"x"' });
    res.end('not sent');
  });
  const c = connect(port);
  c.write(GET('/204') + GET('/304'));
  const text = await c.count('\r\n\r\n', 2);
  await new Promise((resolve) => setTimeout(resolve, 20)); // nothing more comes
  assert.equal(dateless(c.text), 'HTTP/1.1 204 No Content\r\netag: "x"\r\ndate: D\r\n\r\nHTTP/1.1 304 Not Modified\r\netag: "x"\r\ndate: D\r\n\r\n');
  assert.equal(text.length, c.text.length);
  c.sock.destroy();
});

test('H1Server adds a valid date unless the handler gives one', async () => {
  const { port } = await serve((req, res) => {
    res.writeHead(200, req.url === '/own' ? ['Date', 'Sun, 06 Nov 1994 08:49:37 GMT', 'content-length', '0'] : ['content-length', '0']);
    res.end();
  });
  const c = connect(port);
  c.write(GET('/own') + GET('/auto'));
  const text = await c.count('\r\n\r\n', 2);
  const [own, auto] = text.split('HTTP/1.1').slice(1);
  assert.equal(own, ' 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\ncontent-length: 0\r\n\r\n');
  const m = /date: (.+)\r\n/.exec(auto);
  assert.ok(m, auto);
  assert.ok(Math.abs(Date.parse(m[1]) - Date.now()) < 60_000, `date ${m[1]} is current`);
  assert.equal(new Date(Date.parse(m[1])).toUTCString(), m[1]);
  c.sock.destroy();
});

test('H1Server writes headers given as an object (arrays repeat) and as a flat list, in order', async () => {
  const { port } = await serve((req, res) => {
    if (req.url === '/object') res.writeHead(201, { 'X-One': 'a', 'set-cookie': ['c=1', 'd=2'], skipped: undefined, 'x-n': 5, 'content-length': 0 });
    else res.writeHead(202, ['X-List', 'b', 'x-list', 'c', 'content-length', '0']);
    res.end();
  });
  const c = connect(port);
  c.write(GET('/object') + GET('/list'));
  const text = await c.count('\r\n\r\n', 2);
  assert.equal(
    dateless(text),
    'HTTP/1.1 201 Created\r\nX-One: a\r\nset-cookie: c=1\r\nset-cookie: d=2\r\nx-n: 5\r\ncontent-length: 0\r\ndate: D\r\n\r\n' +
      'HTTP/1.1 202 Accepted\r\nX-List: b\r\nx-list: c\r\ncontent-length: 0\r\ndate: D\r\n\r\n',
  );
  c.sock.destroy();
});

test('H1Server uses the status message given to writeHead or set on the response, else the standard one', async () => {
  const { port } = await serve((req, res) => {
    if (req.url === '/arg') res.writeHead(404, 'Nowhere To Be Found', ['content-length', '0']);
    else if (req.url === '/prop') {
      res.statusCode = 418;
      res.statusMessage = 'Short And Stout';
    } else res.statusCode = 599;
    res.end();
  });
  const c = connect(port);
  c.write(GET('/arg') + GET('/prop') + GET('/unknown'));
  const text = await c.count('0\r\n\r\n', 2);
  assert.equal(
    dateless(text),
    'HTTP/1.1 404 Nowhere To Be Found\r\ncontent-length: 0\r\ndate: D\r\n\r\n' +
      'HTTP/1.1 418 Short And Stout\r\ndate: D\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n' +
      'HTTP/1.1 599 unknown\r\ndate: D\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
  );
  c.sock.destroy();
});

test('H1Server frames a non-ASCII string body by its byte length', async () => {
  const body = 'héllo ✓ wörld';
  const { port } = await serve((req, res) => {
    if (req.url === '/length') res.writeHead(200, ['content-length', String(Buffer.byteLength(body))]);
    res.end(body);
  });
  const c = connect(port);
  c.sock.setEncoding('utf8');
  c.write(GET('/chunked') + GET('/length'));
  const text = await c.until((t) => t.split(body).length === 3);
  assert.equal(Buffer.byteLength(body), 17); // 13 characters
  assert.equal(
    dateless(text),
    `HTTP/1.1 200 OK\r\ndate: D\r\ntransfer-encoding: chunked\r\n\r\n11\r\n${body}\r\n0\r\n\r\n` +
      `HTTP/1.1 200 OK\r\ncontent-length: 17\r\ndate: D\r\n\r\n${body}`,
  );
  c.sock.destroy();
});

// ---- pipelining ----

test('H1Server answers two pipelined requests from one write in order', async () => {
  const seen: string[] = [];
  const { port } = await serve((req, res) => {
    seen.push(req.url);
    res.writeHead(200, ['content-length', String(req.url.length)]);
    res.end(req.url);
  });
  const c = connect(port);
  c.write(GET('/a') + GET('/bb'));
  const text = await c.until((t) => t.endsWith('/bb'));
  assert.deepEqual(seen, ['/a', '/bb']);
  assert.equal(dateless(text), 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ndate: D\r\n\r\n/aHTTP/1.1 200 OK\r\ncontent-length: 3\r\ndate: D\r\n\r\n/bb');
  c.sock.destroy();
});

test('H1Server holds a pipelined request until the asynchronous answer to the one before is written', async () => {
  const events: string[] = [];
  const { port } = await serve((req, res) => {
    events.push(`start ${req.url}`);
    const answer = (): void => {
      events.push(`end ${req.url}`);
      res.writeHead(200, ['content-length', String(req.url.length)]);
      res.end(req.url);
    };
    if (req.url === '/slow') setTimeout(answer, 30);
    else answer();
  });
  const c = connect(port);
  // The third request arrives separately, while the first is still being answered.
  c.write(GET('/slow') + GET('/fast'));
  setTimeout(() => c.write(GET('/late')), 5);
  const text = await c.until((t) => t.endsWith('/late'));
  assert.deepEqual(events, ['start /slow', 'end /slow', 'start /fast', 'end /fast', 'start /late', 'end /late']);
  assert.deepEqual(
    dateless(text).split('\r\n\r\n'),
    ['HTTP/1.1 200 OK\r\ncontent-length: 5\r\ndate: D', '/slowHTTP/1.1 200 OK\r\ncontent-length: 5\r\ndate: D', '/fastHTTP/1.1 200 OK\r\ncontent-length: 5\r\ndate: D', '/late'],
  );
  c.sock.destroy();
});

test('H1Server answers a burst of pipelined requests, some answered later, in order', async () => {
  const { port } = await serve((req, res) => {
    const n = Number(req.url.slice(1));
    const answer = (): void => {
      res.writeHead(200, ['content-length', String(req.url.length + 1)]);
      res.end(`${req.url};`);
    };
    if (n % 3 === 0) setTimeout(answer, 1);
    else if (n % 3 === 1) setImmediate(answer);
    else answer();
  });
  const c = connect(port);
  let all = '';
  for (let i = 0; i < 30; i++) all += GET(`/${i}`);
  c.write(all);
  const text = await c.until((t) => t.endsWith('/29;'));
  const bodies = text.split('\r\n\r\n').slice(1).map((part) => part.slice(0, part.indexOf(';')));
  assert.deepEqual(bodies, Array.from({ length: 30 }, (_, i) => `/${i}`));
  c.sock.destroy();
});

test('H1Server keeps order once answers leave at the end of each read (low-load flushing), pipelined bursts included', async () => {
  const { port } = await serve((req, res) => {
    const answer = (): void => {
      res.writeHead(200, ['content-length', String(req.url.length + 1)]);
      res.end(`${req.url};`);
    };
    if (req.url.endsWith('3')) setImmediate(answer);
    else answer();
  });
  const c = connect(port);
  // One request per read, answered in its read: the flushes find one socket each and go inline.
  for (let i = 0; i < quietFlushes + 4; i++) {
    c.write(GET(`/one${i}`));
    await c.until((t) => t.endsWith(`/one${i};`));
  }
  assert.equal(flushingInline(), true, 'single-request polls switch to flushing at the end of the read');
  let burst = '';
  for (let i = 0; i < 20; i++) burst += GET(`/${i}`);
  c.write(burst);
  const text = await c.until((t) => t.endsWith('/19;'));
  const bodies = text.split('\r\n\r\n').slice(1).map((part) => part.slice(0, part.indexOf(';')));
  assert.deepEqual(bodies.slice(-20), Array.from({ length: 20 }, (_, i) => `/${i}`));
  c.sock.destroy();
});

test('H1Server handles pipelined requests with bodies split across reads', async () => {
  const { port } = await serve((req, res) => {
    let body = '';
    req.setEncoding('latin1');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      res.writeHead(200, ['content-length', String(body.length)]);
      res.end(body);
    });
  });
  const c = connect(port);
  const all = `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nfirstPOST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nsecond\r\n0\r\n\r\n${GET()}`;
  for (let i = 0; i < all.length; i += 7) c.write(all.slice(i, i + 7));
  const text = await c.count('HTTP/1.1 200', 3);
  await c.until((t) => t.endsWith('\r\n\r\n'));
  assert.equal(
    dateless(text),
    'HTTP/1.1 200 OK\r\ncontent-length: 5\r\ndate: D\r\n\r\nfirst' + 'HTTP/1.1 200 OK\r\ncontent-length: 6\r\ndate: D\r\n\r\nsecond' + 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\ndate: D\r\n\r\n',
  );
  c.sock.destroy();
});

// ---- request bodies ----

test('H1Server keeps request bodies nobody read yet while other connections read (one shared read buffer)', async () => {
  const waiting: H1Request[] = [];
  const { port } = await serve((req, res) => {
    if (req.url === '/later') return void waiting.push(req);
    res.writeHead(200, ['content-length', '2']);
    res.end('ok');
    req.resume();
  });
  const a = connect(port);
  a.write('POST /later HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nAAAAA');
  for (let i = 0; i < 500 && waiting.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(waiting.length, 1);
  const b = connect(port);
  b.write('POST /now HTTP/1.1\r\nHost: a\r\nContent-Length: 300\r\n\r\n' + 'x'.repeat(300));
  await b.until((t) => t.endsWith('ok'));
  a.write('aaaaa');
  await new Promise((resolve) => setTimeout(resolve, 20));
  let body = '';
  const req = waiting[0];
  req.on('data', (d: Buffer) => (body += d.toString('latin1')));
  await new Promise((resolve) => req.on('end', resolve));
  assert.equal(body, 'AAAAAaaaaa');
});

function echo(): H1Handler {
  return (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString('latin1');
      const t = req.trailers;
      const text = `${req.method} ${body} complete=${req.complete} trailers=${JSON.stringify(t)}`;
      res.writeHead(200, ['content-length', String(text.length)]);
      res.end(text);
    });
  };
}

test('H1Server delivers a Content-Length body through data and end, across reads', async () => {
  const { port } = await serve(echo());
  const c = connect(port);
  c.write('POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello');
  setTimeout(() => c.write(' world'), 5);
  const text = await c.until((t) => t.endsWith('trailers={}'));
  assert.match(text, /\r\n\r\nPOST hello world complete=true trailers=\{\}$/);
  c.sock.destroy();
});

test('H1Server delivers a chunked body and its trailers', async () => {
  const { port } = await serve(echo());
  const c = connect(port);
  c.write('PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
  setTimeout(() => c.write('6;ext=1\r\n world\r\n0\r\nX-Check: abc\r\n\r\n'), 5);
  const text = await c.until((t) => t.endsWith('}'));
  assert.match(text, /\r\n\r\nPUT hello world complete=true trailers=\{"x-check":"abc"\}$/);
  c.sock.destroy();
});

test('H1Server pipes a large request body into a slow Writable intact', async () => {
  const size = 1024 * 1024;
  const sent = Buffer.alloc(size);
  for (let i = 0; i < size; i++) sent[i] = (i * 7) & 0xff;
  let got: Buffer | undefined;
  const { port } = await serve((req, res) => {
    const parts: Buffer[] = [];
    const sink = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        parts.push(chunk);
        setImmediate(cb);
      },
      final(cb) {
        got = Buffer.concat(parts);
        cb();
        res.writeHead(200, ['content-length', '4']);
        res.end('done');
      },
    });
    req.pipe(sink);
  });
  const c = connect(port);
  c.write(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${size}\r\n\r\n`);
  c.write(sent);
  await c.until((t) => t.endsWith('done'));
  assert.ok(got);
  assert.equal(got.length, size);
  assert.ok(got.equals(sent));
  c.sock.destroy();
});

for (const whole of [true, false]) {
  test(`H1Server gives a body that came before the handler read it to on('data') and to a pipe() added in the same tick (${whole ? 'whole' : 'part'} of it queued)`, async () => {
    // The router streaming an upload: it waits for its upstream connection, then counts and pipes.
    let attached!: () => void;
    const ready = new Promise<void>((resolve) => (attached = resolve));
    const { port } = await serve((req, res) => {
      setTimeout(() => {
        let counted = 0;
        req.on('data', (d: Buffer) => (counted += d.length));
        const parts: Buffer[] = [];
        req.pipe(
          new Writable({
            write(chunk: Buffer, _enc, cb) {
              parts.push(chunk);
              cb();
            },
            final(cb) {
              cb();
              const text = `${counted} ${Buffer.concat(parts).toString('latin1')}`;
              res.writeHead(200, ['content-length', String(text.length)]);
              res.end(text);
            },
          }),
        );
        attached();
      }, 20);
    });
    const c = connect(port);
    c.write(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${whole ? 5 : 10}\r\n\r\nhello`);
    if (!whole) {
      await ready;
      c.write('world');
    }
    const text = await c.until((t) => t.endsWith(whole ? 'hello' : 'world'));
    assert.match(text, whole ? /\r\n\r\n5 hello$/ : /\r\n\r\n10 helloworld$/);
    c.sock.destroy();
  });
}

test('H1Server skips a body the handler never reads and serves the next request', async () => {
  const urls: string[] = [];
  const { port } = await serve((req, res) => {
    urls.push(req.url);
    res.writeHead(200, ['content-length', '2']);
    res.end('ok');
  });
  const c = connect(port);
  const big = 'z'.repeat(300 * 1024); // beyond the body's buffer limit: the socket pauses until the answer
  c.write(`POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: ${big.length}\r\n\r\n${big}`);
  c.write(`POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`);
  c.write(GET('/after'));
  await c.count('ok', 3);
  assert.deepEqual(urls, ['/big', '/chunked', '/after']);
  c.sock.destroy();
});

test('H1Server skips the rest of a body unpiped from a stalled Writable once answered (the router giving up on an upload)', async () => {
  const urls: string[] = [];
  const { port } = await serve((req, res) => {
    urls.push(req.url);
    if (req.method === 'GET') {
      res.writeHead(200, ['content-length', '2']);
      res.end('ok');
      return;
    }
    // An upstream that stops reading: write() says false and 'drain' never comes.
    const stalled = new Writable({ highWaterMark: 1024, write() {} });
    req.pipe(stalled);
    setTimeout(() => {
      req.unpipe(stalled);
      res.writeHead(504, ['content-length', '0']);
      res.end();
    }, 20);
  });
  const c = connect(port);
  const big = 'q'.repeat(256 * 1024);
  c.write(`POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: ${big.length}\r\n\r\n${big}${GET('/after')}`);
  await c.until((t) => t.endsWith('ok'));
  assert.deepEqual(urls, ['/up', '/after']);
  c.sock.destroy();
});

test('H1Server skips the rest of a body the handler answered early, arriving later', async () => {
  const urls: string[] = [];
  const { port } = await serve((req, res) => {
    urls.push(req.url);
    res.writeHead(413, ['content-length', '0']);
    res.end();
  });
  const c = connect(port);
  c.write(`POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345`);
  await c.until((t) => t.endsWith('\r\n\r\n'));
  c.write('67890' + GET('/after'));
  await c.count('413', 2);
  assert.deepEqual(urls, ['/up', '/after']);
  c.sock.destroy();
});

test('H1Server answers Expect: 100-continue with 100 Continue before the answer', async () => {
  const { port } = await serve(echo());
  const c = connect(port);
  c.write('POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n');
  await c.until((t) => t.includes('\r\n\r\n'));
  assert.equal(c.text, 'HTTP/1.1 100 Continue\r\n\r\n');
  c.write('body');
  const text = await c.until((t) => t.endsWith('}'));
  assert.match(text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n.*\r\n\r\nPOST body complete=true/s);
  c.sock.destroy();
});

test('H1Server ignores Expect: 100-continue from an HTTP/1.0 client (RFC 9110 §10.1.1)', async () => {
  const { port } = await serve(echo());
  const c = connect(port);
  c.write('POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody');
  const text = await c.untilEnd();
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n.*\r\n\r\nPOST body complete=true/s);
});

// ---- errors ----

test('H1Server answers a malformed request with 400 and closes', async () => {
  let called = 0;
  const { port } = await serve(() => called++);
  const c = connect(port);
  c.write('GET / HTTP/1.1\r\nHost a\r\n\r\n');
  assert.equal(await c.untilEnd(), 'HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
  assert.equal(called, 0);
});

test('H1Server answers a malformed request after a good one with 400 after the first answer', async () => {
  const { port } = await serve(ok());
  const c = connect(port);
  c.write(GET() + 'BAD\r\n\r\n');
  assert.equal(dateless(await c.untilEnd()), 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ndate: D\r\n\r\nokHTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
});

test('H1Server answers a huge head with 431 and closes', async () => {
  const { port } = await serve(ok());
  const c = connect(port);
  c.write(`GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(70 * 1024)}\r\n\r\n`);
  assert.equal(await c.untilEnd(), 'HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
});

test('H1Server answers an unsupported transfer-encoding with 501', async () => {
  const { port } = await serve(ok());
  const c = connect(port);
  c.write('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n');
  assert.equal(await c.untilEnd(), 'HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
});

test('H1Server cuts the connection on garbage inside a body whose answer has started', async () => {
  let res1: H1Response | undefined;
  const { port } = await serve((req, res) => {
    res1 = res;
    res.writeHead(200);
    res.write('started');
    req.resume();
  });
  const c = connect(port);
  c.write('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
  await c.until((t) => t.includes('started'));
  c.write('zz\r\n');
  await c.untilEnd();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(c.closed || c.ended, true);
  assert.equal(res1?.writableFinished, false);
});

/**
 * A client leaving mid-response. A reset is seen at once; a plain close (FIN) looks like a half-close
 * (see below), so the server notices it when the next write fails — as a streaming response does.
 */
for (const [name, body, how] of [
  ['GET, reset', false, 'reset'],
  ['body in flight, reset', true, 'reset'],
  ['GET, closed while the response streams', false, 'fin'],
] as const) {
  test(`H1Server reports a client that leaves mid-response: response 'close' unfinished, request 'aborted' (${name})`, async () => {
    let resolveSeen: (v: string[]) => void;
    const seen = new Promise<string[]>((r) => (resolveSeen = r));
    const { port, h1 } = await serve((req, res) => {
      const ev: string[] = [];
      req.on('aborted', () => ev.push(`aborted ${req.aborted}`));
      req.on('close', () => ev.push('req close'));
      res.on('close', () => {
        ev.push(`res close writableFinished=${res.writableFinished}`);
        clearInterval(stream);
        setImmediate(() => resolveSeen(ev));
      });
      res.writeHead(200);
      res.write('partial');
      const stream = setInterval(() => how === 'fin' && res.write('more'), 5);
    });
    const c = connect(port);
    c.write(body ? 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc' : GET());
    await c.until((t) => t.includes('partial'));
    if (how === 'reset') c.sock.resetAndDestroy();
    else c.sock.destroy();
    const ev = await seen;
    assert.deepEqual(ev.sort(), ['aborted true', 'req close', 'res close writableFinished=false']);
    assert.equal(h1.conns.size, 0);
  });
}

test('H1Server closes the connection when the handler destroys the response', async () => {
  let closed: boolean | undefined;
  const { port } = await serve((_req, res) => {
    res.on('close', () => (closed = res.writableFinished));
    res.writeHead(200);
    res.write('partial');
    setTimeout(() => res.destroy(), 5);
  });
  const c = connect(port);
  c.write(GET());
  await c.untilEnd();
  assert.match(c.text, /partial/);
  while (closed === undefined) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(closed, false);
});

test("H1Server does not report a request answered with connection: close as 'aborted'", async () => {
  let ev: string[] | undefined;
  const { port } = await serve((req, res) => {
    const seen: string[] = [];
    req.on('aborted', () => seen.push('aborted'));
    res.on('close', () => seen.push(`res close writableFinished=${res.writableFinished}`));
    res.socket.on('close', () => (ev = seen));
    res.writeHead(200, ['content-length', '2', 'connection', 'close']);
    res.end('ok');
  });
  const c = connect(port);
  c.write(GET());
  await c.untilEnd();
  while (!ev) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(ev, ['res close writableFinished=true']);
  assert.equal(c.text.endsWith('ok'), true);
});

test('H1Server still answers a client that half-closes after its request, then closes', async () => {
  const { port } = await serve((req, res) => {
    setTimeout(() => {
      res.writeHead(200, ['content-length', String(req.url.length)]);
      res.end(req.url);
    }, 10);
  });
  const c = connect(port);
  c.sock.end(GET('/half'));
  assert.equal(dateless(await c.untilEnd()), 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\ndate: D\r\n\r\n/half');
});

test('H1Server answers every pipelined request of a client that half-closes, then closes', async () => {
  const { port } = await serve((req, res) => {
    setTimeout(() => {
      res.writeHead(200, ['content-length', String(req.url.length)]);
      res.end(req.url);
    }, 10);
  });
  const c = connect(port);
  c.sock.end(GET('/a') + GET('/b'));
  assert.equal(dateless(await c.untilEnd()), 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ndate: D\r\n\r\n/aHTTP/1.1 200 OK\r\ncontent-length: 2\r\ndate: D\r\n\r\n/b');
});

test('H1Server closes a half-closed connection after the last whole request, dropping a cut one', async () => {
  const { port } = await serve((req, res) => {
    setTimeout(() => {
      res.writeHead(200, ['content-length', String(req.url.length)]);
      res.end(req.url);
    }, 10);
  });
  const c = connect(port);
  c.sock.end(`${GET('/a')}GET /b HTTP/1.1\r\nHo`);
  assert.equal(dateless(await c.untilEnd()), 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ndate: D\r\n\r\n/a');
});

test('H1Server closes a half-closed connection whose request body was cut, once answered', async () => {
  const { port } = await serve((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, ['content-length', '2']);
      res.end('ok');
    }, 10);
  });
  const c = connect(port);
  c.sock.end('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc');
  assert.equal(dateless(await c.untilEnd()), 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ndate: D\r\n\r\nok');
});

// ---- upgrade and CONNECT ----

/** A fallback reading what the H1Server replays, then answering with `reply`. */
function rawFallback(expectBytes: number, reply: string): { fallback: Fallback; got: Promise<Buffer> } {
  let resolve: (b: Buffer) => void;
  const got = new Promise<Buffer>((r) => (resolve = r));
  const fallback: Fallback = (s) => {
    const parts: Buffer[] = [];
    let n = 0;
    const onData = (d: Buffer): void => {
      parts.push(d);
      n += d.length;
      if (n >= expectBytes) {
        s.removeListener('data', onData);
        resolve(Buffer.concat(parts));
        s.write(reply);
      }
    };
    s.on('data', onData);
    s.resume();
  };
  return { fallback, got };
}

test('H1Server hands a WebSocket upgrade to the fallback with its head replayed byte for byte', async () => {
  const head = 'GET /chat?x=1 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
  const frame = Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x69 ^ 1, 0x21 ^ 2]);
  const sent = Buffer.concat([Buffer.from(head, 'latin1'), frame]);
  const { fallback, got } = rawFallback(sent.length, 'HTTP/1.1 101 Switching Protocols\r\n\r\n');
  let handled = 0;
  const { port, h1 } = await serve(() => handled++, fallback);
  const c = connect(port);
  c.write(sent);
  assert.ok((await got).equals(sent));
  assert.equal(await c.until((t) => t.endsWith('\r\n\r\n')), 'HTTP/1.1 101 Switching Protocols\r\n\r\n');
  assert.equal(handled, 0);
  assert.equal(h1.conns.size, 0);
  c.sock.destroy();
});

test('H1Server hands an upgrade after a kept-alive request to the fallback, bytes split across reads', async () => {
  const head = 'GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n';
  const { fallback, got } = rawFallback(head.length + 4, 'switched');
  const { port } = await serve(ok(), fallback);
  const c = connect(port);
  c.write(GET());
  await c.until((t) => t.endsWith('ok'));
  c.write(head.slice(0, 20));
  setTimeout(() => c.write(`${head.slice(20)}DATA`), 5);
  assert.equal((await got).toString('latin1'), `${head}DATA`);
  await c.until((t) => t.endsWith('switched'));
  c.sock.destroy();
});

test("H1Server hands CONNECT to node's HTTP server as the fallback", async () => {
  const node = http.createServer();
  let seen: { method?: string; url?: string; head?: string } = {};
  node.on('connect', (req: http.IncomingMessage, s: net.Socket, head: Buffer) => {
    seen = { method: req.method, url: req.url, head: head.toString('latin1') };
    s.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    s.on('data', (d: Buffer) => s.write(`echo:${d.toString('latin1')}`));
  });
  const { port } = await serve(ok(), (s) => {
    node.emit('connection', s);
    s.resume();
  });
  const c = connect(port);
  c.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nhello');
  await c.until((t) => t.includes('\r\n\r\n'));
  assert.deepEqual(seen, { method: 'CONNECT', url: 'example.com:443', head: 'hello' });
  c.write('more');
  await c.until((t) => t.endsWith('echo:more'));
  c.sock.destroy();
});

// ---- backpressure and draining ----

test("H1Server delivers a multi-megabyte response written with write()'s backpressure and 'drain'", async () => {
  const piece = Buffer.alloc(64 * 1024);
  for (let i = 0; i < piece.length; i++) piece[i] = 97 + (i % 26);
  const pieces = 64; // 4 MiB
  let refused = 0;
  const { port } = await serve((_req, res: H1Response) => {
    res.writeHead(200);
    let i = 0;
    const pump = (): void => {
      while (i < pieces) {
        i++;
        if (!res.write(piece)) {
          refused++;
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  const c = connect(port);
  c.sock.pause();
  c.write(GET());
  setTimeout(() => c.sock.resume(), 20);
  const text = await c.until((t) => t.endsWith('\r\n0\r\n\r\n'));
  const body = unchunk(text.slice(text.indexOf('\r\n\r\n') + 4));
  assert.equal(body.length, piece.length * pieces);
  assert.equal(body, piece.toString('latin1').repeat(pieces));
  assert.ok(refused > 0, 'write() returned false at least once');
  c.sock.destroy();
});

test('H1Server.closeIdle() ends idle connections but not one with a response in progress', async () => {
  let held: H1Response | undefined;
  const { port, h1 } = await serve((req: H1Request, res) => {
    if (req.url === '/hold') {
      held = res;
      return;
    }
    res.writeHead(200, ['content-length', '2']);
    res.end('ok');
  });
  const idle = connect(port);
  idle.write(GET());
  await idle.until((t) => t.endsWith('ok'));
  const fresh = connect(port); // connected, nothing sent yet
  const busy = connect(port);
  busy.write(GET('/hold'));
  while (!held || h1.conns.size < 3) await new Promise((resolve) => setTimeout(resolve, 2));
  h1.closeIdle();
  await idle.untilEnd();
  await fresh.untilEnd();
  assert.equal(idle.ended && fresh.ended, true);
  assert.equal(busy.ended, false);
  held.writeHead(200, ['content-length', '4']);
  held.end('held');
  await busy.until((t) => t.endsWith('held'));
  busy.sock.destroy();
});
