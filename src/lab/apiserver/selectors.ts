/**
 * Label and field selectors as kube-apiserver parses them (apimachinery pkg/labels and pkg/fields).
 *
 * Labels: comma-separated requirements, all of which must hold: `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
 * `k notin (a,b)`, `k` (exists), `!k` (does not exist). `!=` and `notin` also match objects without the
 * key, as upstream does. Fields: `f=v`, `f==v`, `f!=v` only, over the few fields each resource supports
 * (unsupported fields are a 400 upstream, and here too, so a typo in a fieldSelector never silently
 * selects everything: that burned @kubernetes/client-node users, whose informer dropped the selector).
 */
import { ApiStatusError } from './status.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export type LabelRequirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

const KEY_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') out.push(cur);
  return out;
}

export function parseLabelSelector(s: string | null | undefined): LabelRequirement[] {
  if (!s || !s.trim()) return [];
  const reqs: LabelRequirement[] = [];
  for (const raw of splitTopLevel(s)) {
    const part = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      reqs.push({ key: checkKey(m[1]), op: m[2] as 'in' | 'notin', values: m[3].split(',').map((v) => v.trim()).filter((v) => v !== '') });
    } else if ((m = part.match(/^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/))) {
      reqs.push({ key: checkKey(m[1]), op: m[2] === '!=' ? 'neq' : 'eq', value: m[3] });
    } else if ((m = part.match(/^!\s*(\S+)$/))) {
      reqs.push({ key: checkKey(m[1]), op: 'notexists' });
    } else if ((m = part.match(/^(\S+)$/))) {
      reqs.push({ key: checkKey(m[1]), op: 'exists' });
    } else {
      throw ApiStatusError.badRequest(`unable to parse requirement: ${part}`);
    }
  }
  return reqs;
}

function checkKey(k: string): string {
  if (!KEY_RE.test(k)) throw ApiStatusError.badRequest(`unable to parse requirement: invalid label key "${k}"`);
  return k;
}

export function matchLabels(reqs: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of reqs) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'eq': if (!has || v !== r.value) return false; break;
      case 'neq': if (has && v === r.value) return false; break;
      case 'in': if (!has || !r.values.includes(v)) return false; break;
      case 'notin': if (has && r.values.includes(v)) return false; break;
      case 'exists': if (!has) return false; break;
      case 'notexists': if (has) return false; break;
    }
  }
  return true;
}

export interface FieldRequirement { field: string; op: 'eq' | 'neq'; value: string }

export function parseFieldSelector(s: string | null | undefined, supported: readonly string[]): FieldRequirement[] {
  if (!s || !s.trim()) return [];
  const out: FieldRequirement[] = [];
  for (const raw of s.split(',')) {
    const m = raw.trim().match(/^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw ApiStatusError.badRequest(`invalid selector: '${s}'; can't understand '${raw}'`);
    if (!supported.includes(m[1])) throw ApiStatusError.badRequest(`field label not supported: ${m[1]}`);
    out.push({ field: m[1], op: m[2] === '!=' ? 'neq' : 'eq', value: m[3] });
  }
  return out;
}

/** The value of a dotted field path (`spec.nodeName`) as the apiserver's field-set functions render it. */
export function fieldValue(obj: Obj, field: string): string {
  let cur: unknown = obj;
  for (const p of field.split('.')) cur = cur && typeof cur === 'object' ? (cur as Obj)[p] : undefined;
  if (cur === undefined || cur === null) return '';
  return String(cur);
}

export function matchFields(reqs: FieldRequirement[], obj: Obj): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.field);
    if (r.op === 'eq' ? v !== r.value : v === r.value) return false;
  }
  return true;
}
