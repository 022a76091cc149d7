/**
 * Parser of Consul's `filter` expressions: a hand-written PEG parser for the grammar of go-bexpr
 * v0.1.2 (grammar.peg, compiled there by pigeon), the version Consul's servers use. It follows the
 * grammar rule by rule, in the same order, so it accepts and refuses the same inputs, and it
 * reports errors the way pigeon does (peg.ts):
 *  - an error raised inside a rule (`Invalid number literal`, `Unmatched parentheses`, a bad escape
 *    in a string, …) reads `L:C (OFFSET): rule "<rule>": <message>`;
 *  - otherwise the farthest position reached and what was expected there:
 *    `L:C (OFFSET): no match found, expected: "==", [ \t\r\n] or EOF`.
 * Columns count code points from 1 and offsets count UTF-8 bytes from 0, as pigeon's do.
 */
import type { Expression, MatchOperator } from './ast';
import { PegMachine } from './peg';
import { unquote } from './unquote';

const WHITESPACE = /^[ \t\r\n]$/;
const LETTER = /^[a-zA-Z]$/;
const WORD = /^[a-zA-Z0-9_]$/;
const DIGIT = /^[0-9]$/;
const NONZERO = /^[1-9]$/;

/** Parses `source`; throws `FilterError` with pigeon's wording when it is not an expression. */
export function parseFilter(source: string): Expression {
  return new Parser(source).parse();
}

class Parser extends PegMachine {
  private readonly orMemo = new Map<number, { end: number; expr: Expression | null }>();

  parse(): Expression {
    return this.run(() => this.input());
  }

  private ws(): boolean {
    return this.rule('whitespace', () => {
      if (!this.cls(WHITESPACE, '[ \\t\\r\\n]')) return false;
      while (this.cls(WHITESPACE, '[ \\t\\r\\n]'));
      return true;
    });
  }

  /** `open _ inner _ close` (the grammar's `"(" _? OrExpression _? ")"` and `"[" _? StringLiteral _? "]"`). */
  private enclosed<T>(open: string, inner: () => T | null, close: string): T | null {
    if (!this.lit(open)) return null;
    this.ws();
    const value = inner();
    if (value === null) return null;
    this.ws();
    return this.lit(close) ? value : null;
  }

  private eof(): boolean {
    return this.notPred(() => this.any());
  }

  private input(): Expression | null {
    return this.rule('Input', () => {
      const first = this.attempt(() => {
        this.ws();
        if (!this.lit('(')) return null;
        this.ws();
        const e = this.or();
        if (!e) return null;
        this.ws();
        if (!this.lit(')')) return null;
        this.ws();
        return this.eof() ? e : null;
      });
      if (first) return first;
      return this.attempt(() => {
        this.ws();
        const e = this.or();
        if (!e) return null;
        this.ws();
        return this.eof() ? e : null;
      });
    });
  }

  private or(): Expression | null {
    const start = this.pos;
    const memo = this.orMemo.get(start);
    if (memo) {
      this.pos = memo.end;
      return memo.expr;
    }
    const expr = this.rule('OrExpression', () => this.binary('or', () => this.and()));
    this.orMemo.set(start, { end: expr ? this.pos : start, expr });
    if (!expr) this.pos = start;
    return expr;
  }

  private and(): Expression | null {
    return this.rule('AndExpression', () => this.binary('and', () => this.not()));
  }

  /**
   * `left _ "<word>" _ right / left`, right-recursive in the grammar; parsed here as a loop (the
   * same inputs, failures and right-leaning tree) so that long chains do not exhaust the stack.
   */
  private binary(word: 'and' | 'or', operand: () => Expression | null): Expression | null {
    const start = this.pos;
    const first = operand();
    if (!first) {
      this.pos = start;
      return null;
    }
    const operands = [first];
    for (;;) {
      const next = this.attempt(() => (this.ws() && this.lit(word) && this.ws() ? operand() : null));
      if (!next) break;
      operands.push(next);
    }
    return operands.reduceRight((right, left) => ({ kind: word, left, right }));
  }

  private not(): Expression | null {
    return this.rule('NotExpression', () => {
      const negated = this.attempt(() => {
        if (!this.lit('not') || !this.ws()) return null;
        const operand = this.not();
        if (!operand) return null;
        return operand.kind === 'not' ? operand.operand : ({ kind: 'not', operand } as const);
      });
      return negated ?? this.parenthesized();
    });
  }

  private parenthesized(): Expression | null {
    return this.rule('grouping', () => {
      const grouped = this.attempt(() => this.enclosed('(', () => this.or(), ')'));
      if (grouped) return grouped;
      const match = this.attempt(() => this.match());
      if (match) return match;
      this.attempt(() => {
        if (!this.lit('(')) return null;
        this.ws();
        if (!this.or()) return null;
        this.ws();
        return this.notPred(() => this.lit(')')) && this.raise('Unmatched parentheses');
      });
      return null;
    });
  }

  private match(): Expression | null {
    return this.rule('match', () => {
      const selectorOpValue = this.attempt(() =>
        this.rule('match', () => {
          const selector = this.selector();
          if (!selector) return null;
          const operator =
            this.symbolOp('==', 'Equal') ??
            this.symbolOp('!=', 'Not Equal') ??
            this.wordOp(['contains'], 'In') ??
            this.wordOp(['not', 'contains'], 'Not In') ??
            this.wordOp(['matches'], 'Matches') ??
            this.wordOp(['not', 'matches'], 'Not Matches');
          if (!operator) return null;
          const value = this.value();
          return value === null ? null : ({ kind: 'match', selector, operator, value } as const);
        }),
      );
      if (selectorOpValue) return selectorOpValue;
      const selectorOp = this.attempt(() =>
        this.rule('match', () => {
          const selector = this.selector();
          if (!selector) return null;
          const operator = this.wordOp(['is', 'empty'], 'Is Empty', false) ?? this.wordOp(['is', 'not', 'empty'], 'Is Not Empty', false);
          return operator ? ({ kind: 'match', selector, operator } as const) : null;
        }),
      );
      if (selectorOp) return selectorOp;
      return this.rule('match', () => {
        const valueOpSelector = this.attempt(() => {
          const value = this.value();
          if (value === null) return null;
          const operator = this.wordOp(['in'], 'In') ?? this.wordOp(['not', 'in'], 'Not In');
          if (!operator) return null;
          const selector = this.selector();
          return selector ? ({ kind: 'match', selector, operator, value } as const) : null;
        });
        if (valueOpSelector) return valueOpSelector;
        this.attempt(() => {
          if (this.value() === null) return null;
          if (!(this.wordOp(['in'], 'In') ?? this.wordOp(['not', 'in'], 'Not In'))) return null;
          return this.notPred(() => this.selector()) && this.raise('Invalid selector');
        });
        return null;
      });
    });
  }

  /** `_? "==" _?` */
  private symbolOp(symbol: string, operator: MatchOperator): MatchOperator | null {
    return this.attempt(() => {
      this.ws();
      if (!this.lit(symbol)) return null;
      this.ws();
      return operator;
    });
  }

  /** `_ "not" _ "in" _` (words separated and surrounded by whitespace; no trailing `_` when `trailing` is false). */
  private wordOp(words: readonly string[], operator: MatchOperator, trailing = true): MatchOperator | null {
    return this.attempt(() => {
      for (const word of words) if (!this.ws() || !this.lit(word)) return null;
      if (trailing && !this.ws()) return null;
      return operator;
    });
  }

  private selector(): string[] | null {
    return this.rule('selector', () =>
      this.attempt(() => {
        const first = this.identifier();
        if (first === null) return null;
        const parts = [first];
        for (;;) {
          const next = this.attempt(() => (this.lit('.') ? this.identifier() : null)) ?? this.index();
          if (next === null) break;
          parts.push(next);
        }
        return parts;
      }),
    );
  }

  private identifier(): string | null {
    return this.rule('Identifier', () =>
      this.attempt(() => {
        const start = this.pos;
        if (!this.cls(LETTER, '[a-zA-Z]')) return null;
        while (this.cls(WORD, '[a-zA-Z0-9_]'));
        return this.src.slice(start, this.pos);
      }),
    );
  }

  private index(): string | null {
    return this.rule('index', () => {
      const key = this.attempt(() => this.enclosed('[', () => this.string(), ']'));
      if (key !== null) return key;
      this.attempt(() => {
        if (!this.lit('[')) return null;
        this.ws();
        return this.notPred(() => this.string() !== null) && this.raise('Invalid index');
      });
      this.attempt(() => {
        if (!this.lit('[')) return null;
        this.ws();
        if (this.string() === null) return null;
        this.ws();
        return this.notPred(() => this.lit(']')) && this.raise('Unclosed index expression');
      });
      return null;
    });
  }

  private value(): string | null {
    return this.rule('value', () => {
      const selector = this.selector();
      if (selector) return selector.join('.');
      return this.number() ?? this.string();
    });
  }

  private number(): string | null {
    return this.rule('number', () => {
      const start = this.pos;
      const ok = this.attempt(() => {
        this.lit('-');
        return this.integerOrFloat() && this.andPred(() => this.afterNumbers());
      });
      if (ok) return this.src.slice(start, this.pos);
      this.attempt(() => {
        this.lit('-');
        return this.integerOrFloat() && this.notPred(() => this.afterNumbers()) && this.raise('Invalid number literal');
      });
      return null;
    });
  }

  private afterNumbers(): boolean {
    return this.rule('AfterNumbers', () => this.andPred(() => this.ws() || this.eof() || this.lit(')')));
  }

  private integerOrFloat(): boolean {
    return this.rule('IntegerOrFloat', () =>
      Boolean(
        this.attempt(() => {
          if (!this.lit('0')) {
            if (!this.cls(NONZERO, '[1-9]')) return null;
            while (this.cls(DIGIT, '[0-9]'));
          }
          this.attempt(() => {
            if (!this.lit('.') || !this.cls(DIGIT, '[0-9]')) return null;
            while (this.cls(DIGIT, '[0-9]'));
            return true;
          });
          return true;
        }),
      ),
    );
  }

  private string(): string | null {
    return this.rule('string', () => {
      const start = this.pos;
      const closed = this.attempt(() => this.quoted('`', true)) ?? this.attempt(() => this.quoted('"', true));
      if (closed !== null) {
        const literal = this.src.slice(start, this.pos);
        const value = unquote(literal);
        if (value === null) {
          this.errors.push({ at: start, text: 'rule "string": invalid syntax' });
          return '';
        }
        return value;
      }
      this.attempt(() => {
        if (this.attempt(() => this.quoted('`', false)) === null && this.attempt(() => this.quoted('"', false)) === null) return null;
        return this.eof() && this.raise('Unterminated string literal');
      });
      return null;
    });
  }

  /** `'q' (!'q' .)* 'q'` (the closing quote only when `closing`). */
  private quoted(q: string, closing: boolean): true | null {
    if (!this.lit(q)) return null;
    for (;;) {
      const save = this.pos;
      if (this.notPred(() => this.lit(q)) && this.any()) continue;
      this.pos = save;
      break;
    }
    return !closing || this.lit(q) ? true : null;
  }
}
