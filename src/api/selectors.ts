/** Label and field selectors: parsed once per request into plain predicate data, then matched per object. */
import { badRequest } from './errors.ts';
import type { KObject } from './types.ts';

export interface Requirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!exists' | '=' | '!=';
  values: string[];
}

/** Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h` into requirements (ANDed). */
export function parseLabelSelector(s: string | undefined): Requirement[] {
  if (!s || !s.trim()) return [];
  const out: Requirement[] = [];
  // Split on commas that are not inside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  for (const raw of parts) {
    const p = raw.trim();
    if (!p) throw badRequest(`unable to parse requirement: found '', expected: identifier in selector "${s}"`);
    let m: RegExpExecArray | null;
    if ((m = /^([^\s!=()]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      out.push({ key: m[1], op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()).filter((v) => v !== '' || m![3].trim() === '') });
    } else if ((m = /^([^\s!=()]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(p))) {
      out.push({ key: m[1], op: m[2] === '!=' ? '!=' : '=', values: [m[3]] });
    } else if ((m = /^!\s*([^\s!=()]+)$/.exec(p))) {
      out.push({ key: m[1], op: '!exists', values: [] });
    } else if ((m = /^([^\s!=()]+)$/.exec(p))) {
      out.push({ key: m[1], op: 'exists', values: [] });
    } else {
      throw badRequest(`unable to parse requirement: invalid label selector "${s}"`);
    }
  }
  return out;
}

/** True when labels satisfy every requirement. */
export function matchLabels(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  for (const r of reqs) {
    const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
    const v = has ? labels![r.key] : undefined;
    switch (r.op) {
      case '=':
        if (v !== r.values[0]) return false;
        break;
      case '!=':
        if (v === r.values[0]) return false;
        break;
      case 'in':
        if (v === undefined || !r.values.includes(v)) return false;
        break;
      case 'notin':
        if (v !== undefined && r.values.includes(v)) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case '!exists':
        if (has) return false;
        break;
    }
  }
  return true;
}

export interface FieldRequirement {
  path: string[];
  op: '=' | '!=';
  value: string;
}

/** Parses `metadata.name=x,status.phase!=Running`. */
export function parseFieldSelector(s: string | undefined): FieldRequirement[] {
  if (!s || !s.trim()) return [];
  return s.split(',').map((p) => {
    const m = /^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(p);
    if (!m) throw badRequest(`invalid selector: '${s}'; can't understand '${p}'`);
    return { path: m[1].split('.'), op: m[2] === '!=' ? '!=' : '=', value: m[3] };
  });
}

/** True when the object's fields satisfy every requirement; a missing field reads as "". */
export function matchFields(reqs: FieldRequirement[], obj: KObject): boolean {
  for (const r of reqs) {
    let v: unknown = obj;
    for (const k of r.path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    const s = v === undefined || v === null ? '' : String(v);
    if ((r.op === '=') !== (s === r.value)) return false;
  }
  return true;
}

/** A metav1.LabelSelector object (matchLabels + matchExpressions) as requirements. */
export function selectorRequirements(sel: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> } | undefined): Requirement[] {
  if (!sel) return [];
  const out: Requirement[] = [];
  for (const [key, v] of Object.entries(sel.matchLabels ?? {})) out.push({ key, op: '=', values: [v] });
  for (const e of sel.matchExpressions ?? []) {
    const op = e.operator === 'In' ? 'in' : e.operator === 'NotIn' ? 'notin' : e.operator === 'Exists' ? 'exists' : '!exists';
    out.push({ key: e.key, op, values: e.values ?? [] });
  }
  return out;
}

/** Formats a LabelSelector as the string kubectl shows (`app=userlist`). */
export function formatSelector(sel: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> } | undefined): string {
  if (!sel) return '';
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
    else parts.push(`${e.key} ${e.operator.toLowerCase()} (${(e.values ?? []).join(',')})`);
  }
  return parts.sort().join(',');
}
