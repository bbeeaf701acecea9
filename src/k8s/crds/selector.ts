/**
 * Calico-style selector expressions over node labels, used by BGPPeer.nodeSelector,
 * BGPPeer.peerSelector and IPPool.nodeSelector. We chose Calico's expression language over
 * Kubernetes label-selector objects because operators coming from Calico write exactly these
 * strings, and one string fits in a printer column.
 *
 * Grammar (whitespace is free between tokens):
 *   expr    := and ( '||' and )*
 *   and     := unary ( '&&' unary )*
 *   unary   := '!' unary | primary
 *   primary := '(' expr ')' | 'all()' | 'has(' key ')'
 *            | key '==' value | key '!=' value | key 'in' set | key 'not in' set
 *   set     := '{' [ value ( ',' value )* ] '}'
 *   value   := '...' | "..."            (no escapes, as Calico)
 *   key     := a label key: [A-Za-z0-9] then [A-Za-z0-9._/-]*
 * An empty (or all-whitespace) selector means all(), as in Calico.
 * Semantics: `k != 'v'` and `k not in {...}` are true when the label is absent (Calico does the same).
 *
 * What burned others: unbounded recursion on "((((((..." — nesting depth and input length are capped.
 */
import { PetrelError } from '../../errors.js';

export class SelectorError extends PetrelError {
  readonly position: number;
  constructor(message: string, position: number) {
    super('K8S_ERR_BAD_SELECTOR', `${message} at position ${position}`);
    this.position = position;
  }
}

export type Selector =
  | { op: 'all' }
  | { op: 'has'; key: string }
  | { op: 'eq' | 'ne'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'not'; expr: Selector }
  | { op: 'and' | 'or'; exprs: Selector[] };

export const MAX_SELECTOR_LENGTH = 1024;
const MAX_DEPTH = 32;
const KEY_RE = /[A-Za-z0-9][A-Za-z0-9._/-]*/y;

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly s: string) {}

  parse(): Selector {
    this.ws();
    if (this.pos === this.s.length) return { op: 'all' };
    const e = this.or();
    this.ws();
    if (this.pos !== this.s.length) throw new SelectorError(`unexpected '${this.s[this.pos]}'`, this.pos);
    return e;
  }

  private ws(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos])) this.pos++;
  }
  private eat(tok: string): boolean {
    this.ws();
    if (this.s.startsWith(tok, this.pos)) {
      this.pos += tok.length;
      return true;
    }
    return false;
  }
  private expect(tok: string): void {
    if (!this.eat(tok)) throw new SelectorError(`expected '${tok}'`, this.pos);
  }
  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw new SelectorError(`nesting deeper than ${MAX_DEPTH}`, this.pos);
  }

  private or(): Selector {
    const exprs = [this.and()];
    while (this.eat('||')) exprs.push(this.and());
    return exprs.length === 1 ? exprs[0] : { op: 'or', exprs };
  }
  private and(): Selector {
    const exprs = [this.unary()];
    while (this.eat('&&')) exprs.push(this.unary());
    return exprs.length === 1 ? exprs[0] : { op: 'and', exprs };
  }
  private unary(): Selector {
    this.ws();
    // '!' but not '!=' (which cannot start a term anyway).
    if (this.s[this.pos] === '!' && this.s[this.pos + 1] !== '=') {
      this.pos++;
      this.enter();
      const expr = this.unary();
      this.depth--;
      return { op: 'not', expr };
    }
    return this.primary();
  }
  private primary(): Selector {
    this.ws();
    if (this.eat('(')) {
      this.enter();
      const e = this.or();
      this.expect(')');
      this.depth--;
      return e;
    }
    const key = this.key();
    if (key === 'all' && this.eat('(')) {
      this.expect(')');
      return { op: 'all' };
    }
    if (key === 'has' && this.eat('(')) {
      const k = this.key();
      this.expect(')');
      return { op: 'has', key: k };
    }
    if (this.eat('==')) return { op: 'eq', key, value: this.value() };
    if (this.eat('!=')) return { op: 'ne', key, value: this.value() };
    if (this.word('in')) return { op: 'in', key, values: this.set() };
    if (this.word('not')) {
      if (!this.word('in')) throw new SelectorError("expected 'in' after 'not'", this.pos);
      return { op: 'notin', key, values: this.set() };
    }
    this.ws();
    throw new SelectorError(`expected an operator after '${key}'`, this.pos);
  }
  /** A keyword followed by a non-key character (so "inside" is not "in" + "side"). */
  private word(w: string): boolean {
    this.ws();
    if (!this.s.startsWith(w, this.pos)) return false;
    const next = this.s[this.pos + w.length];
    if (next !== undefined && /[A-Za-z0-9._/-]/.test(next)) return false;
    this.pos += w.length;
    return true;
  }
  private key(): string {
    this.ws();
    KEY_RE.lastIndex = this.pos;
    const m = KEY_RE.exec(this.s);
    if (!m) throw new SelectorError('expected a label key', this.pos);
    this.pos += m[0].length;
    return m[0];
  }
  private value(): string {
    this.ws();
    const q = this.s[this.pos];
    if (q !== "'" && q !== '"') throw new SelectorError('expected a quoted value', this.pos);
    const end = this.s.indexOf(q, this.pos + 1);
    if (end < 0) throw new SelectorError('unterminated string', this.pos);
    const v = this.s.slice(this.pos + 1, end);
    this.pos = end + 1;
    return v;
  }
  private set(): string[] {
    this.expect('{');
    const values: string[] = [];
    if (this.eat('}')) return values;
    do values.push(this.value());
    while (this.eat(','));
    this.expect('}');
    return [...new Set(values)].sort();
  }
}

/** Parses a selector expression; throws SelectorError (code K8S_ERR_BAD_SELECTOR). */
export function parseSelector(s: string): Selector {
  if (s.length > MAX_SELECTOR_LENGTH) throw new SelectorError(`selector longer than ${MAX_SELECTOR_LENGTH} characters`, MAX_SELECTOR_LENGTH);
  return new Parser(s).parse();
}

export function matchSelector(sel: Selector, labels: Readonly<Record<string, string>>): boolean {
  switch (sel.op) {
    case 'all':
      return true;
    case 'has':
      return Object.hasOwn(labels, sel.key);
    case 'eq':
      return Object.hasOwn(labels, sel.key) && labels[sel.key] === sel.value;
    case 'ne':
      return !Object.hasOwn(labels, sel.key) || labels[sel.key] !== sel.value;
    case 'in':
      return Object.hasOwn(labels, sel.key) && sel.values.includes(labels[sel.key]);
    case 'notin':
      return !Object.hasOwn(labels, sel.key) || !sel.values.includes(labels[sel.key]);
    case 'not':
      return !matchSelector(sel.expr, labels);
    case 'and':
      return sel.exprs.every((e) => matchSelector(e, labels));
    case 'or':
      return sel.exprs.some((e) => matchSelector(e, labels));
  }
}

/** Canonical text of a parsed selector (round-trips through parseSelector). */
export function formatSelector(sel: Selector): string {
  const q = (v: string) => (v.includes("'") ? `"${v}"` : `'${v}'`);
  switch (sel.op) {
    case 'all':
      return 'all()';
    case 'has':
      return `has(${sel.key})`;
    case 'eq':
      return `${sel.key} == ${q(sel.value)}`;
    case 'ne':
      return `${sel.key} != ${q(sel.value)}`;
    case 'in':
      return `${sel.key} in {${sel.values.map(q).join(', ')}}`;
    case 'notin':
      return `${sel.key} not in {${sel.values.map(q).join(', ')}}`;
    case 'not':
      return `!${sel.expr.op === 'and' || sel.expr.op === 'or' || sel.expr.op === 'eq' || sel.expr.op === 'ne' || sel.expr.op === 'in' || sel.expr.op === 'notin' ? `(${formatSelector(sel.expr)})` : formatSelector(sel.expr)}`;
    case 'and':
      return sel.exprs.map((e) => (e.op === 'or' ? `(${formatSelector(e)})` : formatSelector(e))).join(' && ');
    case 'or':
      return sel.exprs.map(formatSelector).join(' || ');
  }
}
