/** Printers for custom resources, built from a CRD version's additionalPrinterColumns (apiextensions tableconvertor). */
import type { ColumnDefinition, KObject, Printer } from '../types.ts';
import { nameColumn, nameOf } from './columns.ts';
import { humanDuration } from './duration.ts';
import { compileJsonPath, evaluateJsonPath, type JsonPath } from './jsonpath.ts';

/** One additionalPrinterColumns entry of a CRD version. */
export interface CrdColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

/** What the API server serves when a version declares no columns (apiextensions serveDefaultColumnsIfEmpty). */
const DEFAULT_COLUMNS: CrdColumn[] = [
  {
    name: 'Age',
    type: 'date',
    jsonPath: '.metadata.creationTimestamp',
    description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  },
];

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Go's json.Marshal escapes these so output is safe inside HTML; kubectl shows them escaped too. */
const GO_JSON_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

/** JSON as Go's encoding/json writes it: compact, map keys sorted, HTML characters escaped. */
export function goJson(v: unknown): string {
  return JSON.stringify(sortKeys(v)).replace(/[<>&\u2028\u2029]/g, (c) => GO_JSON_ESCAPES[c]);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
  return out;
}

/**
 * A number as Go's fmt prints it. Integers decode to int64 in the API server, so they print plainly;
 * other floats use %v (shortest %g), which switches to exponent form below 1e-4 and from 1e6.
 */
function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
  const [mant, exp] = n.toExponential().split('e');
  const e = Number(exp);
  if (e < -4 || e >= 6) return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  return String(n);
}

/** A `type: string` cell: JSONPath text output, where arrays and objects print as JSON. */
function stringCell(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return String(v);
  return goJson(v);
}

/** A typed cell as upstream cellForJSONValue; null when the value does not fit the declared type. */
function typedCell(type: string, v: unknown, now: number): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'integer':
      return typeof v === 'number' ? Math.trunc(v) : null;
    case 'number':
      return typeof v === 'number' ? v : null;
    case 'boolean':
      return typeof v === 'boolean' ? v : null;
    case 'date': {
      if (typeof v !== 'string') return null;
      if (v === '' || v === 'null') return '<unknown>'; // a zero metav1.Time
      if (!RFC3339.test(v)) return '<invalid>';
      return humanDuration(now - Date.parse(v));
    }
    default:
      return null;
  }
}

interface CompiledColumn {
  type: string;
  path: JsonPath | undefined;
}

/** Compiles a path, or undefined when it is outside the supported subset (its cells are then null). */
function tryCompile(source: string): JsonPath | undefined {
  try {
    return compileJsonPath(source);
  } catch {
    return undefined;
  }
}

/** Builds the printer for one CRD version: Name, then each declared column (or Age when none are declared). */
export function crdPrinter(columns: CrdColumn[]): Printer {
  const declared = columns.length > 0 ? columns : DEFAULT_COLUMNS;
  const defs: ColumnDefinition[] = [nameColumn()];
  const compiled: CompiledColumn[] = [];
  for (const c of declared) {
    defs.push({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description || `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
      priority: c.priority ?? 0,
    });
    compiled.push({ type: c.type, path: tryCompile(c.jsonPath) });
  }
  return {
    columns: defs,
    cells(obj: KObject, now: number): unknown[] {
      const cells: unknown[] = [nameOf(obj)];
      for (const c of compiled) {
        const results = c.path ? evaluateJsonPath(c.path, obj) : [];
        // Upstream only supports single-valued paths and takes the first match.
        if (results.length === 0) cells.push(null);
        else cells.push(c.type === 'string' ? stringCell(results[0]) : typedCell(c.type, results[0], now));
      }
      return cells;
    },
  };
}
