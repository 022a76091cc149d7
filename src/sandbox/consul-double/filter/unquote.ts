/**
 * Go's strconv.Unquote, which go-bexpr applies to the string literals of filter expressions: for a
 * "…" or `…` literal, the text it stands for, or null where Go answers ErrSyntax.
 */
export function unquote(literal: string): string | null {
  if (literal.startsWith('`')) return literal.slice(1, -1).replace(/\r/g, '');
  const body = literal.slice(1, -1);
  if (body.includes('\n')) return null;
  let out = '';
  for (let i = 0; i < body.length; ) {
    const ch = body[i] ?? '';
    if (ch !== '\\') {
      out += ch;
      i += 1;
      continue;
    }
    const kind = body[i + 1];
    const simple: Readonly<Record<string, string>> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"' };
    if (kind !== undefined && simple[kind] !== undefined) {
      out += simple[kind];
      i += 2;
      continue;
    }
    const hex = (digits: number): number | null => {
      const text = body.slice(i + 2, i + 2 + digits);
      return text.length === digits && /^[0-9a-fA-F]+$/.test(text) ? parseInt(text, 16) : null;
    };
    if (kind === 'x') {
      const v = hex(2);
      if (v === null) return null;
      out += byteChar(v);
      i += 4;
      continue;
    }
    if (kind === 'u' || kind === 'U') {
      const digits = kind === 'u' ? 4 : 8;
      const v = hex(digits);
      if (v === null || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return null;
      out += String.fromCodePoint(v);
      i += 2 + digits;
      continue;
    }
    if (kind !== undefined && /[0-7]/.test(kind)) {
      const text = body.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(text)) return null;
      const v = parseInt(text, 8);
      if (v > 0xff) return null;
      out += byteChar(v);
      i += 4;
      continue;
    }
    return null;
  }
  return out;
}

/** A `\xHH` / `\ooo` escape is one byte in Go; above 0x7f it is no UTF-8 text and equals no record value. */
function byteChar(v: number): string {
  return v <= 0x7f ? String.fromCharCode(v) : '\ufffd';
}
