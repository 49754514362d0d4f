// json.js — a strict JSON reader for the proof files (RFC 8259), so the page
// reads a file exactly as the C verifier (jansson with JSON_REJECT_DUPLICATES)
// does, which JSON.parse cannot: JSON.parse silently keeps the last of two
// equal keys and turns `1.0`, `1e3` and `1` into the same number (and rounds
// integers above 2^53).
//
// parseJson(text) returns plain values, except that
//   - an integer literal (no fraction, no exponent) is a Number when it is a
//     safe integer and a BigInt otherwise (exact either way);
//   - a number with a fraction or an exponent is a NonInteger holding its text,
//     which every integer field refuses (as jansson's json_is_integer does);
//   - objects have a null prototype (a key "__proto__" is an ordinary key).
// It throws JsonError (with the line) on invalid JSON, a key twice in one
// object, "\u0000" in a string or a lone surrogate (both refused by jansson).
export class JsonError extends Error {}
export class NonInteger {
  constructor(text) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
}

const MAX_DEPTH = 64; // proof files nest 4 levels deep

export function parseJson(text) {
  let i = 0;
  const err = (msg) => {
    const line = text.slice(0, i).split('\n').length;
    throw new JsonError(`line ${line}: ${msg}`);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const expect = (c) => {
    if (text[i] !== c) err(i < text.length ? `'${c}' expected near '${text.slice(i, i + 8)}'` : 'unexpected end of input');
    i++;
  };
  function str() {
    expect('"');
    let out = '';
    for (;;) {
      if (i >= text.length) err('unexpected end of input in a string');
      const c = text[i++];
      if (c === '"') return out;
      if (c < ' ') err('control character in a string');
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[i++];
      const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e in simple) out += simple[e];
      else if (e === 'u') {
        const unit = () => {
          const h = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(h)) err('invalid \\u escape');
          i += 4;
          return parseInt(h, 16);
        };
        let u = unit();
        if (u === 0) err('\\u0000 is not allowed');
        if (u >= 0xdc00 && u <= 0xdfff) err('invalid Unicode escape (lone low surrogate)');
        if (u >= 0xd800 && u <= 0xdbff) {
          if (text.slice(i, i + 2) !== '\\u') err('invalid Unicode escape (lone high surrogate)');
          i += 2;
          const lo = unit();
          if (lo < 0xdc00 || lo > 0xdfff) err('invalid Unicode escape (bad surrogate pair)');
          u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        }
        out += String.fromCodePoint(u);
      } else err('invalid escape in a string');
    }
  }
  function num() {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 1100));
    if (!m) err(`invalid token near '${text.slice(i, i + 8)}'`);
    i += m[0].length;
    if (m[2] !== undefined || m[3] !== undefined) return new NonInteger(m[0]);
    const v = BigInt(m[0]);
    return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  function value(depth) {
    if (depth > MAX_DEPTH) err('nested too deeply');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const o = Object.create(null);
      ws();
      if (text[i] === '}') {
        i++;
        return o;
      }
      for (;;) {
        ws();
        const k = str();
        if (Object.hasOwn(o, k)) throw new JsonError(`duplicate key ${JSON.stringify(k)}`, { cause: k });
        ws();
        expect(':');
        o[k] = value(depth + 1);
        ws();
        if (text[i] === ',') i++;
        else {
          expect('}');
          return o;
        }
      }
    }
    if (c === '[') {
      i++;
      const a = [];
      ws();
      if (text[i] === ']') {
        i++;
        return a;
      }
      for (;;) {
        a.push(value(depth + 1));
        ws();
        if (text[i] === ',') i++;
        else {
          expect(']');
          return a;
        }
      }
    }
    if (c === '"') return str();
    for (const [lit, v] of [['true', true], ['false', false], ['null', null]])
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return v;
      }
    if (c === undefined) err('unexpected end of input');
    return num();
  }
  const v = value(0);
  ws();
  if (i < text.length) err('end of file expected');
  return v;
}
