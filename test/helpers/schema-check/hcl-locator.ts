/**
 * Where things are in an HCL file: the block / attribute outline of its text with line numbers
 * and the syntax each was written in (`name = …` or `name { … }`), which the JSON from
 * hcl2json does not keep. Not a parser of expressions: it only skips them (strings, templates,
 * heredocs, comments and brackets), so the outline is trustworthy only for files HashiCorp's
 * parser (hcl2json) accepted first.
 */

export interface OutlineBody {
  /** attribute name → line (1-based). */
  readonly attributes: ReadonlyMap<string, number>;
  readonly blocks: readonly OutlineBlock[];
  /** Line of the closing brace (the last line for a file). */
  readonly endLine: number;
}

export interface OutlineBlock {
  readonly type: string;
  readonly labels: readonly string[];
  readonly line: number;
  readonly body: OutlineBody;
}

type TokenKind = 'ident' | 'string' | 'heredoc' | 'newline' | 'punct' | 'other';
interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly line: number;
}

export class OutlineError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
  }
}

function tokenize(file: string, text: string, comments: [number, number][] = []): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  const countLines = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (text[k] === '\n') line++;
  };

  /** From just after an opening `${`/`%{` to just after its `}`. */
  const skipInterpolation = (start: number): number => {
    let depth = 1;
    let k = start;
    while (k < text.length) {
      const c = text[k];
      if (c === '"') k = skipQuoted(k + 1);
      else if (c === '{') (depth++, k++);
      else if (c === '}') {
        depth--;
        k++;
        if (depth === 0) return k;
      } else k++;
    }
    throw new OutlineError(file, line, 'unterminated interpolation');
  };
  /** From just after an opening `"` to just after the closing one. */
  const skipQuoted = (start: number): number => {
    let k = start;
    while (k < text.length) {
      const c = text[k];
      if (c === '\\') k += 2;
      else if (c === '"') return k + 1;
      else if ((c === '$' || c === '%') && text[k + 1] === c && text[k + 2] === '{') k += 3;
      else if ((c === '$' || c === '%') && text[k + 1] === '{') k = skipInterpolation(k + 2);
      else k++;
    }
    throw new OutlineError(file, line, 'unterminated string');
  };

  while (i < text.length) {
    const c = text[i] ?? '';
    const start = i;
    const startLine = line;
    if (c === '\n') {
      tokens.push({ kind: 'newline', text: c, line });
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
      comments.push([start, i]);
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new OutlineError(file, line, 'unterminated comment');
      countLines(i, end + 2);
      i = end + 2;
      comments.push([start, i]);
    } else if (c === '"') {
      i = skipQuoted(i + 1);
      countLines(start, i);
      tokens.push({ kind: 'string', text: text.slice(start, i), line: startLine });
    } else if (c === '<' && text[i + 1] === '<' && /^<<-?[A-Za-z_][A-Za-z0-9_-]*\r?\n/.test(text.slice(i, i + 200))) {
      const header = /^<<-?([A-Za-z_][A-Za-z0-9_-]*)\r?\n/.exec(text.slice(i, i + 200));
      const marker = header?.[1] ?? '';
      let k = i + (header?.[0].length ?? 0);
      for (;;) {
        const eol = text.indexOf('\n', k);
        const content = text.slice(k, eol < 0 ? text.length : eol);
        if (content.trim() === marker) {
          k = eol < 0 ? text.length : eol;
          break;
        }
        if (eol < 0) throw new OutlineError(file, startLine, `unterminated heredoc ${marker}`);
        k = eol + 1;
      }
      countLines(i, k);
      i = k;
      tokens.push({ kind: 'heredoc', text: text.slice(start, i), line: startLine });
    } else if (/[A-Za-z_]/.test(c)) {
      while (i < text.length && /[A-Za-z0-9_-]/.test(text[i] ?? '')) i++;
      tokens.push({ kind: 'ident', text: text.slice(start, i), line });
    } else if ('{}[]()'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, line });
      i++;
    } else if (c === '=') {
      // `==` and `=>` are operators inside expressions, not the attribute's `=`.
      const two = text.slice(i, i + 2);
      const op = two === '==' || two === '=>' ? two : '=';
      tokens.push({ kind: op === '=' ? 'punct' : 'other', text: op, line });
      i += op.length;
    } else {
      tokens.push({ kind: 'other', text: c, line });
      i++;
    }
  }
  return tokens;
}

/** The text with every comment blanked out (line breaks kept, so offsets and lines still match). */
export function withoutComments(file: string, text: string): string {
  const comments: [number, number][] = [];
  tokenize(file, text, comments);
  let result = '';
  let at = 0;
  for (const [start, end] of comments) {
    result += text.slice(at, start) + text.slice(start, end).replace(/[^\n]/g, ' ');
    at = end;
  }
  return result + text.slice(at);
}

/** 1-based line of a character offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

const unquote = (token: Token): string => (token.kind === 'string' ? token.text.slice(1, -1) : token.text);

/** The outline of one HCL file (its top-level body). */
export function outlineHcl(file: string, text: string): OutlineBody {
  const tokens = tokenize(file, text);
  let i = 0;
  const lastLine = (text.match(/\n/g)?.length ?? 0) + 1;

  const skipExpression = (): void => {
    let depth = 0;
    while (i < tokens.length) {
      const token = tokens[i] as Token;
      if (depth === 0 && (token.kind === 'newline' || (token.kind === 'punct' && token.text === '}'))) return;
      if (token.kind === 'punct' && '{[('.includes(token.text)) depth++;
      else if (token.kind === 'punct' && '}])'.includes(token.text)) depth--;
      i++;
    }
  };

  const parseBody = (closed: boolean): OutlineBody => {
    const attributes = new Map<string, number>();
    const blocks: OutlineBlock[] = [];
    for (;;) {
      while (tokens[i]?.kind === 'newline') i++;
      const token = tokens[i];
      if (!token) {
        if (closed) throw new OutlineError(file, lastLine, 'missing }');
        return { attributes, blocks, endLine: lastLine };
      }
      if (token.kind === 'punct' && token.text === '}') {
        if (!closed) throw new OutlineError(file, token.line, 'unexpected }');
        i++;
        return { attributes, blocks, endLine: token.line };
      }
      if (token.kind !== 'ident') throw new OutlineError(file, token.line, `expected an attribute or block, found ${token.text}`);
      i++;
      if (tokens[i]?.kind === 'punct' && tokens[i]?.text === '=') {
        i++;
        attributes.set(token.text, token.line);
        skipExpression();
        continue;
      }
      const labels: string[] = [];
      while (tokens[i]?.kind === 'string' || tokens[i]?.kind === 'ident') labels.push(unquote(tokens[i++] as Token));
      if (!(tokens[i]?.kind === 'punct' && tokens[i]?.text === '{')) throw new OutlineError(file, token.line, `expected { after ${token.text}`);
      i++;
      blocks.push({ type: token.text, labels, line: token.line, body: parseBody(true) });
    }
  };
  return parseBody(false);
}
