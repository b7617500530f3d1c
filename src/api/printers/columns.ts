/** Column builders and cell formatters shared by the built-in printers (internal to printers/). */
import type { ColumnDefinition, KObject } from '../types.ts';
import { age } from './duration.ts';

const NAME_DESC =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically.';
const AGE_DESC =
  'CreationTimestamp is a timestamp representing the server time when this object was created. Populated by the system. Read-only. Null for lists.';

/** Options for one column; priority 1 marks an `-o wide` column. */
export interface ColumnOptions {
  type?: string;
  priority?: number;
  format?: string;
}

/** A column definition with the upstream defaults (string, priority 0, no format). */
export function col(name: string, description: string, opts: ColumnOptions = {}): ColumnDefinition {
  return { name, type: opts.type ?? 'string', format: opts.format ?? '', description, priority: opts.priority ?? 0 };
}

/** The Name column; format "name" makes kubectl print `kind/name` in `get all`. */
export function nameColumn(priority = 0): ColumnDefinition {
  return col('Name', NAME_DESC, { format: 'name', priority });
}

/** The Age column (a humanized creationTimestamp). */
export function ageColumn(): ColumnDefinition {
  return col('Age', AGE_DESC);
}

/** The raw creationTimestamp column of upstream's default table convertor. */
export function createdAtColumn(): ColumnDefinition {
  return col('Created At', AGE_DESC, { type: 'date' });
}

/** The wide Containers, Images (and optionally Selector) columns of workload printers. */
export function templateColumns(selector: boolean): ColumnDefinition[] {
  const cols = [
    col('Containers', 'Names of each container in the template.', { priority: 1 }),
    col('Images', 'Images referenced by each container in the template.', { priority: 1 }),
  ];
  if (selector) cols.push(col('Selector', 'Label selector for the pods.', { priority: 1 }));
  return cols;
}

/** The object's name cell. */
export function nameOf(obj: KObject): string {
  return obj.metadata?.name ?? '';
}

/** The object's Age cell. */
export function ageOf(obj: KObject, now: number): string {
  return age(obj.metadata?.creationTimestamp, now);
}

/** Container names and images, comma-joined, as upstream's layoutContainerCells. */
export function containerCells(containers: unknown): [string, string] {
  const list = asArray<{ name?: string; image?: string }>(containers);
  return [list.map((c) => c.name ?? '').join(','), list.map((c) => c.image ?? '').join(',')];
}

/** A label map as `a=b,c=d` (sorted by key), or `<none>` when empty: labels.FormatLabels. */
export function formatLabels(labels: unknown): string {
  const s = labelsString(labels);
  return s === '' ? '<none>' : s;
}

function labelsString(labels: unknown): string {
  if (!labels || typeof labels !== 'object') return '';
  return Object.keys(labels as Record<string, string>)
    .sort()
    .map((k) => `${k}=${(labels as Record<string, string>)[k]}`)
    .join(',');
}

interface Requirement {
  key: string;
  text: string;
}

/** A LabelSelector as labels.Selector.String() renders it (`app=web,tier in (a,b)`); "" when it selects all or nothing. */
export function selectorString(sel: unknown): string {
  if (!sel || typeof sel !== 'object') return '';
  const s = sel as { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> };
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) reqs.push({ key: k, text: `${k}=${v}` });
  for (const e of s.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(',');
    switch (e.operator) {
      case 'In': reqs.push({ key: e.key, text: `${e.key} in (${values})` }); break;
      case 'NotIn': reqs.push({ key: e.key, text: `${e.key} notin (${values})` }); break;
      case 'Exists': reqs.push({ key: e.key, text: e.key }); break;
      case 'DoesNotExist': reqs.push({ key: e.key, text: `!${e.key}` }); break;
      default: reqs.push({ key: e.key, text: `${e.key} ${e.operator} (${values})` });
    }
  }
  // Upstream sorts requirements by key (stable), so matchLabels and expressions interleave.
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return reqs.map((r) => r.text).join(',');
}

/** A LabelSelector, or `<none>` when empty: metav1.FormatLabelSelector. */
export function formatSelector(sel: unknown): string {
  const s = selectorString(sel);
  return s === '' ? '<none>' : s;
}

/** Joins at most `max` items and appends ` + N more...`; `<unset>` when empty (upstream listWithMoreString). */
export function listWithMore(list: string[], total: number, max: number): string {
  const ret = list.slice(0, max).join(',');
  if (total > max) return `${ret} + ${total - max} more...`;
  return ret === '' ? '<unset>' : ret;
}

/** The value as an array, or [] when it is not one; objects are validated at the boundary, not here. */
export function asArray<T>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}

/** The number of keys of a map-like value. */
export function countKeys(v: unknown): number {
  return v && typeof v === 'object' ? Object.keys(v).length : 0;
}
