import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { seededRandom } from '../../../seeded.test-helper.ts';
import { headEnd, headLineEnd, knownNames, LINE_FIELDS, lineTable, readView, scanHead, scanLines, scanReadBuffer } from './scan.ts';
import { scanWasm } from './scan-wasm.ts';

/** The check the scanner replaced: header lines as a regular expression (token, colon, value without CTLs but HTAB, CRLF). */
const ORACLE = /^(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*\r\n)*$/;

/** What the table should say for well-formed `lines` (offsets from the text's start, `at` before the first line). */
function expected(lines: string, at: number): number[][] {
  const out: number[][] = [];
  let pos = 0;
  while (pos < lines.length) {
    const eol = lines.indexOf('\r\n', pos);
    const c = lines.indexOf(':', pos);
    let va = c + 1;
    let vb = eol;
    while (va < vb && (lines[va] === ' ' || lines[va] === '\t')) va++;
    while (vb > va && (lines[vb - 1] === ' ' || lines[vb - 1] === '\t')) vb--;
    out.push([c + at, va + at, vb + at, eol + at]);
    pos = eol + 2;
  }
  return out;
}

function table(n: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from(lineTable.subarray(i * LINE_FIELDS, i * LINE_FIELDS + 4)));
}

/** The name classes of the last scan's first `n` lines. */
function classes(n: number): number[] {
  return Array.from({ length: n }, (_, i) => lineTable[i * LINE_FIELDS + 4]);
}

const NAMES = ['host', 'content-length', 'x-envoy-upstream-service-time', 'a', 'x-thirty-two-bytes-long-name-abc', 'hose'];
knownNames(NAMES);

/** Scans `lines` (after a start line) from a Buffer of its own (copied) and from the read buffer (in place); both answers must agree. */
function scanBoth(lines: string, cap = 100): { n: number; rows: number[][]; classes: number[] } {
  const first = 'HTTP/1.1 200 OK\r\n';
  const head = Buffer.from(first + lines + '\r\n', 'latin1');
  const to = first.length + lines.length;
  const copied = scanLines(head, 0, first.length, to, cap);
  const rowsCopied = copied > 0 ? table(copied) : [];
  const classesCopied = copied > 0 ? classes(copied) : [];
  const view = readView(head.length);
  head.copy(view);
  const inPlace = scanLines(view, 0, first.length, to, cap);
  assert.equal(inPlace, copied, `in place and copied differ for ${JSON.stringify(lines)}`);
  if (inPlace > 0) {
    assert.deepEqual(table(inPlace), rowsCopied);
    assert.deepEqual(classes(inPlace), classesCopied);
  }
  return { n: copied, rows: rowsCopied, classes: classesCopied };
}

test('scan-wasm.ts is scan.wat assembled (run node scripts/wasm.js after editing the .wat)', async () => {
  const { assemble } = await import('../../../../scripts/wasm.js');
  const wat = readFileSync(new URL('./scan.wat', import.meta.url), 'utf8');
  assert.equal((await assemble(wat)).toString('base64'), scanWasm);
});

test('scanLines splits well-formed lines: colon, trimmed value and CR of each, as offsets in the head', () => {
  const lines = 'Host: a.b\r\nx-empty:\r\nx-ws: \t padded value \t \r\nContent-Length:2\r\nx-obs: caf\xe9\r\n';
  const { n, rows } = scanBoth(lines);
  assert.equal(n, 5);
  assert.deepEqual(rows, expected(lines, 'HTTP/1.1 200 OK\r\n'.length));
});

test('scanLines names each line: a known name by its index, ASCII case ignored, and whether it has uppercase', () => {
  const lines = [
    'Host: a', 'HOST: a', 'host: a', 'hose: a', 'hosts: a', 'hos: a', 'Content-Length: 1', 'content-lengtH: 1', 'content-lengthy: 1',
    'X-Envoy-Upstream-Service-Time: 3', 'A: 1', 'b: 1', 'B: 1', 'x-thirty-two-bytes-long-name-abc: 1', 'X-THIRTY-TWO-BYTES-LONG-NAME-ABC: 1',
    'x-thirty-two-bytes-long-name-abd: 1', 'x-thirty-three-bytes-long-name-ab: 1', 'x-thirty-three-bytes-long-name-aB: 1',
    `${'n'.repeat(40)}: 1`, `${'n'.repeat(40)}N: 1`, `N${'n'.repeat(40)}: 1`, `${'n'.repeat(16)}N: 1`, `${'n'.repeat(15)}N: 1`,
    // '^' and '_' fold (0x20 set) to '~' and DEL: never a known name's byte
    'host^: 1', 'x-envoy-upstream-service-tim_: 1',
  ];
  const { n, classes: got } = scanBoth(lines.map((l) => `${l}\r\n`).join(''));
  assert.equal(n, lines.length);
  // Known names written with an uppercase letter say so (+ 256).
  assert.deepEqual(got, [256, 256, 0, 5, -1, -1, 257, 257, -1, 258, 259, -1, -2, 4, 260, -1, -1, -2, -1, -2, -2, -2, -2, -1, -1]);
});

test('scanLines takes long names and values, 16 bytes at a time and across those steps', () => {
  for (const len of [1, 15, 16, 17, 31, 32, 33, 200, 4000]) {
    const lines = `${'n'.repeat(len)}: ${'v'.repeat(len)}\r\nx: ${'w'.repeat(len)}  \r\n`;
    const { n, rows } = scanBoth(lines);
    assert.equal(n, 2, `length ${len}`);
    assert.deepEqual(rows, expected(lines, 17));
  }
});

test('scanLines refuses what the parser must answer 400 for', () => {
  const bad = [
    'x: a\rb\r\n', // bare CR
    'x: a\nb\r\n', // bare LF
    'x: a\x00b\r\n', // NUL
    'x: a\x7fb\r\n', // DEL
    'x: a\x1bb\r\n', // another CTL
    'x: a\r\n folded\r\n', // obsolete line folding
    ': no name\r\n',
    'no colon\r\n',
    'bad name: v\r\n', // SP in the name
    'x\x80: v\r\n', // obs-text in the name
    'x(y): v\r\n', // a separator in the name
    'ok: 1\r\nx\t: v\r\n', // a later line
  ];
  for (const lines of bad) assert.equal(scanBoth(lines).n, -1, JSON.stringify(lines));
});

test('scanLines refuses more lines than asked for, so the parser can answer 431', () => {
  const lines = 'x: 1\r\n'.repeat(5);
  assert.equal(scanBoth(lines, 5).n, 5);
  assert.equal(scanBoth(lines, 4).n, -1);
});

test('scanLines finds a head at the very end of the read buffer, and one as large as the parser allows', () => {
  const lines = 'x-end: value\r\n';
  const head = Buffer.from(`HTTP/1.1 200 OK\r\n${lines}\r\n`, 'latin1');
  const full = readView(scanReadBuffer.length);
  const start = full.length - head.length;
  head.copy(full, start);
  assert.equal(scanLines(full, start, 17, 17 + lines.length, 100), 1);
  assert.deepEqual(table(1), expected(lines, 17));
  const big = `x-big: ${'b'.repeat(60 * 1024)}\r\n`;
  assert.equal(scanBoth(big).n, 1);
  assert.equal(scanLines(Buffer.from(`x: ${'b'.repeat(70 * 1024)}\r\n`, 'latin1'), 0, 0, 70 * 1024 + 5, 100), -1, 'a head beyond the scratch area is left to the parser');
});

test('scanLines agrees with the regular expression it replaced on random lines (seeded)', () => {
  const rand = seededRandom(0x5ca9);
  const alphabet = ['a', 'Z', '0', '-', '!', '~', ':', ' ', '\t', '\r', '\n', '\x00', '\x7f', '\x80', '\xff', '(', '"', 'v'];
  let accepted = 0;
  for (let i = 0; i < 3000; i++) {
    const count = 1 + Math.floor(rand() * 4);
    let lines = '';
    for (let l = 0; l < count; l++) {
      const name = rand() < 0.8 ? 'x-' + 'abc'.slice(0, 1 + Math.floor(rand() * 3)) : '';
      let value = '';
      const len = Math.floor(rand() * 40);
      for (let k = 0; k < len; k++) value += rand() < 0.85 ? 'v' : alphabet[Math.floor(rand() * alphabet.length)];
      lines += `${rand() < 0.9 ? name + ':' : name}${value}\r\n`;
    }
    const ok = ORACLE.test(lines);
    const { n, rows } = scanBoth(lines);
    if (ok) {
      accepted++;
      assert.equal(n, expected(lines, 17).length, JSON.stringify(lines));
      assert.deepEqual(rows, expected(lines, 17));
    } else assert.equal(n, -1, JSON.stringify(lines));
  }
  assert.ok(accepted > 300 && accepted < 2700, `both outcomes covered (${accepted} of 3000 accepted)`);
});

test('the read buffer lies in the scanner memory, and views of it are reused by length', () => {
  assert.equal(readView(10), readView(10));
  assert.equal(readView(10).buffer, scanReadBuffer.buffer);
});

/** A head put in the read buffer at `start` of a view `pad` bytes longer, then scanned with scanHead over `len` bytes (default: all of it). */
function headInView(text: string, start = 0, pad = 0, len = text.length): number {
  const bytes = Buffer.from(text, 'latin1');
  const view = readView(start + bytes.length + pad);
  view.fill(0x61);
  bytes.copy(view, start);
  return scanHead(view, start, len, 100);
}

test('scanHead finds a whole head in the read buffer: its start line, its lines and its blank line', () => {
  const lines = 'Host: a\r\nX-Other:  b \r\n';
  const head = `GET / HTTP/1.1\r\n${lines}\r\nbody`;
  assert.equal(headInView(head, 7), 2);
  assert.equal(headLineEnd(), 14);
  assert.equal(headEnd(), 16 + lines.length);
  assert.deepEqual(table(2), expected(lines, 16));
  assert.deepEqual(classes(2), [256, -2]);
  // No header lines at all.
  assert.equal(headInView('HTTP/1.1 204 No Content\r\n\r\n'), 0);
  assert.equal(headLineEnd(), 23);
  assert.equal(headEnd(), 25);
});

test('scanHead leaves to the parser a head cut short, one that is not valid, and one outside the read buffer', () => {
  const head = 'GET / HTTP/1.1\r\nHost: a\r\nx-long: ' + 'v'.repeat(40) + '\r\n\r\n';
  for (let cut = 0; cut < head.length; cut++) assert.equal(headInView(head, 3, 5, cut), -1, `cut at ${cut}`);
  assert.equal(headInView(head, 3, 5), 2);
  for (const bad of ['GET / HTTP/1.1\nHost: a\r\n\r\n', 'GET / HTTP/1.1\r\nHost: a\n\r\n', 'GET / HTTP/1.1\r\nHo st: a\r\n\r\n', 'GET / HTTP/1.1\r\nHost: a\x00\r\n\r\n', 'GET / HTTP/1.1\r\n folded\r\n\r\n']) {
    assert.equal(headInView(bad), -1, JSON.stringify(bad));
  }
  assert.equal(scanHead(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'), 0, 29, 100), -1);
  assert.equal(headInView('GET / HTTP/1.1\r\n' + 'x: 1\r\n'.repeat(101) + '\r\n'), -1, 'more lines than the cap');
});

test('scanHead agrees with a search for the blank line and the line check on random heads, whole and cut (seeded)', () => {
  const rand = seededRandom(0x4ead);
  const alphabet = ['a', 'Z', ':', ' ', '\t', '\r', '\n', '\r\n', '\x00', '\x80', 'v', '-'];
  let found = 0;
  for (let i = 0; i < 3000; i++) {
    let text = rand() < 0.5 ? 'GET /x HTTP/1.1' : 'HTTP/1.1 200 OK';
    text += '\r\n';
    const count = Math.floor(rand() * 4);
    for (let l = 0; l < count; l++) {
      let line = `x-${'ab'.slice(0, 1 + Math.floor(rand() * 2))}: `;
      const len = Math.floor(rand() * 30);
      for (let k = 0; k < len; k++) line += rand() < 0.9 ? 'v' : alphabet[Math.floor(rand() * alphabet.length)];
      text += line + '\r\n';
    }
    text += rand() < 0.8 ? '\r\nrest' : '';
    const len = rand() < 0.7 ? text.length : Math.floor(rand() * text.length);
    const seen = text.slice(0, len);
    // The reference: the first CRLF ends the start line, the first CRLFCRLF the head; its lines pass the check.
    const le = seen.indexOf('\r\n');
    const firstBreak = seen.search(/[\r\n]/);
    const e = le < 0 ? -1 : seen.indexOf('\r\n\r\n', le);
    const lines = e < 0 ? '' : seen.slice(le + 2, e + 2);
    const ok = le >= 0 && firstBreak === le && e >= 0 && ORACLE.test(lines);
    const n = headInView(text, 0, 0, len);
    if (ok) {
      found++;
      assert.equal(n, expected(lines, le + 2).length, JSON.stringify(seen));
      assert.equal(headLineEnd(), le);
      assert.equal(headEnd(), e + 2);
      assert.deepEqual(table(n), expected(lines, le + 2));
    } else assert.equal(n, -1, JSON.stringify(seen));
  }
  assert.ok(found > 300 && found < 2700, `both outcomes covered (${found} of 3000 found)`);
});
