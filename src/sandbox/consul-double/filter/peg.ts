/**
 * The bookkeeping of a pigeon-generated PEG parser, which go-bexpr's grammar is compiled with:
 * literal, character-class and any-character matchers that record, at the farthest position any of
 * them failed, what was expected there (inverted inside `!…` predicates, where a match is a
 * failure); errors raised by code predicates with the rule they came from; and pigeon's error
 * texts and `line:col (offset)` positions (columns count code points from 1, offsets UTF-8 bytes).
 */
import { FilterError } from './ast';

interface RuleError {
  readonly at: number;
  readonly text: string;
}

export abstract class PegMachine {
  protected pos = 0;
  private maxFail = 0;
  private readonly expected = new Set<string>();
  private invert = false;
  protected readonly errors: RuleError[] = [];
  private readonly rules: string[] = [];

  constructor(protected readonly src: string) {}

  /** Runs the start rule; throws `FilterError` with pigeon's message when it fails or an error was raised. */
  protected run<T>(start: () => T | null): T {
    const result = start();
    if (this.errors.length > 0) {
      const texts = [...new Set(this.errors.map((e) => `${this.position(e.at)}: ${e.text}`))];
      throw new FilterError(texts.join('\n'));
    }
    if (result === null) {
      let eof = false;
      const list = [...this.expected].filter((w) => (w === '!.' ? ((eof = true), false) : true)).sort(byBytes);
      if (eof) list.push('EOF');
      throw new FilterError(`${this.position(this.maxFail)}: no match found, expected: ${listJoin(list)}`);
    }
    return result;
  }

  private failAt(ok: boolean, at: number, want: string): void {
    if (ok !== this.invert) return;
    if (at < this.maxFail) return;
    if (at > this.maxFail) {
      this.maxFail = at;
      this.expected.clear();
    }
    this.expected.add(this.invert ? `!${want}` : want);
  }

  protected lit(text: string): boolean {
    const start = this.pos;
    const ok = this.src.startsWith(text, start);
    this.failAt(ok, start, JSON.stringify(text));
    if (ok) this.pos += text.length;
    return ok;
  }

  protected cls(re: RegExp, shown: string): boolean {
    const start = this.pos;
    const ch = this.charAt(start);
    const ok = ch !== '' && re.test(ch);
    this.failAt(ok, start, shown);
    if (ok) this.pos += ch.length;
    return ok;
  }

  protected any(): boolean {
    const start = this.pos;
    const ch = this.charAt(start);
    this.failAt(ch !== '', start, '.');
    if (ch !== '') this.pos += ch.length;
    return ch !== '';
  }

  protected charAt(at: number): string {
    const cp = this.src.codePointAt(at);
    return cp === undefined ? '' : String.fromCodePoint(cp);
  }

  /** `!e`: succeeds when `e` fails; consumes nothing; expectations inside count inverted. */
  protected notPred(e: () => unknown): boolean {
    const save = this.pos;
    this.invert = !this.invert;
    const ok = Boolean(e());
    this.invert = !this.invert;
    this.pos = save;
    return !ok;
  }

  /** `&e`: succeeds when `e` does; consumes nothing. */
  protected andPred(e: () => unknown): boolean {
    const save = this.pos;
    const ok = Boolean(e());
    this.pos = save;
    return ok;
  }

  /** A `&{ return false, errors.New(message) }` code predicate: records the error and fails. */
  protected raise(message: string): false {
    const rule = this.rules[this.rules.length - 1];
    this.errors.push({ at: this.pos, text: `rule ${JSON.stringify(rule)}: ${message}` });
    return false;
  }

  protected rule<T>(name: string, body: () => T): T {
    this.rules.push(name);
    try {
      return body();
    } finally {
      this.rules.pop();
    }
  }

  /** Runs `e`; on failure puts the position back. */
  protected attempt<T>(e: () => T | null | false): T | null {
    const save = this.pos;
    const result = e();
    if (result === null || result === false) {
      this.pos = save;
      return null;
    }
    return result;
  }

  private position(at: number): string {
    let line = 1;
    let col = 0;
    let offset = 0;
    let i = 0;
    for (;;) {
      const ch = this.charAt(i);
      col += 1;
      if (ch === '\n') {
        line += 1;
        col = 0;
      }
      if (i >= at || ch === '') break;
      offset += Buffer.byteLength(ch);
      i += ch.length;
    }
    return `${line}:${col} (${offset})`;
  }
}

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function listJoin(list: readonly string[]): string {
  if (list.length <= 1) return list[0] ?? '';
  return `${list.slice(0, -1).join(', ')} or ${list[list.length - 1] ?? ''}`;
}
