// verify.js — the user's inclusion check of a `cloister-por-v1` proof of
// reserves (docs/por.md §9 "verify-inclusion", steps 1–5), in plain JS over
// @noble/curves (BLS12-381 G1, RFC 9380 hash-to-curve) and @noble/hashes
// (SHA-256). It has no DOM code, so the page (app.js) and Node (the tests in
// tests/e2e/js) import the same file.
//
// Everything here follows docs/por.md: encodings (§2), generators (§2),
// leaves, nodes and the statement digest (§4), file fields (§8). Untrusted
// input is decoded strictly: lower-case hex of the exact length, canonical
// scalars (< r), canonical subgroup-checked points, decimal strings for big
// integers. Nothing is sent anywhere: the proof files never leave the caller.
//
// API: verifyInclusion(userProof, finalProof) -> report, where each argument
// is the file's text (or an already parsed object) and the report is
//   { ok, failed: id of the first failing step or null,
//     steps: [{ id, title, status: 'pass'|'fail'|'info'|'skip', detail, reason }],
//     account: { user_hash, leaf_index, balances: [{symbol, balance, decimals, text}],
//                equity, equity_decimals, equity_text } | null,
//     published: { timestamp, tree_depth, padded_accounts, assets, root_hash } | null }
// Steps (ids): files (§9.1), account (§9.2, shown for the user to compare),
// equity and leaf (§9.3), path (§9.4), opening (§9.5). A step whose inputs
// could not be decoded is 'skip'; the independent steps still run when an
// earlier one fails, so the report says everything that is wrong.
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { sha256 } from '@noble/hashes/sha2.js';

export const VERSION = 'cloister-por-v1';
export const DST = 'CLOISTER-POR-V1_BLS12381G1_XMD:SHA-256_SSWU_RO_';
const Point = bls12_381.G1.Point;
export const R_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
const ascii = (s) => new TextEncoder().encode(s);

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
// 16-byte two's complement big-endian (for the totals T_a).
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
export const genAsset = (symbol) => gen(`cloister-por-v1/asset/${symbol}`, 0);

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
class Bad extends Error {}
const fail = (msg) => {
  throw new Bad(msg);
};

export function hexToBytes(s, len, what) {
  if (typeof s !== 'string') fail(`${what} is missing or not a string`);
  if (!/^([0-9a-f]{2})*$/.test(s)) fail(`${what} is not lower-case hex of whole bytes`);
  const n = s.length / 2;
  if (len !== undefined && n !== len) fail(`${what} has ${n} bytes, want ${len}`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
function decodePoint(s, what) {
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
function decodeScalar(s, what) {
  const v = bytesToBig(hexToBytes(s, 32, what));
  if (v >= R_ORDER) fail(`${what} is not a canonical scalar (>= r)`);
  return v;
}
function decimal(s, what, lo, hi) {
  if (typeof s !== 'string') fail(`${what} must be a decimal string (got ${JSON.stringify(s)})`);
  if (!/^(0|-?[1-9][0-9]*)$/.test(s)) fail(`${what} is not a decimal integer (got ${JSON.stringify(s)})`);
  const v = BigInt(s);
  if ((lo !== undefined && v < lo) || (hi !== undefined && v >= hi)) fail(`${what} is out of range (got ${s})`);
  return v;
}
function int(x, what, lo, hi) {
  if (!Number.isSafeInteger(x)) fail(`${what} must be an integer (got ${JSON.stringify(x)})`);
  if (x < lo || x > hi) fail(`${what} is out of range ${lo}..${hi} (got ${x})`);
  return x;
}
function obj(x, what) {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) fail(`${what} is missing or not an object`);
  return x;
}
function parse(text, what) {
  if (typeof text !== 'string') return obj(text, what);
  let v;
  try {
    v = JSON.parse(text);
  } catch (e) {
    fail(`${what} is not valid JSON (${e.message}); is the file complete?`);
  }
  const dup = duplicateKey(text);
  if (dup !== null) fail(`${what}: the key ${JSON.stringify(dup)} appears twice in one object`);
  return obj(v, what);
}

// JSON.parse keeps the last of two equal keys silently; a proof file must not
// be read two ways, so (as the C verifier, with jansson's
// JSON_REJECT_DUPLICATES) such a file is refused. `text` is valid JSON here,
// so a scan of strings and brackets suffices. Returns the key or null.
function duplicateKey(text) {
  const stack = []; // per open bracket: a Set of keys (object) or null (array)
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1));
        if (top.has(key)) return key;
        top.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      stack.push(null);
      expectKey = false;
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return null;
}

const INT64_MIN = -(1n << 63n);
const INT64_END = 1n << 63n;

// final_proof.json -> the public statement, checked as §9 verify step 1 says.
// A field that cannot be decoded throws; a decoded value that is inconsistent
// (weight, total_equity, equity_decimals) is listed in `problems`, so the
// other steps can still run and say what else is wrong.
export function decodeFinalProof(f) {
  obj(f, 'final_proof.json');
  const problems = [];
  if (f.version !== VERSION) fail(`final_proof.json: version is ${JSON.stringify(f.version)}, want "${VERSION}"`);
  const timestamp = int(f.timestamp, 'final_proof.json: timestamp', 0, Number.MAX_SAFE_INTEGER);
  const par = obj(f.parameters, 'final_proof.json: parameters');
  const m = int(par.tree_depth, 'parameters.tree_depth', 1, 32);
  const N = 2 ** m;
  if (par.padded_accounts !== N) fail(`parameters.padded_accounts is ${par.padded_accounts}, want 2^tree_depth = ${N}`);
  const k = par.range_bits;
  if (k !== 64) fail(`parameters.range_bits is ${JSON.stringify(k)}, want 64`);
  const B = int(par.batch_size, 'parameters.batch_size', 1, Math.min(N, 1024));
  if (!Array.isArray(f.assets) || f.assets.length < 1 || f.assets.length > 1024)
    fail('final_proof.json: assets must be an array of 1..1024 assets');
  const assets = f.assets.map((a, i) => {
    const w = `assets[${i}]`;
    obj(a, w);
    if (typeof a.symbol !== 'string' || !/^[A-Za-z0-9._-]{1,32}$/.test(a.symbol))
      fail(`${w}.symbol must be 1..32 of A-Z a-z 0-9 . _ - (got ${JSON.stringify(a.symbol)})`);
    const s = `asset ${a.symbol}`;
    return {
      symbol: a.symbol,
      q: int(a.usdt_decimals, `${s}: usdt_decimals`, 0, 18),
      d: int(a.balance_decimals, `${s}: balance_decimals`, 0, 18),
      price: decimal(a.price, `${s}: price`, 1n, INT64_END),
      weight: decimal(a.weight, `${s}: weight`),
      total: decimal(a.total, `${s}: total`, -(1n << BigInt(63 + m)) + 1n, 1n << BigInt(63 + m)),
    };
  });
  for (let i = 1; i < assets.length; i++)
    if (!(assets[i - 1].symbol < assets[i].symbol)) // ASCII: UTF-16 order = byte order
      fail(`assets are not sorted by symbol and distinct (${assets[i - 1].symbol}, ${assets[i].symbol})`);
  const q = assets[0].q;
  const D = Math.max(...assets.map((a) => a.d));
  let totalEquity = 0n;
  for (const a of assets) {
    if (a.q !== q) fail(`asset ${a.symbol}: usdt_decimals ${a.q} differs from ${q} (must be equal for all assets)`);
    const w = a.price * 10n ** BigInt(D - a.d);
    if (a.weight !== w) problems.push(`asset ${a.symbol}: weight is ${a.weight}, want price·10^(D−d) = ${w}`);
    a.weight = w;
    totalEquity += w * a.total;
  }
  if (par.equity_decimals !== D + q)
    problems.push(`parameters.equity_decimals is ${JSON.stringify(par.equity_decimals)}, want D+q = ${D + q}`);
  const te = decimal(f.total_equity, 'final_proof.json: total_equity');
  if (te !== totalEquity) problems.push(`total_equity is ${te}, but Σ weight·total = ${totalEquity}`);
  if (te < 0n) problems.push(`total_equity ${te} is negative`);
  const R = decodeScalar(f.total_blinding, 'final_proof.json: total_blinding');
  const root = obj(f.root, 'final_proof.json: root');
  const rootHash = hexToBytes(root.hash, 32, 'final_proof.json: root.hash');
  const rootC = decodePoint(root.commitment, 'final_proof.json: root.commitment');
  const digest = hexToBytes(f.statement_digest, 32, 'final_proof.json: statement_digest');
  return { timestamp, m, N, k, B, q, D, assets, totalEquity, R, rootHash, rootC, digest, problems,
           rootHex: { hash: root.hash, commitment: root.commitment } };
}

// §4 "Statement digest".
export function statementDigest(st) {
  const parts = [u64be(st.timestamp), u8(st.m), u16be(st.k), u16be(st.B), u16be(st.assets.length)];
  for (const a of st.assets) {
    const sym = ascii(a.symbol);
    parts.push(u8(sym.length), sym, u8(st.q), u8(a.d), u64be(a.price), i128be(a.total));
  }
  parts.push(be(st.R, 32), st.rootHash, st.rootC.toBytes(true));
  return Ht('cloister-por-v1/statement', ...parts);
}

// user_proofs/<hash>.json -> decoded fields (balances in the statement's asset order).
export function decodeUserProof(u, st) {
  obj(u, 'user proof');
  if (u.version !== VERSION) fail(`user proof: version is ${JSON.stringify(u.version)}, want "${VERSION}"`);
  const userHash = hexToBytes(u.user_hash, undefined, 'user proof: user_hash');
  if (userHash.length < 1 || userHash.length > 64) fail(`user proof: user_hash has ${userHash.length} bytes, want 1..64`);
  const nonce = hexToBytes(u.nonce, 32, 'user proof: nonce');
  const leafIndex = int(u.leaf_index, 'user proof: leaf_index', 0, st.N - 1);
  const bal = obj(u.balances, 'user proof: balances');
  const names = Object.keys(bal);
  const published = new Set(st.assets.map((a) => a.symbol));
  const extra = names.filter((s) => !published.has(s));
  const missing = st.assets.map((a) => a.symbol).filter((s) => !Object.hasOwn(bal, s));
  if (extra.length || missing.length)
    fail('user proof: balances do not name exactly the published assets' +
         (extra.length ? `; not published: ${extra.join(', ')}` : '') +
         (missing.length ? `; missing: ${missing.join(', ')}` : ''));
  const balances = st.assets.map((a) => decimal(bal[a.symbol], `user proof: balance of ${a.symbol}`, INT64_MIN, INT64_END));
  const equity = decimal(u.equity, 'user proof: equity');
  const leaf = obj(u.leaf, 'user proof: leaf');
  const L = {
    id: hexToBytes(leaf.id, 32, 'user proof: leaf.id'),
    C: decodePoint(leaf.commitment, 'user proof: leaf.commitment'),
    V: decodePoint(leaf.equity_commitment, 'user proof: leaf.equity_commitment'),
    hash: hexToBytes(leaf.hash, 32, 'user proof: leaf.hash'),
  };
  if (!Array.isArray(u.path)) fail('user proof: path is missing or not an array');
  if (u.path.length !== st.m)
    fail(`user proof: path has ${u.path.length} entries, but the published tree_depth is ${st.m}`);
  const path = u.path.map((p, j) => {
    obj(p, `user proof: path[${j}]`);
    return { hash: hexToBytes(p.hash, 32, `user proof: path[${j}].hash`),
             C: decodePoint(p.commitment, `user proof: path[${j}].commitment`) };
  });
  const root = obj(u.root, 'user proof: root');
  hexToBytes(root.hash, 32, 'user proof: root.hash');
  decodePoint(root.commitment, 'user proof: root.commitment');
  hexToBytes(u.statement_digest, 32, 'user proof: statement_digest');
  return { userHash, nonce, leafIndex, balances, equity, leaf: L, path,
           rootHex: { hash: root.hash, commitment: root.commitment }, digestHex: u.statement_digest };
}

// ---------------------------------------------------------------- leaves and nodes (§4)
export function leafHash(id, L, V) {
  return Ht('cloister-por-v1/leaf', id, L.toBytes(true), V.toBytes(true));
}
export function nodeOf(l, r) {
  return { hash: Ht('cloister-por-v1/node', l.hash, l.C.toBytes(true), r.hash, r.C.toBytes(true)), C: l.C.add(r.C) };
}
export function leafId(userHash, nonce) {
  return Ht('cloister-por-v1/leaf-id', u8(userHash.length), userHash, nonce);
}

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

function isoTime(ms) {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ms} ms` : d.toISOString();
}

const TITLES = {
  files: '1. The two files agree',
  account: '2. Your account',
  equity: '3a. Your equity Σ weight·balance is non-negative',
  leaf: '3b. Your leaf is recomputed from your nonce',
  path: '4. The path reaches the published root',
  opening: '5. The root opens to the published totals',
};

// ---------------------------------------------------------------- the check (§9)
export function verifyInclusion(userProof, finalProof) {
  const steps = Object.keys(TITLES).map((id) => ({ id, title: TITLES[id], status: 'skip', detail: '', reason: '' }));
  const step = (id) => steps.find((s) => s.id === id);
  const report = { ok: false, failed: null, steps, account: null, published: null };
  const run = (id, fn) => {
    const s = step(id);
    try {
      const r = fn();
      s.status = r?.status ?? 'pass';
      s.detail = r?.detail ?? '';
    } catch (e) {
      s.status = 'fail';
      s.reason = e instanceof Bad ? e.message : `internal error: ${e?.message ?? e}`;
    }
  };

  // Step 1: both files parse and decode, and agree.
  let st = null, up = null;
  run('files', () => {
    const f = parse(finalProof, 'final_proof.json');
    const u = parse(userProof, 'user proof');
    if ('user_hash' in f && 'parameters' in u) fail('the two files are swapped: give your user proof first');
    st = decodeFinalProof(f);
    report.published = {
      timestamp: st.timestamp, tree_depth: st.m, padded_accounts: st.N, equity_decimals: st.D + st.q,
      total_equity: st.totalEquity.toString(), root_hash: st.rootHex.hash,
      assets: st.assets.map((a) => ({ symbol: a.symbol, total: a.total.toString(), text: formatUnits(a.total, a.d) })),
    };
    up = decodeUserProof(u, st);
    const problems = [...st.problems];
    if (bytesToHex(statementDigest(st)) !== bytesToHex(st.digest))
      problems.push('final_proof.json: statement_digest does not match the digest recomputed from its fields ' +
                    '(timestamp, parameters, assets, totals, total_blinding, root)');
    if (up.rootHex.hash !== st.rootHex.hash || up.rootHex.commitment !== st.rootHex.commitment)
      problems.push('the user proof names a different root than final_proof.json: they are not from the same proof');
    if (up.digestHex !== bytesToHex(st.digest))
      problems.push('the user proof names a different statement_digest than final_proof.json');
    if (problems.length) fail(problems.join('; '));
    return { detail: `snapshot ${isoTime(st.timestamp)}: ${st.assets.length} asset(s), ` +
                     `tree of ${st.N} leaves (depth ${st.m}), root ${st.rootHex.hash.slice(0, 16)}…` };
  });
  if (!up) {
    report.failed = 'files'; // not decodable: nothing below can run
    return report;
  }

  // Step 2: what the user compares with their account.
  const D = st.D, q = st.q;
  const equity = st.assets.reduce((acc, a, i) => acc + a.weight * up.balances[i], 0n);
  report.account = {
    user_hash: bytesToHex(up.userHash), leaf_index: up.leafIndex,
    balances: st.assets.map((a, i) => ({ symbol: a.symbol, balance: up.balances[i].toString(), decimals: a.d,
                                         text: formatUnits(up.balances[i], a.d) })),
    equity: equity.toString(), equity_decimals: D + q, equity_text: formatUnits(equity, D + q),
  };
  run('account', () => ({ status: 'info', detail: 'Compare your user hash and balances with your account.' }));

  // Step 3a: e = Σ w_a·b_a as an integer, in [0, 2^k).
  run('equity', () => {
    if (equity < 0n)
      fail(`your equity Σ weight·balance = ${formatUnits(equity, D + q)} USDT is negative: ` +
           'a proof of reserves must never contain such an account');
    if (equity >= 1n << BigInt(st.k)) fail(`your equity ${equity} is not below 2^${st.k}, the range-proved bound`);
    return { detail: `${formatUnits(equity, D + q)} USDT, in [0, 2^${st.k})` };
  });

  // Step 3b: η, γ from the nonce; L, V, id and the leaf hash equal the leaf's
  // fields (and the file's `equity` is the one the balances give).
  run('leaf', () => {
    const eta = Hs('cloister-por-v1/blinding', up.nonce);
    const gamma = Hs('cloister-por-v1/equity-blinding', up.nonce);
    let L = mul(genH(), eta);
    st.assets.forEach((a, i) => {
      L = L.add(mul(genAsset(a.symbol), up.balances[i]));
    });
    const V = mul(genG(), equity).add(mul(genH(), gamma));
    const id = leafId(up.userHash, up.nonce);
    const bad = [];
    if (pointToHex(L) !== pointToHex(up.leaf.C)) bad.push('the balance commitment L (balances or nonce differ from what was committed)');
    if (pointToHex(V) !== pointToHex(up.leaf.V)) bad.push('the equity commitment V');
    if (bytesToHex(id) !== bytesToHex(up.leaf.id)) bad.push('the leaf id (user hash or nonce differ: this leaf is not bound to your user hash)');
    if (up.equity !== equity) bad.push(`the stated equity ${up.equity} (your balances give ${equity})`);
    if (bad.length) fail(`recomputed from your balances and nonce, ${bad.join('; ')} ${bad.length > 1 ? 'do' : 'does'} not match the leaf`);
    const h = leafHash(id, L, V);
    if (bytesToHex(h) !== bytesToHex(up.leaf.hash)) fail('the leaf hash does not match Ht(leaf, id ‖ L ‖ V)');
    return { detail: `leaf ${up.leafIndex}: id, L, V and hash recomputed` };
  });

  // Step 4: walk up from the leaf; bit j of leaf_index says which side we are on.
  run('path', () => {
    let node = { hash: up.leaf.hash, C: up.leaf.C };
    up.path.forEach((sib, j) => {
      node = (up.leafIndex >>> j) & 1 ? nodeOf(sib, node) : nodeOf(node, sib);
    });
    if (bytesToHex(node.hash) !== bytesToHex(st.rootHash))
      fail('the path from your leaf does not reach the published root hash');
    if (pointToHex(node.C) !== st.rootHex.commitment)
      fail('the path from your leaf does not reach the published root commitment');
    return { detail: `${st.m} levels up to root ${st.rootHex.hash.slice(0, 16)}…` };
  });

  // Step 5: C_root == Σ_a T_a·G_a + R·H.
  run('opening', () => {
    let C = mul(genH(), st.R);
    for (const a of st.assets) C = C.add(mul(genAsset(a.symbol), a.total));
    if (pointToHex(C) !== st.rootHex.commitment)
      fail('the root commitment is not Σ total·G_asset + total_blinding·H: the published totals are not what the tree sums to');
    return { detail: 'the root commitment opens to the published totals, which include your balances' };
  });

  report.failed = steps.find((s) => s.status === 'fail')?.id ?? null;
  report.ok = report.failed === null && steps.every((s) => s.status === 'pass' || s.status === 'info');
  return report;
}
