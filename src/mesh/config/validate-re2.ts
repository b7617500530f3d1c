/**
 * A syntax checker for RE2 regular expressions, following Go's regexp/syntax parser (Perl flags),
 * which is what istiod runs (`regexp.Compile`) before Envoy gets the pattern. JavaScript's RegExp
 * is not a usable stand-in: it rejects valid RE2 (`(?i)`, `(?P<n>…)`, `\pL`, `[[:alpha:]]`, `\z`)
 * and accepts what RE2 refuses (look-arounds, back-references). Errors read exactly as Go's:
 * "error parsing regexp: missing closing ): `(abc`".
 *
 * Not checked (rare in route config): nested repetition size (`(a{500}){500}`), nesting depth and
 * program size limits.
 */

const POSIX_CLASSES = new Set([
  'alnum', 'alpha', 'ascii', 'blank', 'cntrl', 'digit', 'graph', 'lower', 'print', 'punct', 'space', 'upper', 'word', 'xdigit',
]);

const CATEGORIES = new Set([
  'C', 'Cc', 'Cf', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'M', 'Mc', 'Me', 'Mn', 'N', 'Nd', 'Nl', 'No',
  'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs',
]);

const scriptCache = new Map<string, boolean>();

/** True for Unicode script names RE2 knows (checked against the engine's own Unicode tables). */
function isScript(name: string): boolean {
  let ok = scriptCache.get(name);
  if (ok === undefined) {
    ok = /^[A-Za-z_]+$/.test(name) && name.length < 40;
    if (ok) {
      try {
        new RegExp(`\\p{Script=${name}}`, 'u');
      } catch {
        ok = false;
      }
    }
    if (scriptCache.size < 512) scriptCache.set(name, ok);
  }
  return ok;
}

class RegexpError extends Error {}

function fail(code: string, expr: string): never {
  throw new RegexpError(`error parsing regexp: ${code}: \`${expr}\``);
}

function isAlnumAscii(c: string): boolean {
  return /^[A-Za-z0-9]$/.test(c);
}

function unhex(c: string): number {
  return /^[0-9a-fA-F]$/.test(c) ? parseInt(c, 16) : -1;
}

/** Parses one escape (`\n`, `\x41`, `\101`, `\.`) at the start of s; returns the rest. */
function parseEscape(s: string): string {
  let t = s.slice(1);
  if (t === '') fail('trailing backslash at end of expression', '');
  const c = String.fromCodePoint(t.codePointAt(0)!);
  t = t.slice(c.length);
  switch (c) {
    case '1': case '2': case '3': case '4': case '5': case '6': case '7':
      // A lone non-zero digit would be a back-reference, which RE2 does not support.
      if (t === '' || t[0]! < '0' || t[0]! > '7') break;
    // falls through: an octal escape
    case '0':
      for (let i = 1; i < 3 && t !== '' && t[0]! >= '0' && t[0]! <= '7'; i++) t = t.slice(1);
      return t;
    case 'x': {
      if (t === '') break;
      const c1 = String.fromCodePoint(t.codePointAt(0)!);
      t = t.slice(c1.length);
      if (c1 === '{') {
        let nhex = 0;
        let value = 0;
        for (;;) {
          if (t === '') return fail('invalid escape sequence', s.slice(0, s.length - t.length));
          const d = String.fromCodePoint(t.codePointAt(0)!);
          t = t.slice(d.length);
          if (d === '}') break;
          const v = unhex(d);
          if (v < 0) return fail('invalid escape sequence', s.slice(0, s.length - t.length));
          value = value * 16 + v;
          if (value > 0x10ffff) return fail('invalid escape sequence', s.slice(0, s.length - t.length));
          nhex++;
        }
        if (nhex === 0) break;
        return t;
      }
      const c2 = t === '' ? '' : String.fromCodePoint(t.codePointAt(0)!);
      t = t.slice(c2.length);
      if (unhex(c1) < 0 || c2 === '' || unhex(c2) < 0) break;
      return t;
    }
    case 'a': case 'f': case 'n': case 'r': case 't': case 'v':
      return t;
    default:
      if (c.codePointAt(0)! < 0x80 && !isAlnumAscii(c)) return t;
  }
  return fail('invalid escape sequence', s.slice(0, s.length - t.length));
}

/** `\pN`, `\p{Greek}`, `\P{^Lu}`: returns the rest, or undefined when s does not start one. */
function parseUnicodeClass(s: string): string | undefined {
  if (s.length < 2 || s[0] !== '\\' || (s[1] !== 'p' && s[1] !== 'P')) return undefined;
  let t = s.slice(2);
  const c = t === '' ? '' : String.fromCodePoint(t.codePointAt(0)!);
  t = t.slice(c.length);
  let seq: string;
  let name: string;
  if (c !== '{') {
    seq = s.slice(0, s.length - t.length);
    name = seq.slice(2);
  } else {
    const end = s.indexOf('}');
    if (end < 0) return fail('invalid character class range', s);
    seq = s.slice(0, end + 1);
    t = s.slice(end + 1);
    name = s.slice(3, end);
  }
  if (name.startsWith('^')) name = name.slice(1);
  if (name !== 'Any' && !CATEGORIES.has(name) && !isScript(name)) fail('invalid character class range', seq);
  return t;
}

/** `\d \D \s \S \w \W`: returns the rest, or undefined. */
function parsePerlClassEscape(s: string): string | undefined {
  if (s.length < 2 || s[0] !== '\\' || !'dDsSwW'.includes(s[1]!)) return undefined;
  return s.slice(2);
}

/** One class member character (literal or escape); returns [codepoint, rest]. */
function parseClassChar(s: string, wholeClass: string): [number, string] {
  if (s === '') fail('missing closing ]', wholeClass);
  if (s[0] === '\\') {
    const rest = parseEscape(s);
    const body = s.slice(1, s.length - rest.length);
    return [escapeValue(body), rest];
  }
  const c = s.codePointAt(0)!;
  return [c, s.slice(String.fromCodePoint(c).length)];
}

/** The code point an already-validated escape body (without the backslash) stands for. */
function escapeValue(body: string): number {
  const map: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
  if (body in map) return map[body]!;
  if (/^[0-7]{1,3}$/.test(body)) return parseInt(body, 8);
  if (body.startsWith('x{')) return parseInt(body.slice(2, -1), 16);
  if (body.startsWith('x')) return parseInt(body.slice(1), 16);
  return body.codePointAt(0)!;
}

/** A bracketed class starting at s; returns the rest after `]`. */
function parseClass(s: string): string {
  let t = s.slice(1);
  if (t.startsWith('^')) t = t.slice(1);
  let first = true;
  while (t === '' || t[0] !== ']' || first) {
    first = false;
    if (t.length > 2 && t[0] === '[' && t[1] === ':') {
      const end = t.indexOf(':]', 2);
      if (end >= 0) {
        const name = t.slice(0, end + 2);
        let inner = t.slice(2, end);
        if (inner.startsWith('^')) inner = inner.slice(1);
        if (!POSIX_CLASSES.has(inner)) fail('invalid character class range', name);
        t = t.slice(end + 2);
        continue;
      }
    }
    const u = parseUnicodeClass(t);
    if (u !== undefined) {
      t = u;
      continue;
    }
    const p = parsePerlClassEscape(t);
    if (p !== undefined) {
      t = p;
      continue;
    }
    const rng = t;
    let lo: number;
    [lo, t] = parseClassChar(t, s);
    if (t.length >= 2 && t[0] === '-' && t[1] !== ']') {
      t = t.slice(1);
      let hi: number;
      [hi, t] = parseClassChar(t, s);
      if (hi < lo) fail('invalid character class range', rng.slice(0, rng.length - t.length));
    }
  }
  return t.slice(1);
}

/** `{n}`, `{n,}`, `{n,m}` at s: [min, max, rest] or undefined when it is a literal `{`. */
function parseRepeat(s: string): [number, number, string] | undefined {
  const m = /^\{([0-9]+)(,([0-9]*))?\}/.exec(s);
  if (!m) return undefined;
  const toInt = (d: string): number | undefined => {
    if (d.length >= 2 && d[0] === '0') return undefined; // leading zeros make it a literal
    return d.length > 8 ? -1 : Number(d);
  };
  const min = toInt(m[1]!);
  if (min === undefined) return undefined;
  let max = min;
  if (m[2] !== undefined) {
    if (m[3] === '') max = -1;
    else {
      const x = toInt(m[3]!);
      if (x === undefined) return undefined;
      max = x;
    }
  }
  return [max === -1 && m[3] !== '' ? -1 : min, max, s.slice(m[0].length)];
}

function isCaptureName(name: string): boolean {
  return name !== '' && /^[\p{L}\p{Nd}_]+$/u.test(name);
}

/**
 * Checks `expr` as Go's `regexp.Compile` would; returns Go's error text, or undefined when valid.
 * Tracks only what decides errors: open groups and whether the current concatenation is empty.
 */
export function checkRE2(expr: string): string | undefined {
  try {
    parse(expr);
    return undefined;
  } catch (e) {
    if (e instanceof RegexpError) return e.message;
    throw e;
  }
}

function parse(s: string): void {
  // One frame per open group (plus the top level): how many operands the current branch holds.
  const frames: { operands: number }[] = [{ operands: 0 }];
  const names = new Set<string>();
  let t = s;
  let lastRepeat = '';
  while (t !== '') {
    let repeat = '';
    const top = frames[frames.length - 1]!;
    const c = t[0]!;
    if (c === '(') {
      if (t.length >= 2 && t[1] === '?') {
        t = parsePerlFlags(t, frames, names);
      } else {
        frames.push({ operands: 0 });
        t = t.slice(1);
      }
    } else if (c === '|') {
      top.operands = 0;
      t = t.slice(1);
    } else if (c === ')') {
      if (frames.length < 2) fail('unexpected )', s);
      frames.pop();
      frames[frames.length - 1]!.operands++;
      t = t.slice(1);
    } else if (c === '[') {
      t = parseClass(t);
      top.operands++;
    } else if (c === '*' || c === '+' || c === '?') {
      const before = t;
      t = repeatOp(before, t.slice(1), lastRepeat, top);
      repeat = before;
    } else if (c === '{') {
      const r = parseRepeat(t);
      if (!r) {
        top.operands++;
        t = t.slice(1);
      } else {
        const [min, max, after] = r;
        const before = t;
        if (min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max)) {
          fail('invalid repeat count', before.slice(0, before.length - after.length));
        }
        t = repeatOp(before, after, lastRepeat, top);
        repeat = before;
      }
    } else if (c === '\\') {
      // An empty \Q\E adds nothing to repeat.
      const emptyQuote = t.startsWith('\\Q\\E') || t === '\\Q';
      t = parseBackslash(t);
      if (!emptyQuote) top.operands++;
    } else {
      const cp = t.codePointAt(0)!;
      t = t.slice(String.fromCodePoint(cp).length);
      top.operands++;
    }
    lastRepeat = repeat;
  }
  if (frames.length !== 1) fail('missing closing )', s);
}

/** A repetition operator: `before` starts at the operator, `after` follows it. */
function repeatOp(before: string, after: string, lastRepeat: string, top: { operands: number }): string {
  if (after.startsWith('?')) after = after.slice(1); // non-greedy
  if (lastRepeat !== '') fail('invalid nested repetition operator', lastRepeat.slice(0, lastRepeat.length - after.length));
  if (top.operands === 0) fail('missing argument to repetition operator', before.slice(0, before.length - after.length));
  return after;
}

/** A backslash sequence outside a class: assertions, \Q…\E, classes or a literal escape. */
function parseBackslash(t: string): string {
  if (t.length >= 2) {
    const c = t[1]!;
    if ('AbBz'.includes(c)) return t.slice(2);
    if (c === 'C') fail('invalid escape sequence', '\\C');
    if (c === 'Q') {
      const end = t.indexOf('\\E', 2);
      return end < 0 ? '' : t.slice(end + 2);
    }
  }
  const u = parseUnicodeClass(t);
  if (u !== undefined) return u;
  const p = parsePerlClassEscape(t);
  if (p !== undefined) return p;
  return parseEscape(t);
}

/** `(?flags)`, `(?flags:…`, `(?P<name>…`, `(?<name>…`. */
function parsePerlFlags(t: string, frames: { operands: number }[], names: Set<string>): string {
  if ((t.length > 4 && t[2] === 'P' && t[3] === '<') || (t.length > 3 && t[2] === '<')) {
    const begin = t[2] === '<' ? 3 : 4;
    const end = t.indexOf('>');
    if (end < 0) fail('invalid named capture', t);
    const capture = t.slice(0, end + 1);
    const name = t.slice(begin, end);
    if (!isCaptureName(name)) fail('invalid named capture', capture);
    if (names.has(name)) fail('duplicate capture group name', name);
    names.add(name);
    frames.push({ operands: 0 });
    return t.slice(end + 1);
  }
  let rest = t.slice(2);
  let sign = 1;
  let sawFlag = false;
  while (rest !== '') {
    const c = String.fromCodePoint(rest.codePointAt(0)!);
    rest = rest.slice(c.length);
    if (c === 'i' || c === 'm' || c === 's' || c === 'U') {
      sawFlag = true;
      continue;
    }
    if (c === '-') {
      if (sign < 0) break;
      sign = -1;
      sawFlag = false;
      continue;
    }
    if (c === ':' || c === ')') {
      if (sign < 0 && !sawFlag) break;
      if (c === ':') frames.push({ operands: 0 });
      return rest;
    }
    break;
  }
  return fail('invalid or unsupported Perl syntax', t.slice(0, t.length - rest.length));
}
