// common.js — what both protocol versions' inclusion checks (verify1.js,
// verify2.js) share: byte encodings, tagged hashes, the Pedersen generators
// (docs/por.md §2), and strict decoding of untrusted fields (lower-case hex
// of the exact length, canonical scalars, canonical subgroup-checked points,
// canonical decimal strings, JSON integers that are integers). Files are read
// with json.js, never JSON.parse, so a key twice, `1.0` or `1e3` where an
// integer is expected are refused as the C verifier refuses them.
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { sha256 } from '@noble/hashes/sha2.js';

import { JsonError, NonInteger, parseJson } from './json.js';

export const DST = 'CLOISTER-POR-V1_BLS12381G1_XMD:SHA-256_SSWU_RO_';
export const Point = bls12_381.G1.Point;
export const R_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
export const ascii = (s) => new TextEncoder().encode(s);

// ---------------------------------------------------------------- bytes (§2)
export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// Fixed-width big-endian encoding of a non-negative BigInt (or number).
export function be(x, len) {
  let v = BigInt(x);
  if (v < 0n || v >= 1n << BigInt(8 * len)) throw new Error(`value ${v} does not fit in ${len} bytes`);
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
export const u8 = (x) => be(x, 1);
export const u16be = (x) => be(x, 2);
export const u32be = (x) => be(x, 4);
export const u64be = (x) => be(x, 8);
// 16-byte two's complement big-endian (v1's totals T_a).
export function i128be(x) {
  const v = BigInt(x);
  if (v < -(1n << 127n) || v >= 1n << 127n) throw new Error(`value ${v} does not fit in i128`);
  return be(v < 0n ? (1n << 128n) + v : v, 16);
}

export const bytesToHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
export function bytesToBig(b) {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}
export const mod = (x) => ((x % R_ORDER) + R_ORDER) % R_ORDER;
export const bitlen = (v) => (v <= 0n ? 0 : v.toString(2).length);

// ---------------------------------------------------------------- hashes (§2)
// Ht(tag, x) = SHA256(u8(len(tag)) ‖ tag ‖ x)
export function Ht(tag, ...parts) {
  const t = ascii(tag);
  return sha256(concat(u8(t.length), t, ...parts));
}
// Hs(tag, x) = OS2IP(Ht(tag, x ‖ 0x00) ‖ Ht(tag, x ‖ 0x01)) mod r
export function Hs(tag, x) {
  return mod(bytesToBig(concat(Ht(tag, x, Uint8Array.of(0)), Ht(tag, x, Uint8Array.of(1)))));
}

// ---------------------------------------------------------------- generators (§2)
// gen(label, i) = hash_to_curve(label ‖ u32be(i), DST). Hash-to-curve costs a
// few ms in JS, so every generator is computed once per page (or process).
const genCache = new Map();
export function gen(label, i = 0) {
  const key = `${label}\u0000${i}`;
  let p = genCache.get(key);
  if (!p) {
    p = bls12_381.G1.hashToCurve(concat(ascii(label), u32be(i)), { DST });
    genCache.set(key, p);
  }
  return p;
}
export const genG = () => gen('pedersen/G', 0);
export const genH = () => gen('pedersen/H', 0);

// k·P for any integer k (negative: −|k|·P), reduced mod r. Only public or the
// user's own values reach it, so the variable-time multiplication is fine.
export function mul(P, k) {
  let v = BigInt(k);
  if (v < 0n) return mul(P, -v).negate();
  v %= R_ORDER;
  return v === 0n ? Point.ZERO : P.multiplyUnsafe(v);
}
export const pointToHex = (P) => bytesToHex(P.toBytes(true));

// ---------------------------------------------------------------- strict decoding
export class Bad extends Error {}
export const fail = (msg) => {
  throw new Bad(msg);
};
const show = (x) =>
  x instanceof NonInteger || typeof x === 'bigint' ? String(x) : x === undefined ? 'nothing' : JSON.stringify(x);

export function hexToBytes(s, len, what) {
  if (typeof s !== 'string') fail(`${what} is missing or not a string`);
  if (!/^([0-9a-f]{2})*$/.test(s)) fail(`${what} is not lower-case hex of whole bytes`);
  const n = s.length / 2;
  if (len !== undefined && n !== len) fail(`${what} has ${n} bytes, want ${len}`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
export function decodePoint(s, what) {
  const b = hexToBytes(s, 48, what);
  let P;
  try {
    P = Point.fromBytes(b);
    P.assertValidity();
  } catch (e) {
    fail(`${what} is not a valid G1 point (${e.message})`);
  }
  if (pointToHex(P) !== s) fail(`${what} is not the canonical encoding of its point`);
  return P;
}
export function decodeScalar(s, what) {
  const v = bytesToBig(hexToBytes(s, 32, what));
  if (v >= R_ORDER) fail(`${what} is not a canonical scalar (>= r)`);
  return v;
}
// A canonical decimal string ("0" or -?[1-9][0-9]*, at most 77 digits) in [lo, hi).
export function decimal(s, what, lo, hi) {
  if (typeof s !== 'string') fail(`${what} must be a decimal string (got ${show(s)})`);
  if (!/^(0|-?[1-9][0-9]{0,76})$/.test(s)) fail(`${what} is not a decimal integer (got ${JSON.stringify(s.slice(0, 80))})`);
  const v = BigInt(s);
  if ((lo !== undefined && v < lo) || (hi !== undefined && v >= hi)) fail(`${what} is out of range (got ${s})`);
  return v;
}
// A JSON integer (not 1.0, not 1e3, not a string) in [lo, hi], as a BigInt.
export function intBig(x, what, lo, hi) {
  let v;
  if (typeof x === 'bigint') v = x;
  else if (typeof x === 'number' && Number.isSafeInteger(x)) v = BigInt(x);
  else fail(`${what} is missing or not an integer (got ${show(x)})`);
  if (v < BigInt(lo) || v > BigInt(hi)) fail(`${what} is out of range ${lo}..${hi} (got ${v})`);
  return v;
}
// The same, as a Number (hi must be a safe integer).
export const int = (x, what, lo, hi) => Number(intBig(x, what, lo, hi));

export function obj(x, what) {
  if (x === null || typeof x !== 'object' || Array.isArray(x) || x instanceof NonInteger)
    fail(`${what} is missing or not an object`);
  return x;
}
// An object with exactly the fields `names` (v2: every field required, any
// other refused).
export function exactFields(x, what, names) {
  obj(x, what);
  const missing = names.filter((k) => !Object.hasOwn(x, k));
  if (missing.length) fail(`${what}: missing field${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  const unknown = Object.keys(x).filter((k) => !names.includes(k));
  if (unknown.length) fail(`${what}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  return x;
}

// A file's bytes as UTF-8 text: invalid UTF-8 is refused and a byte-order
// mark is kept (and then refused by the JSON reader), as jansson does.
export function utf8(bytes, what) {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    fail(`${what} is not valid UTF-8`);
  }
}

// A file's bytes or text (or an already parsed object) -> its top-level object.
export function parse(text, what) {
  if (text instanceof Uint8Array) text = utf8(text, what);
  if (typeof text !== 'string') return obj(text, what);
  let v;
  try {
    v = parseJson(text);
  } catch (e) {
    if (!(e instanceof JsonError)) throw e;
    if (e.cause !== undefined) fail(`${what}: the key ${JSON.stringify(e.cause)} appears twice in one object`);
    fail(`${what} is not valid JSON (${e.message}); is the file complete?`);
  }
  return obj(v, what);
}

// ---------------------------------------------------------------- for people
// Decimal rendering of v·10^-d (balances, equity) for people.
export function formatUnits(v, d) {
  const neg = v < 0n;
  let s = (neg ? -v : v).toString();
  if (d > 0) {
    s = s.padStart(d + 1, '0');
    s = `${s.slice(0, -d)}.${s.slice(-d)}`;
  }
  return (neg ? '-' : '') + s;
}

export function isoTime(ms) {
  const d = new Date(Number(ms));
  return Number.isNaN(d.getTime()) ? `${ms} ms` : d.toISOString();
}

// Runs the steps of a check: `titles` maps step ids to titles; run(id, fn)
// sets the step's status from fn (pass unless it returns {status}; fail with
// the reason if it throws). finish() sets ok and failed.
export function stepper(titles, version) {
  const steps = Object.keys(titles).map((id) => ({ id, title: titles[id], status: 'skip', detail: '', reason: '' }));
  const report = { ok: false, failed: null, version, steps, account: null, published: null, warnings: [] };
  const run = (id, fn) => {
    const s = steps.find((x) => x.id === id);
    try {
      const r = fn();
      s.status = r?.status ?? 'pass';
      s.detail = r?.detail ?? '';
    } catch (e) {
      s.status = 'fail';
      s.reason = e instanceof Bad ? e.message : `internal error: ${e?.message ?? e}`;
    }
  };
  const finish = () => {
    report.failed = steps.find((s) => s.status === 'fail')?.id ?? null;
    report.ok = report.failed === null && steps.every((s) => s.status === 'pass' || s.status === 'info');
    return report;
  };
  return { report, run, finish };
}
