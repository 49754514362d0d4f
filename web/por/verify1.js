// verify1.js — the user's inclusion check of a `cloister-por-v1` proof of
// reserves (docs/por.md, v1 appendix: §9 "verify-inclusion", steps 1–5), kept
// so files made before v2 stay verifiable. verify.js picks it by the files'
// "version". As the C v1 verifier: unknown fields are ignored, but every
// field it reads is required with its exact type, including the equity link
// proof, range-proof and merkle-tree digests inclusion checks do not use
// (a file without them is not a v1 proof), and `1.0` is not an integer.
//
// Steps (ids): files (§9.1), account (§9.2, shown for the user to compare),
// equity and leaf (§9.3), path (§9.4), opening (§9.5). A step whose inputs
// could not be decoded is 'skip'; the independent steps still run when an
// earlier one fails, so the report says everything that is wrong.
import {
  Ht, Hs, ascii, be, bytesToHex, decimal, decodePoint, decodeScalar, fail, formatUnits, gen, genG, genH,
  hexToBytes, i128be, int, intBig, isoTime, mul, obj, parse, pointToHex, stepper, u16be, u64be, u8,
} from './common.js';

export const VERSION = 'cloister-por-v1';
export const genAsset = (symbol) => gen(`cloister-por-v1/asset/${symbol}`, 0);

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
  const timestamp = intBig(f.timestamp, 'final_proof.json: timestamp', 0, INT64_END - 1n);
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
  // Not read by inclusion checks, but part of every v1 final_proof.json (the C
  // verifier refuses a file without them): exact sizes, counts and hex.
  hexToBytes(f.equity_link_proof, 96 + 32 * (assets.length + 2), 'final_proof.json: equity_link_proof');
  const rp = obj(f.range_proofs, 'final_proof.json: range_proofs');
  const count = intBig(rp.count, 'range_proofs.count', 0, INT64_END - 1n);
  if (count !== BigInt(Math.ceil(N / B)))
    problems.push(`range_proofs.count is ${count}, want ceil(padded_accounts / batch_size) = ${Math.ceil(N / B)}`);
  hexToBytes(rp.sha256, 32, 'final_proof.json: range_proofs.sha256');
  const mt = obj(f.merkle_tree, 'final_proof.json: merkle_tree');
  intBig(mt.bytes, 'merkle_tree.bytes', 0, INT64_END - 1n);
  hexToBytes(mt.sha256, 32, 'final_proof.json: merkle_tree.sha256');
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

const TITLES = {
  files: '1. The two files agree',
  account: '2. Your account',
  equity: '3a. Your equity Σ weight·balance is non-negative',
  leaf: '3b. Your leaf is recomputed from your nonce',
  path: '4. The path reaches the published root',
  opening: '5. The root opens to the published totals',
};

// ---------------------------------------------------------------- the check (§9)
export function verifyInclusion1(userProof, finalProof, mismatch = null) {
  const { report, run, finish } = stepper(TITLES, VERSION);

  // Step 1: both files parse and decode, and agree.
  let st = null, up = null;
  run('files', () => {
    const f = parse(finalProof, 'final_proof.json');
    const u = parse(userProof, 'user proof');
    if ('user_hash' in f && 'parameters' in u) fail('the two files are swapped: give your user proof first');
    if (mismatch) fail(mismatch);
    st = decodeFinalProof(f);
    report.published = {
      version: VERSION, timestamp: Number(st.timestamp), tree_depth: st.m, padded_accounts: st.N, equity_decimals: st.D + st.q,
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
    return { detail: 'the root commitment opens to the published totals (v1 does not range-check each asset\'s balances: see docs/por.md)' };
  });

  return finish();
}
