/**
 * H1Parser against hand-written messages. Every message is also fed split at every byte boundary
 * (one byte per read, two reads at each split point, three reads at spread points), and each split
 * must report exactly what the whole buffer does: a parser that reads a message differently depending
 * on how TCP cut it is a smuggling bug waiting for the right packet boundary.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { describe, it } from 'node:test';
import { lowerNames } from './wire.test-helper.ts';
import { rawHeaderValue } from './fields.ts';
import { H1Request } from './server.ts';
import { type H1Head, H1ParseError, H1Parser, h1Limits, hasToken, headerLine, headerObject, ROLE_CONNECTION, ROLE_DATE, ROLE_LENGTH, ROLE_TE } from './parser.ts';

interface Message {
  head: H1Head;
  body: string;
  /** undefined while the message is not complete. */
  trailers?: string[] | null;
}

interface Result {
  messages: Message[];
  /** The H1ParseError status, when one was thrown. */
  status?: number;
  /** midMessage after the last read: a message was begun and not ended. */
  mid: boolean;
  /** What finish() answered, with opts.finish. */
  finished?: boolean;
}

interface Opts {
  /** Responses: the request was HEAD. */
  noBody?: boolean;
  /** Call finish() after the last read (the peer closed). */
  finish?: boolean;
  /** onHead returns true for upgrades (as server.ts does). */
  stopOnUpgrade?: boolean;
}

/** Feeds `pieces` as separate reads, serving messages one by one as a caller does (reset() and go on). */
function run(kind: 'request' | 'response', pieces: Buffer[], opts: Opts = {}): Result {
  const messages: Message[] = [];
  let body: Buffer[] = [];
  const parser = new H1Parser(kind, {
    onHead(head) {
      messages.push({ head, body: '' });
      body = [];
      return opts.stopOnUpgrade === true && head.upgrade;
    },
    onBody(chunk) {
      // Copied: a chunk may be a view of the caller's buffer.
      body.push(Buffer.from(chunk));
    },
    onEnd(trailers) {
      const m = messages[messages.length - 1];
      m.body = Buffer.concat(body).toString('latin1');
      m.trailers = trailers ?? null;
    },
  });
  parser.noBody = opts.noBody === true;
  const result: Result = { messages, mid: false };
  try {
    for (const piece of pieces) {
      let off = 0;
      while (off < piece.length) {
        off = parser.execute(piece, off);
        if (parser.done) {
          const m = messages[messages.length - 1];
          if (m.trailers === undefined) m.body = Buffer.concat(body).toString('latin1'); // stopped at the head
          parser.reset();
          parser.noBody = opts.noBody === true;
        }
      }
    }
    result.mid = parser.midMessage;
    if (opts.finish) result.finished = parser.finish();
  } catch (e) {
    assert.ok(e instanceof H1ParseError, `unexpected ${String(e)}`);
    assert.equal(e.code, 'SKIFF_ERR_HTTP1_PARSE');
    result.status = e.status;
  }
  return result;
}

/** Every way of cutting `input` that the tests try: whole, bytewise, 2 pieces at each point, some 3-piece cuts. */
function* splits(input: Buffer): Generator<Buffer[]> {
  yield [input];
  const n = input.length;
  yield Array.from({ length: n }, (_, i) => input.subarray(i, i + 1));
  for (let i = 1; i < n; i++) yield [input.subarray(0, i), input.subarray(i)];
  const step = Math.max(1, Math.floor(n / 10));
  for (let i = 1; i < n; i += step) {
    for (let j = i + 1; j < n; j += step) yield [input.subarray(0, i), input.subarray(i, j), input.subarray(j)];
  }
}

function describeCut(pieces: Buffer[]): string {
  if (pieces.length > 3) return '1-byte reads';
  let at = 0;
  return `reads cut at ${pieces.slice(0, -1).map((p) => (at += p.length)).join(', ')}`;
}

/** Parses `text` whole, then checks every split of it gives the same result; returns the result. */
function parse(kind: 'request' | 'response', text: string | Buffer, opts: Opts = {}): Result {
  const input = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const whole = run(kind, [input], opts);
  const expected = JSON.stringify(whole);
  for (const pieces of splits(input)) {
    const r = run(kind, pieces, opts);
    // Strings compare fast; the deep diff is only for the failure message.
    if (JSON.stringify(r) !== expected) {
      assert.deepEqual(r, whole, `${describeCut(pieces)} of ${JSON.stringify(input.toString('latin1'))}`);
    }
  }
  return whole;
}

const req = (text: string, opts?: Opts) => parse('request', text, opts);
const res = (text: string, opts?: Opts) => parse('response', text, opts);

/** Asserts the input is rejected (at every split) with `status`. */
function rejects(kind: 'request' | 'response', text: string, status: number): void {
  const r = parse(kind, text);
  assert.equal(r.status, status, `${JSON.stringify(text)} should fail with ${status}, got ${JSON.stringify(r)}`);
}

const H = 'Host: a\r\n';

describe('H1Parser requests', () => {
  it('execute() reports a GET head: request line, version, raw headers in order with names lowercased (as Envoy), head size', () => {
    const text = `GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nX-Mixed-Case: v\r\naccept: */*\r\n\r\n`;
    const r = req(text);
    assert.equal(r.status, undefined);
    assert.equal(r.messages.length, 1);
    const { head, body, trailers } = r.messages[0];
    assert.equal(head.method, 'GET');
    assert.equal(head.url, '/a/b?c=d');
    assert.equal(head.minor, 1);
    assert.deepEqual(head.rawHeaders, ['host', 'example.com', 'x-mixed-case', 'v', 'accept', '*/*']);
    assert.equal(head.headBytes, Buffer.byteLength(text));
    assert.equal(head.contentLength, -1);
    assert.equal(head.chunked, false);
    assert.equal(head.keepAlive, true);
    assert.equal(head.upgrade, false);
    assert.equal(head.expectContinue, false);
    assert.equal(head.status, 0);
    assert.equal(body, '');
    assert.equal(trailers, null);
    assert.equal(r.mid, false);
  });

  it('execute() trims SP/HTAB around values only, keeping inner spaces, NBSP and an empty value', () => {
    const r = req(`GET / HTTP/1.1\r\nHost:a\r\nX-A:  a  b \t\r\nX-B:\t\xa0v\xa0\r\nX-C:\r\nX-D: \r\n\r\n`);
    assert.deepEqual(r.messages[0].head.rawHeaders, ['host', 'a', 'x-a', 'a  b', 'x-b', '\xa0v\xa0', 'x-c', '', 'x-d', '']);
  });

  it('execute() keeps HTTP/1.0 connections only with Connection: keep-alive and needs no Host there', () => {
    assert.equal(req('GET / HTTP/1.0\r\n\r\n').messages[0].head.keepAlive, false);
    assert.equal(req('GET / HTTP/1.0\r\n\r\n').messages[0].head.minor, 0);
    assert.equal(req('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n').messages[0].head.keepAlive, true);
    assert.equal(req('GET / HTTP/1.0\r\nConnection: foo,keep-alive\r\n\r\n').messages[0].head.keepAlive, true);
    assert.equal(req('GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n').messages[0].head.keepAlive, false);
  });

  it('execute() reads Connection tokens in comma lists and across repeated headers', () => {
    const ka = (conn: string) => req(`GET / HTTP/1.1\r\n${H}${conn}\r\n`).messages[0].head.keepAlive;
    assert.equal(ka(''), true);
    assert.equal(ka('Connection: close\r\n'), false);
    assert.equal(ka('Connection: CLOSE\r\n'), false);
    assert.equal(ka('Connection: foo, close\r\n'), false);
    assert.equal(ka('Connection: foo,\tclose ,bar\r\n'), false);
    assert.equal(ka('Connection: keep-alive\r\nConnection: close\r\n'), false);
    assert.equal(ka('Connection: closed\r\n'), true);
    assert.equal(ka('Connection: xclose, close-ish\r\n'), true);
  });

  it('hasToken() matches whole comma-separated tokens, case-insensitively', () => {
    assert.equal(hasToken('Upgrade', 'upgrade'), true);
    assert.equal(hasToken('keep-alive, Upgrade', 'upgrade'), true);
    assert.equal(hasToken('upgrades', 'upgrade'), false);
    assert.equal(hasToken('x-upgrade', 'upgrade'), false);
    assert.equal(hasToken('a,upgrade\t', 'upgrade'), true);
  });

  it('execute() flags an upgrade only with Upgrade and a Connection upgrade token, and CONNECT', () => {
    const up = (hs: string) => req(`GET /ws HTTP/1.1\r\n${H}${hs}\r\n`).messages[0].head.upgrade;
    assert.equal(up('Upgrade: websocket\r\nConnection: Upgrade\r\n'), true);
    assert.equal(up('Connection: keep-alive, upgrade\r\nUpgrade: h2c\r\n'), true);
    assert.equal(up('Upgrade: websocket\r\n'), false);
    assert.equal(up('Connection: upgrade\r\n'), false);
    assert.equal(up('Upgrade: websocket\r\nConnection: upgrades\r\n'), false);
    const c = req(`CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n`).messages[0].head;
    assert.equal(c.upgrade, true);
    assert.equal(c.url, 'example.com:443');
  });

  it('execute() stops at the head when onHead returns true, leaving the bytes after it unread', () => {
    const head = `GET /ws HTTP/1.1\r\n${H}Upgrade: websocket\r\nConnection: upgrade\r\nContent-Length: 3\r\n\r\n`;
    const input = Buffer.from(`${head}\x00\xffraw frames`, 'latin1');
    const parser = new H1Parser('request', {
      onHead: () => true,
      onBody: () => assert.fail('no body after an upgrade'),
      onEnd: () => assert.fail('no end after an upgrade'),
    });
    assert.equal(parser.execute(input), head.length);
    assert.equal(parser.done, true);
    // Split: the head's last byte arrives with the tunnel's first bytes.
    const p2 = new H1Parser('request', { onHead: () => true, onBody: () => assert.fail('no body'), onEnd: () => assert.fail('no end') });
    assert.equal(p2.execute(input.subarray(0, head.length - 1)), head.length - 1);
    assert.equal(p2.execute(input, head.length - 1), head.length);
    assert.equal(p2.done, true);
    // The same through the split driver (onHead returning true for upgrades only).
    const r = req(`${head}abc`, { stopOnUpgrade: true });
    assert.equal(r.messages[0].head.upgrade, true);
    assert.equal(r.messages[0].trailers, undefined, 'no onEnd');
  });

  it('execute() sees Expect: 100-continue, in any case', () => {
    assert.equal(req(`PUT / HTTP/1.1\r\n${H}Expect: 100-Continue\r\nContent-Length: 1\r\n\r\nx`).messages[0].head.expectContinue, true);
    assert.equal(req(`PUT / HTTP/1.1\r\n${H}Expect: 200-ok\r\n\r\n`).messages[0].head.expectContinue, false);
  });

  it('execute() reads a Content-Length body, leading zeros and all, and ends at once on 0', () => {
    const r = req(`POST /p HTTP/1.1\r\n${H}Content-Length: 12\r\n\r\nhello\r\n\0\xffxyz`);
    assert.equal(r.messages[0].head.contentLength, 12);
    assert.equal(r.messages[0].body, 'hello\r\n\0\xffxyz');
    assert.equal(r.mid, false);
    assert.equal(req(`POST / HTTP/1.1\r\n${H}Content-Length: 0000000000000000000003\r\n\r\nabc`).messages[0].body, 'abc');
    const z = req(`POST / HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`);
    assert.equal(z.messages[0].body, '');
    assert.equal(z.messages[0].trailers, null);
    // Repeats that agree are one length (RFC 9110 §8.6); GET may carry a body too.
    assert.equal(req(`GET / HTTP/1.1\r\n${H}Content-Length: 2\r\ncontent-length: 2\r\n\r\nok`).messages[0].body, 'ok');
  });

  it('execute() reports a cut Content-Length body as midMessage', () => {
    const r = parse('request', `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nabc`, { finish: true });
    assert.equal(r.messages.length, 1);
    assert.equal(r.messages[0].trailers, undefined);
    assert.equal(r.mid, true);
    assert.equal(r.finished, false);
    const h = parse('request', `POST / HTTP/1.1\r\n${H}Content-Le`, { finish: true });
    assert.deepEqual([h.messages.length, h.mid, h.finished], [0, true, false]);
  });

  it('execute() decodes chunked bodies: extensions, uppercase hex, leading zeros, trailers', () => {
    const r = req(
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n` +
        `5;x=y\r\nhello\r\nA;a;b="q \\" t"\r\n0123456789\r\n1f\r\n${'z'.repeat(31)}\r\n00002\r\n\r\n\r\n` +
        `0;last=1\r\nX-Trailer: t1\r\nchecksum:  abc \r\n\r\n`,
    );
    const m = r.messages[0];
    assert.equal(m.head.chunked, true);
    assert.equal(m.head.contentLength, -1);
    assert.equal(m.body, `hello0123456789${'z'.repeat(31)}\r\n`);
    assert.deepEqual(m.trailers, ['x-trailer', 't1', 'checksum', 'abc']);
    assert.equal(r.mid, false);
    const none = req(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, Chunked\r\n\r\n0\r\n\r\n`);
    assert.deepEqual([none.messages[0].body, none.messages[0].trailers], ['', null]);
  });

  it('execute() stops after each pipelined request; reset() and execute() from the returned offset go on', () => {
    const a = `POST /1 HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabc`;
    const b = `POST /2 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n`;
    const c = `GET /3 HTTP/1.1\r\n${H}\r\n`;
    const input = Buffer.from(a + b + c);
    const ends: number[] = [];
    const parser = new H1Parser('request', { onHead() {}, onBody() {}, onEnd: () => ends.push(0) });
    let off = parser.execute(input);
    assert.equal(off, a.length);
    assert.equal(parser.done, true);
    assert.equal(parser.execute(input, off), off, 'a done parser reads nothing until reset()');
    parser.reset();
    off = parser.execute(input, off);
    assert.equal(off, a.length + b.length);
    parser.reset();
    assert.equal(parser.execute(input, off), input.length);
    assert.equal(ends.length, 3);
    const r = req(a + b + c);
    assert.deepEqual(
      r.messages.map((m) => [m.head.url, m.body]),
      [
        ['/1', 'abc'],
        ['/2', 'de'],
        ['/3', ''],
      ],
    );
  });

  it('execute() skips CRLFs before a request, also between pipelined ones and alone in a read', () => {
    const r = req(`\r\n\r\n\nGET /a HTTP/1.1\r\n${H}\r\n\r\n\r\nGET /b HTTP/1.1\r\n${H}\r\n\r\n`);
    assert.deepEqual(
      r.messages.map((m) => m.head.url),
      ['/a', '/b'],
    );
    assert.equal(r.messages[0].head.headBytes, `GET /a HTTP/1.1\r\n${H}\r\n`.length);
    assert.equal(r.mid, false, 'CRLFs after a message are not a message begun');
    assert.equal(req('\r\n').mid, false);
  });

  it('execute() accepts origin, absolute and asterisk forms and authority form for CONNECT only', () => {
    assert.equal(req(`GET http://a.example:8080/x?y HTTP/1.1\r\n${H}\r\n`).messages[0].head.url, 'http://a.example:8080/x?y');
    assert.equal(req(`OPTIONS * HTTP/1.1\r\n${H}\r\n`).messages[0].head.url, '*');
    assert.equal(req(`GET /a"{}|\\^\`<>#f HTTP/1.1\r\n${H}\r\n`).messages[0].head.url, '/a"{}|\\^`<>#f');
    assert.equal(req(`PROPFIND /dav HTTP/1.1\r\n${H}\r\n`).messages[0].head.method, 'PROPFIND');
  });
});

describe('H1Parser rejections', () => {
  const r400 = (text: string) => rejects('request', text, 400);

  it('rejects bare LF and bare CR line ends, in the head, the chunk lines and the trailers', () => {
    r400('GET / HTTP/1.1\nHost: a\n\n');
    r400(`GET / HTTP/1.1\r\nHost: a\n\r\n`);
    r400(`GET / HTTP/1.1\r\n${H}\n`);
    r400(`GET / HTTP/1.1\r\n${H}\r\r\n`);
    r400(`GET / HTTP/1.1\r\n${H}X: a\r\r\n\r\n`);
    r400(`GET / HTTP/1.1\r\n${H}X: a\rb\r\n\r\n`);
    r400(`GET / HTTP/1.1\r${H}\r\n`);
    const te = `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`;
    r400(`${te}5\nhello\r\n0\r\n\r\n`);
    r400(`${te}5\r\r\nhello\r\n0\r\n\r\n`);
    r400(`${te}5\r\nhello\n0\r\n\r\n`);
    r400(`${te}0\r\n\n`);
    r400(`${te}0\r\nX: y\n\n`);
    r400(`${te}0\r\nX: y\r\r\n\r\n`);
  });

  it('rejects a bare LF in a head still waiting for its blank line, without waiting', () => {
    const r = run('request', [Buffer.from(`GET / HTTP/1.1\r\nHost: a\n`)]);
    assert.equal(r.status, 400);
  });

  it('rejects obs-fold, bad header names and header lines without a colon', () => {
    r400(`GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`);
    r400(`GET / HTTP/1.1\r\n${H}X: a\r\n\tb\r\n\r\n`);
    r400(`GET / HTTP/1.1\r\n Host: a\r\n\r\n`);
    r400(`GET / HTTP/1.1\r\n${H}X : a\r\n\r\n`);
    r400(`GET / HTTP/1.1\r\n${H}X\t: a\r\n\r\n`);
    r400(`GET / HTTP/1.1\r\n${H}: a\r\n\r\n`);
    r400(`GET / HTTP/1.1\r\n${H}X(y): a\r\n\r\n`);
    r400(`GET / HTTP/1.1\r\n${H}X\xff: a\r\n\r\n`);
    r400(`GET / HTTP/1.1\r\n${H}Xy\r\n\r\n`);
  });

  it('rejects control characters in header values but takes HTAB and obs-text', () => {
    for (const c of ['\0', '\x01', '\x08', '\x0b', '\x0c', '\x1f', '\x7f']) {
      r400(`GET / HTTP/1.1\r\n${H}X: a${c}b\r\n\r\n`);
      r400(`GET / HTTP/1.1\r\n${H}X: ${c}b\r\n\r\n`);
    }
    assert.deepEqual(req(`GET / HTTP/1.1\r\n${H}X: a\tb\x80\xff\r\n\r\n`).messages[0].head.rawHeaders.slice(2), ['x', 'a\tb\x80\xff']);
  });

  it('rejects invalid, negative, too large and conflicting Content-Length', () => {
    for (const v of ['abc', '-1', '+1', '1.0', '1 1', '1,1', '', '0x10', '1e3', '1234567890123456']) {
      r400(`POST / HTTP/1.1\r\n${H}Content-Length: ${v}\r\n\r\n`);
    }
    r400(`POST / HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab`);
  });

  it('rejects Content-Length with Transfer-Encoding in either order, even an empty one', () => {
    r400(`POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`);
    r400(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n`);
    r400(`POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding:\r\n\r\nabc`);
    r400(`POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\nContent-Length: 3\r\n\r\nabc`);
  });

  it('answers 501 to a Transfer-Encoding not ending in chunked, 400 to chunked twice', () => {
    for (const v of ['gzip', 'chunked, gzip', 'chunked,', 'xchunked', 'identity', '']) {
      rejects('request', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: ${v}\r\n\r\n0\r\n\r\n`, 501);
    }
    rejects('request', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n`, 501);
    r400(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`);
    r400(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`);
  });

  it('rejects an HTTP/1.1 request without Host', () => {
    r400('GET / HTTP/1.1\r\n\r\n');
    r400('GET / HTTP/1.1\r\nHostname: a\r\n\r\n');
  });

  it('rejects bad versions, methods and request lines', () => {
    for (const line of [
      'GET / HTTP/1.2',
      'GET / HTTP/2.0',
      'GET / HTTP/0.9',
      'GET / http/1.1',
      'GET / HTTP/1.10',
      'GET / HTTP/1.1 ',
      'GET /',
      'GET',
      ' GET / HTTP/1.1',
      'GET\t/ HTTP/1.1',
      'GET /\tHTTP/1.1',
      'GET  / HTTP/1.1',
      'G(T / HTTP/1.1',
      'GET / a HTTP/1.1',
    ]) {
      r400(`${line}\r\n${H}\r\n`);
    }
  });

  it('rejects request targets that are no origin, absolute, asterisk or authority form, or not ASCII', () => {
    for (const target of ['x', '?a', '#a', 'a:b', 'http:/x', '1http://y/', '/a\xffb', '/a\x7fb', '/\0']) {
      r400(`GET ${target} HTTP/1.1\r\n${H}\r\n`);
    }
  });

  it('answers 431 to a head over 60 KiB or over 100 headers, and takes one just at the limits', () => {
    const line = 'GET / HTTP/1.1\r\nHost: a\r\nX: ';
    // The head without its final CRLFCRLF is exactly maxHeadBytes (or one more).
    const head = (n: number) => Buffer.from(`${line}${'v'.repeat(n - line.length)}\r\n\r\n`);
    const ok = head(h1Limits.maxHeadBytes);
    const big = head(h1Limits.maxHeadBytes + 1);
    // A 60 KiB head split at every point is too slow here: whole, the last bytes in each read, 1 KiB reads.
    for (const [input, status] of [
      [ok, undefined],
      [big, 431],
    ] as const) {
      const cuts: Buffer[][] = [[input], chunksOf(input, 1024), chunksOf(input, 4093)];
      for (let i = 1; i <= 6; i++) cuts.push([input.subarray(0, input.length - i), input.subarray(input.length - i)]);
      for (const pieces of cuts) assert.equal(run('request', pieces).status, status, `${input.length} in ${pieces.length} reads`);
    }
    // Without a blank line in sight, 431 comes as soon as the head cannot fit any more.
    assert.equal(run('request', [Buffer.alloc(h1Limits.maxHeadBytes + 3, 'a')]).status, undefined);
    assert.equal(run('request', [Buffer.alloc(h1Limits.maxHeadBytes + 4, 'a')]).status, 431);
    const headers = (n: number) => `GET / HTTP/1.1\r\n${H}${'X: y\r\n'.repeat(n - 1)}\r\n`;
    assert.equal(run('request', [Buffer.from(headers(h1Limits.maxHeaders))]).messages[0].head.rawHeaders.length, 200);
    rejects('request', headers(h1Limits.maxHeaders + 1), 431);
  });

  it('rejects bad chunk sizes and extensions, and chunk data not followed by CRLF', () => {
    const te = `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`;
    for (const size of ['G', '', '-1', '0x5', '+5', '5 ', ' 5', '5\t;a=b', '5 ;a', '5;', '5; a', '5;a b', '5;a=b=c', '5;a="b', '5;a="x"y', '5;a\0', '5;\xff', '1000000000000']) {
      r400(`${te}${size}\r\nhello\r\n0\r\n\r\n`);
    }
    r400(`${te}5\r\nhelloX\r\n0\r\n\r\n`);
    r400(`${te}5\r\nhello\r0\r\n\r\n`);
    r400(`${te}0\r\nX y\r\n\r\n`);
    r400(`${te}0\r\nX: a\0\r\n\r\n`);
    // Up to 12 hex digits without the leading zeros is a size we take (the body is just not here yet).
    assert.equal(parse('request', `${te}000FFFFFFFFFFFF\r\nab`).status, undefined);
  });

  it('answers 502 to a malformed status line', () => {
    for (const line of ['HTTP/1.1 20 OK', 'HTTP/1.1 099 OK', 'HTTP/1.1 2000 OK', 'HTTP/1.2 200 OK', 'ICY 200 OK', 'HTTP/1.1  200 OK', 'HTTP/1.1 200 O\x01K']) {
      rejects('response', `${line}\r\nContent-Length: 0\r\n\r\n`, 502);
    }
  });
});

describe('H1Parser responses', () => {
  it('execute() reads a status line with and without a reason', () => {
    const a = res('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi');
    assert.deepEqual([a.messages[0].head.status, a.messages[0].head.reason, a.messages[0].body], [200, 'OK', 'hi']);
    assert.equal(a.messages[0].head.method, '');
    const b = res('HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n');
    assert.deepEqual([b.messages[0].head.status, b.messages[0].head.reason], [404, '']);
    const c = res('HTTP/1.1 503 Service  Unavailable \t\r\nContent-Length: 0\r\n\r\n');
    assert.equal(c.messages[0].head.reason, 'Service  Unavailable \t');
  });

  it('execute() skips 1xx interim responses and reports the final one', () => {
    const r = res('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx');
    assert.equal(r.messages.length, 1);
    assert.deepEqual([r.messages[0].head.status, r.messages[0].body], [200, 'x']);
    assert.equal(r.messages[0].head.headBytes, 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n'.length);
  });

  it('execute() ends 101, 204 and 304 at the head whatever the framing headers say', () => {
    for (const s of ['101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade', '204 No Content\r\nContent-Length: 5', '304 Not Modified\r\nTransfer-Encoding: chunked']) {
      const text = `HTTP/1.1 ${s}\r\n\r\n`;
      const parser = new H1Parser('response', { onHead() {}, onBody: () => assert.fail('no body'), onEnd() {} });
      assert.equal(parser.execute(Buffer.from(`${text}hello`)), text.length);
      assert.equal(parser.done, true);
      assert.equal(res(text).messages[0].trailers, null);
    }
  });

  it('execute() reads no body for a HEAD request (noBody) whatever the headers say', () => {
    const cl = 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n';
    const parser = new H1Parser('response', { onHead() {}, onBody: () => assert.fail('no body'), onEnd() {} });
    parser.noBody = true;
    assert.equal(parser.execute(Buffer.from(`${cl}HTTP/1.1 200 OK\r\n`)), cl.length);
    assert.equal(parser.done, true);
    const r = res(`${cl}HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n`, { noBody: true });
    assert.deepEqual(
      r.messages.map((m) => [m.head.contentLength, m.head.chunked, m.body]),
      [
        [10, false, ''],
        [-1, true, ''],
      ],
    );
    parser.reset();
    assert.equal(parser.noBody, false, 'reset() forgets noBody: the next request sets it again');
  });

  it('execute() decodes a chunked response with trailers', () => {
    const r = res('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\ngrpc-status: 0\r\n\r\n');
    assert.deepEqual([r.messages[0].body, r.messages[0].trailers], ['abc', ['grpc-status', '0']]);
    assert.equal(r.messages[0].head.keepAlive, true);
  });

  it('execute() reads a body without length until close; finish() ends it', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome\r\n\r\nbytes';
    const r = parse('response', text, { finish: true });
    assert.equal(r.finished, true);
    assert.deepEqual([r.messages[0].body, r.messages[0].trailers, r.messages[0].head.keepAlive], ['some\r\n\r\nbytes', null, false]);
    const parser = new H1Parser('response', { onHead() {}, onBody() {}, onEnd() {} });
    parser.execute(Buffer.from(text));
    assert.equal(parser.untilClose, true);
    assert.equal(parser.midMessage, true);
    assert.equal(parser.finish(), true);
    assert.equal(parser.done, true);
    // A coding other than chunked last also means: until close.
    const gz = res('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n\x1f\x8b', { finish: true });
    assert.deepEqual([gz.messages[0].body, gz.messages[0].head.chunked, gz.finished], ['\x1f\x8b', false, true]);
    // And a cut Content-Length body is not ended by finish().
    assert.equal(parse('response', 'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc', { finish: true }).finished, false);
  });

  it('execute() keeps HTTP/1.0 responses open only with keep-alive and a length', () => {
    assert.equal(res('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').messages[0].head.keepAlive, false);
    const ka = res('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx');
    assert.deepEqual([ka.messages[0].head.keepAlive, ka.messages[0].head.minor], [true, 0]);
    assert.equal(res('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').messages[0].head.keepAlive, false);
  });

  it('execute() needs no Host in responses and skips CRLFs before them, as llhttp does', () => {
    assert.equal(res('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').status, undefined);
    assert.equal(res('\r\n\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx').messages[0].body, 'x');
  });

  // What node's http client (llhttp) makes of raw responses, next to what the parser makes of them.
  const responses = [
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  a b \r\n\r\nhello',
    'HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx',
    'HTTP/1.1 999 Weird\r\nContent-Length: 1\r\n\r\nx',
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: 1\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\nabc',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc',
    'HTTP/1.0 200 OK\r\n\r\nabc',
    'HTTP/1.1 200 OK\r\n\r\nuntil close',
    '\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx',
    // Rejected by both.
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 1\t\r\n\r\nx',
    'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nx',
    'HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 1\r\n\r\nx',
    'HTTP/1.1 200 OK\r\nX: a\x01\r\nContent-Length: 1\r\n\r\nx',
    'HTTP/1.1 200 OK\nContent-Length: 1\n\nx',
    'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nx',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n',
    'HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n',
  ];

  it("execute() agrees with node's http client on raw responses, the connection closing after each", async () => {
    let current = 0;
    // Each connection gets the response under test, once the request is in.
    const server = net.createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.end(responses[current], 'latin1'));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      for (current = 0; current < responses.length; current++) {
        const text = responses[current];
        const node = await new Promise<unknown>((resolve) => {
          const r = http.request({ host: '127.0.0.1', port, agent: false }, (m) => {
            const chunks: Buffer[] = [];
            m.on('data', (c: Buffer) => chunks.push(c));
            m.on('end', () => resolve({ status: m.statusCode, body: Buffer.concat(chunks).toString('latin1'), rawHeaders: lowerNames(m.rawHeaders), trailers: lowerNames(m.rawTrailers) }));
            m.on('aborted', () => resolve('rejected'));
            m.on('error', () => resolve('rejected'));
          });
          r.on('error', () => resolve('rejected'));
          r.end();
        });
        const r = parse('response', text, { finish: true });
        const m = r.messages[0];
        const ours = r.status !== undefined || r.finished === false ? 'rejected' : { status: m.head.status, body: m.body, rawHeaders: m.head.rawHeaders, trailers: m.trailers ?? [] };
        assert.deepEqual(ours, node, JSON.stringify(text));
      }
    } finally {
      server.close();
    }
  });
});

describe('headerObject', () => {
  // Repeats of every kind node treats apart: set-cookie (array), cookie ('; '), the single-valued
  // list (first kept), others (', '), names that are Object.prototype members, mixed case.
  const raw = [
    'Host', 'a.example',
    'Set-Cookie', 'a=1',
    'set-cookie', 'b=2; Path=/',
    'Cookie', 'x=1',
    'cookie', 'y=2',
    'Accept', 'text/html',
    'ACCEPT', '*/*',
    'Content-Type', 'text/plain',
    'content-type', 'application/json',
    'User-Agent', 'one',
    'user-agent', 'two',
    'Authorization', 'Bearer a',
    'Authorization', 'Bearer b',
    'Age', '1',
    'age', '2',
    'X-Forwarded-For', '10.0.0.1',
    'x-forwarded-for', '10.0.0.2',
    'Constructor', 'c1',
    'constructor', 'c2',
    'toString', 't',
    'hasOwnProperty', 'h',
    '__proto__', 'p',
    'Vary', 'a',
    'vary', '',
    'Empty', '',
    'empty', 'x',
  ];

  /** What a real node IncomingMessage makes of these raw headers, on both sides of a connection. */
  async function nodeHeaders(): Promise<{ request: http.IncomingHttpHeaders; requestRaw: string[]; response: http.IncomingHttpHeaders; responseRaw: string[] }> {
    let request: http.IncomingMessage | undefined;
    const server = http.createServer((r, s) => {
      request = r;
      r.resume();
      s.end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const lines: string[] = [];
    for (let i = 0; i < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}\r\n`);
    const sock = net.connect(port, '127.0.0.1');
    sock.end(`GET / HTTP/1.1\r\n${lines.join('')}Connection: close\r\n\r\n`);
    sock.resume();
    await once(sock, 'close');
    // The response side: a raw server answering with the same headers, read by http.get.
    const raws = net.createServer((s) => {
      s.on('data', () => s.end(`HTTP/1.1 200 OK\r\n${lines.join('')}Content-Length: 0\r\nConnection: close\r\n\r\n`));
    });
    raws.listen(0, '127.0.0.1');
    await once(raws, 'listening');
    const got = http.get({ host: '127.0.0.1', port: (raws.address() as AddressInfo).port, path: '/', agent: false });
    const [response] = (await once(got, 'response')) as [http.IncomingMessage];
    response.resume();
    await once(response, 'end');
    server.close();
    raws.close();
    assert.ok(request);
    return { request: request.headers, requestRaw: request.rawHeaders, response: response.headers, responseRaw: response.rawHeaders };
  }

  it("headerObject() builds the same headers object as node's IncomingMessage, from node's and our raw headers", async () => {
    const node = await nodeHeaders();
    // The same names and values from node's raw pairs, names lowercased as the parsers give them;
    // ours has no prototype (fields.ts says why).
    assert.equal(Object.getPrototypeOf(headerObject(lowerNames(node.requestRaw))), null);
    assert.deepStrictEqual({ ...headerObject(lowerNames(node.requestRaw)) }, node.request);
    assert.deepStrictEqual({ ...headerObject(lowerNames(node.responseRaw)) }, node.response);
    // Our parser reads the same raw pairs node does.
    const lines: string[] = [];
    for (let i = 0; i < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}\r\n`);
    const ours = req(`GET / HTTP/1.1\r\n${lines.join('')}Connection: close\r\n\r\n`).messages[0].head.rawHeaders;
    // The pairs node reads, names lowercased (as Envoy's codec hands them on).
    assert.deepStrictEqual(ours, lowerNames(node.requestRaw));
    assert.deepStrictEqual({ ...headerObject(ours) }, node.request);
    // The rules spelled out.
    const h = headerObject(ours);
    assert.deepEqual(h['set-cookie'], ['a=1', 'b=2; Path=/']);
    assert.equal(h.cookie, 'x=1; y=2');
    assert.equal(h.accept, 'text/html, */*');
    assert.equal(h['content-type'], 'text/plain');
    assert.equal(h.constructor, 'c1, c2');
  });

  it("rawHeaderValue() reads each name as node's headers object has it, without building one", async () => {
    const node = await nodeHeaders();
    for (const side of [lowerNames(node.requestRaw), lowerNames(node.responseRaw)]) {
      const names = new Set(side.filter((_, i) => i % 2 === 0));
      const whole = { ...headerObject(side) };
      for (const name of [...names, 'absent', 'toString']) assert.deepStrictEqual(rawHeaderValue(side, name), Object.hasOwn(whole, name) ? whole[name] : undefined, name);
    }
    // An H1Request answers header() the same before and after its headers object is built.
    const r = new H1Request(new net.Socket(), req(`GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\n\r\n`).messages[0].head);
    assert.equal(r.header('x-a'), '1, 2');
    assert.equal(r.header('host'), 'a');
    assert.deepEqual({ ...r.headers }, { host: 'a', 'x-a': '1, 2' });
    assert.equal(r.header('x-a'), '1, 2');
    assert.equal(r.header('nope'), undefined);
  });
});

function chunksOf(b: Buffer, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += n) out.push(b.subarray(i, i + n));
  return out;
}

describe('headerLine', () => {
  it('gives a line prefix and the role of the names a head writer handles itself', () => {
    const cl = headerLine('content-length');
    assert.deepEqual([cl.name, cl.prefix, cl.role], ['content-length', '\r\ncontent-length: ', ROLE_LENGTH]);
    assert.equal(headerLine('date').role, ROLE_DATE);
    assert.equal(headerLine('connection').role, ROLE_CONNECTION);
    assert.equal(headerLine('transfer-encoding').role, ROLE_TE);
    const other = headerLine('x-custom');
    assert.deepEqual([other.name, other.prefix, other.role], ['x-custom', '\r\nx-custom: ', 0]);
    assert.equal(headerLine('user-agent').role, 0);
  });

  it('keeps another spelling in the prefix and still finds its role', () => {
    const cl = headerLine('Content-Length');
    assert.deepEqual([cl.name, cl.prefix, cl.role], ['Content-Length', '\r\nContent-Length: ', ROLE_LENGTH]);
    assert.equal(headerLine('DATE').role, ROLE_DATE);
    assert.equal(headerLine('Transfer-Encoding').role, ROLE_TE);
    assert.equal(headerLine('X-Other').role, 0);
  });
});

describe('keepLines: the header lines as read, for heads whose names are all lowercase', () => {
  /** The heads a response parser with keepLines reads from `text`, fed whole or cut in two at `cut`. */
  const heads = (text: string, cut = -1, keep = true): H1Head[] => {
    const got: H1Head[] = [];
    const p = new H1Parser('response', { onHead: (h) => void got.push(h), onBody() {}, onEnd() {} });
    p.keepLines = keep;
    const b = Buffer.from(text, 'latin1');
    if (cut < 0) p.execute(b);
    else {
      p.execute(b.subarray(0, cut));
      p.execute(b.subarray(cut));
    }
    return got;
  };
  /** Line i of a head's lines, as its text says. */
  const lineTexts = (h: H1Head): string[] => h.lines!.ends.map((end, i) => h.lines!.text.slice(i ? h.lines!.ends[i - 1] : h.lines!.first, end));

  it('gives each line, CRLF first, with its value as read', () => {
    const text = 'HTTP/1.1 200 OK\r\ndate: x\r\nx-a:  spaced  \r\ncontent-length: 2\r\n\r\nok';
    for (const cut of [-1, 20, text.length - 3]) {
      const [h] = heads(text, cut);
      assert.deepEqual(lineTexts(h), ['\r\ndate: x', '\r\nx-a:  spaced  ', '\r\ncontent-length: 2'], `cut at ${cut}`);
      assert.deepEqual(h.rawHeaders, ['date', 'x', 'x-a', 'spaced', 'content-length', '2']);
    }
  });

  it('gives none when a name has an uppercase letter, when there are no header lines, or without keepLines', () => {
    assert.equal(heads('HTTP/1.1 200 OK\r\nDate: x\r\ncontent-length: 0\r\n\r\n')[0].lines, undefined);
    assert.equal(heads('HTTP/1.1 200 OK\r\nx-Other: x\r\ncontent-length: 0\r\n\r\n')[0].lines, undefined);
    assert.equal(heads('HTTP/1.1 204 No Content\r\n\r\n')[0].lines, undefined);
    assert.equal(heads('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n', -1, false)[0].lines, undefined);
  });
});
