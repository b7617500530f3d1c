/**
 * The JSONPath subset CRD additionalPrinterColumns use: `.a.b`, `.a[0]`, `.a[-1]`, `.a[1:3]`, `.a[*].b`, `.a.*`,
 * `['dotted.key']`, and `\.`-escaped dots in field names. Paths compile once, when a printer is built.
 */

type Segment =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'slice'; start?: number; end?: number }
  | { kind: 'wildcard' };

/** A compiled path. */
export interface JsonPath {
  source: string;
  segments: Segment[];
}

/** Thrown for paths outside the subset; code is stable for tests and callers. */
export class JsonPathError extends Error {
  readonly code = 'SKIFF_ERR_JSONPATH';
}

/** Compiles a path such as `.spec.hosts` or `{.metadata.labels['app']}`; throws JsonPathError for unsupported syntax. */
export function compileJsonPath(source: string): JsonPath {
  let p = source.trim();
  // CRDs hold bare paths; kubectl-style `{...}` wrapping and a leading `$` are accepted as well.
  if (p.startsWith('{') && p.endsWith('}')) p = p.slice(1, -1).trim();
  if (p.startsWith('$')) p = p.slice(1);
  const segments: Segment[] = [];
  let i = 0;
  while (i < p.length) {
    const ch = p[i];
    if (ch === '.') {
      if (p[i + 1] === '.') throw new JsonPathError(`unsupported JSONPath "${source}": recursive descent`);
      i++;
      if (p[i] === '*') {
        segments.push({ kind: 'wildcard' });
        i++;
        continue;
      }
      let name = '';
      while (i < p.length && p[i] !== '.' && p[i] !== '[') {
        if (p[i] === '\\' && i + 1 < p.length) i++; // `\.` keeps a literal dot in the name
        name += p[i++];
      }
      if (name !== '') segments.push({ kind: 'field', name });
    } else if (ch === '[') {
      const close = findClose(p, i);
      if (close < 0) throw new JsonPathError(`invalid JSONPath "${source}": unclosed "["`);
      segments.push(bracket(p.slice(i + 1, close).trim(), source));
      i = close + 1;
    } else {
      throw new JsonPathError(`invalid JSONPath "${source}": unexpected "${ch}" at ${i}`);
    }
  }
  return { source, segments };
}

/** The index of the `]` closing the bracket at `open`, skipping quoted strings. */
function findClose(p: string, open: number): number {
  let quote = '';
  for (let i = open + 1; i < p.length; i++) {
    const c = p[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === ']') return i;
  }
  return -1;
}

function bracket(body: string, source: string): Segment {
  if (body === '*') return { kind: 'wildcard' };
  const quoted = /^(['"])(.*)\1$/s.exec(body);
  if (quoted) return { kind: 'field', name: quoted[2].replace(/\\(.)/g, '$1') };
  if (/^-?\d+$/.test(body)) return { kind: 'index', index: Number(body) };
  const slice = /^(-?\d*):(-?\d*)$/.exec(body);
  if (slice) {
    return { kind: 'slice', start: slice[1] === '' ? undefined : Number(slice[1]), end: slice[2] === '' ? undefined : Number(slice[2]) };
  }
  throw new JsonPathError(`unsupported JSONPath "${source}": "[${body}]"`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every value the path selects, in document order; missing keys and out-of-range indexes select nothing. */
export function evaluateJsonPath(path: JsonPath, root: unknown): unknown[] {
  let current: unknown[] = [root];
  for (const seg of path.segments) {
    const next: unknown[] = [];
    for (const v of current) {
      switch (seg.kind) {
        case 'field':
          if (isObject(v) && Object.hasOwn(v, seg.name)) next.push(v[seg.name]);
          break;
        case 'index':
          if (Array.isArray(v)) {
            const i = seg.index < 0 ? v.length + seg.index : seg.index;
            if (i >= 0 && i < v.length) next.push(v[i]);
          }
          break;
        case 'slice':
          if (Array.isArray(v)) next.push(...v.slice(seg.start ?? 0, seg.end ?? v.length));
          break;
        case 'wildcard':
          if (Array.isArray(v)) next.push(...v);
          else if (isObject(v)) for (const k of Object.keys(v).sort()) next.push(v[k]);
          break;
      }
    }
    current = next;
  }
  return current;
}
