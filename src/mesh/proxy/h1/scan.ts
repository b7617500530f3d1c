/**
 * Header lines checked and split by a small WebAssembly module (scan.wat) instead of a regular
 * expression and two string searches per line: one pass over the bytes, 16 at a time (SIMD), against
 * ~13 instructions a byte for the regular expression. The parser (parser.ts) reads the
 * line table it leaves: per line the colon, the value's start and end and the line's end, as
 * offsets in the head's text. A head the scanner refuses goes through the parser's line-by-line
 * check, which says what is wrong.
 *
 * The connections' shared read buffer (reads.ts) lies in the module's memory, so a head read there
 * is scanned where it is; a head from anywhere else (kept over several reads, or a test's Buffer)
 * is copied to a scratch area first.
 */
import { TOKEN } from './fields.ts';
import { scanWasm } from './scan-wasm.ts';

/** Offsets in the module's memory (scan.wat's layout). */
const LOW_ROWS = 0;
const HIGH_BITS = 16;
const LINES = 1024;
const NAMES = 24576;
const NAME_SLOTS = 28672;
const READ_AREA = 65536;
const READ_SIZE = 65536;
const SCRATCH = 131072;
/** The scanner's loads look up to 31 bytes past a head: the scratch area stops short of the memory's end by that. */
const SCRATCH_SIZE = 65536 - 32;
/** Lines the table holds (up to the read area); the parser asks for at most h1Limits.maxHeaders. */
const MAX_LINES = 1024;

/** Where scan() and head() say whether a name had uppercase, and head() leaves the start line's end and the blank line's start (scan.wat). */
const MARKS = 1012;

type ScanFn = (p: number, end: number, out: number, base: number, cap: number) => number;

const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(scanWasm, 'base64')), {});
const memory = (instance.exports.memory as WebAssembly.Memory).buffer;
const scan = instance.exports.scan as ScanFn;
const head = instance.exports.head as ScanFn;
const marks = new Int32Array(memory, MARKS, 3);
const bytes = new Uint8Array(memory);

// tchar (RFC 9110 §5.6.2) as two 16-entry tables for a byte's nibbles: the byte is a tchar when
// LOW_ROWS[low] has bit `high` set (HIGH_BITS[high] = 1 << high; none above 0x7f).
for (let c = 0; c < 0x80; c++) if (TOKEN.test(String.fromCharCode(c))) bytes[LOW_ROWS + (c & 15)] |= 1 << (c >> 4);
for (let h = 0; h < 8; h++) bytes[HIGH_BITS + h] = 1 << h;

/**
 * The line table scanLines fills, LINE_FIELDS numbers a line: line i's colon, value start, value
 * end and CR at [5i .. 5i+3], and at 5i+4 its name's class: the index of a name given to
 * knownNames (ASCII case ignored), -1 for another name without uppercase letters, -2 for another
 * with some.
 */
export const LINE_FIELDS = 5;
export const lineTable = new Int32Array(memory, LINES, MAX_LINES * LINE_FIELDS);

/**
 * The names the scanner recognises (lowercase tchar names of up to 32 bytes, at most 4 of a length
 * and first letter, in no case but lowercase letters, digits and '-'); a line's class is its index
 * here; a call replaces the names of the one before.
 */
export function knownNames(names: readonly string[]): void {
  if (names.length > 255) throw new Error('too many known names');
  bytes.fill(0, NAMES, NAME_SLOTS + 33 * 32 * 4);
  names.forEach((name, i) => {
    if (!/^[a-z0-9-]{1,32}$/.test(name)) throw new Error(`cannot recognise ${name}`);
    for (let k = 0; k < name.length; k++) bytes[NAMES + i * 32 + k] = name.charCodeAt(k);
    const slot = NAME_SLOTS + (name.length * 32 + (name.charCodeAt(0) & 31)) * 4;
    let k = 0;
    while (k < 4 && bytes[slot + k] !== 0) k++;
    if (k === 4) throw new Error(`more than 4 known names like ${name}`);
    bytes[slot + k] = i + 1;
  });
}

/** The connections' read buffer (reads.ts): heads read into it are scanned in place. */
export const scanReadBuffer = Buffer.from(memory, READ_AREA, READ_SIZE);

/**
 * Views of the read buffer's first bytes, kept by length (slot `n & 63`): the same requests and
 * responses come in the same sizes, and a new view per read cost ~1,000 instructions (under
 * callgrind) and ~90 bytes. A view is only valid during the call that gets it, whoever got it
 * before. scanLines knows them by identity (asking a Buffer for its ArrayBuffer is a C++ call).
 */
const views: Array<Buffer | undefined> = new Array(64).fill(undefined);

/** The read buffer's first `n` bytes (reads.ts hands one to each direct read). */
export function readView(n: number): Buffer {
  const v = views[n & 63];
  if (v !== undefined && v.length === n) return v;
  const fresh = scanReadBuffer.subarray(0, n);
  views[n & 63] = fresh;
  return fresh;
}

/**
 * Checks and splits the header lines `b[start + from .. start + to)`, which end with the last
 * line's CRLF; offsets in the table are from `b[start]`. Returns the number of lines, or -1 when
 * one is not a valid header line or there are more than `cap` (the parser then looks line by line).
 */
export function scanLines(b: Buffer, start: number, from: number, to: number, cap: number): number {
  let base: number;
  if (views[b.length & 63] === b) base = READ_AREA + start;
  else {
    if (to > SCRATCH_SIZE) return -1;
    bytes.set(b.subarray(start + from, start + to), SCRATCH + from);
    base = SCRATCH;
  }
  const n = scan(base + from, base + to, LINES, base, cap < MAX_LINES ? cap : MAX_LINES);
  return n < 0 ? -1 : n;
}

/**
 * A whole head at `b[start]` read into the read buffer (a readView), looked for in its first `len`
 * bytes: on success the header lines are in the table, and the number of lines comes back, with the
 * start line's CR at headLineEnd() and the blank line's CR at headEnd() (offsets from `start`).
 * -1 for anything else (not a read view, the head not all within `len` bytes, a byte that is not
 * valid, more than `cap` lines): the parser then searches and checks the head itself.
 */
export function scanHead(b: Buffer, start: number, len: number, cap: number): number {
  if (views[b.length & 63] !== b) return -1;
  const base = READ_AREA + start;
  const n = head(base, base + len, LINES, base, cap < MAX_LINES ? cap : MAX_LINES);
  return n < 0 ? -1 : n;
}

/** The start line's end (its CR) after scanHead, from the head's start. */
export function headLineEnd(): number {
  return marks[1];
}

/** The blank line's start (its CR) after scanHead, from the head's start. */
export function headEnd(): number {
  return marks[2];
}

/** Whether every name the last scan took was written in lowercase. */
export function namesLowercase(): boolean {
  return marks[0] === 0;
}
