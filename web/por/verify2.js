// verify2.js — the user's inclusion check of a `cloister-por-v2` proof of
// reserves (docs/por.md §6 files, §7 verify-inclusion, §8 warnings), the
// same check as `cloister por verify-inclusion`, with the same strictness:
// every listed field required, any other field refused, a key twice refused
// (json.js), integers must be JSON integers (`1.0`, `1e3` refused), decimal
// strings canonical, hex lower case of the exact length, scalars < r.
//
// Steps (ids):
//   files   both files parse; final_proof.json's own checks (§6: weights,
//           widths, k_eq, net = equity − debt, total net equity, range-proof
//           count, statement digest); the user proof names the same root and
//           digest, and exactly the published assets
//   account what the user compares with their account (info)
//   uid     with an account ID: Ht("cloister-por-v2/user", UTF-8 id) is the
//           proof's user_hash (info when no ID is given)
//   equity  each balance's equity and debt part fits its asset's published
//           range; net equity Σ w·(e − d) is in [0, 2^k_eq)
//   leaf    π, P, Q, the leaf id and hash recomputed from balances and nonce
//           equal the leaf's; the stated net_equity is the balances'
//   path    the path from the leaf reaches the published root hash
// Per-asset equity, debt and net totals and the warnings come from
// final_proof.json alone; that the totals are the sums over all leaves is
// what `cloister por verify` checks (range proofs and sums), not this.
import {
  Hs, Ht, ascii, bitlen, bytesToHex, concat, decimal, decodeScalar, exactFields, fail, formatUnits, genG,
  genH, hexToBytes, int, intBig, isoTime, mul, obj, parse, stepper, u16be, u64be, u8, be,
} from './common.js';

export const VERSION = 'cloister-por-v2';
const INT64_END = 1n << 63n;
const BAL_END = 1n << 127n;
const MAX_NET_BITS = 216;
const MAX_BATCH = 1024;
// JSON-number integers stay below 2^53 (larger ones are decimal strings, §6),
// so they are read exactly here; the C verifier has the same bound.
const JSON_INT_MAX = Number.MAX_SAFE_INTEGER;

// ---------------------------------------------------------------- parameters (§1, §5)
// k_eq = max(8, 8·⌈bitlen(W)/8⌉), W = Σ_a w_a·(2^k_a − 1); 0 if W needs more
// than 216 bits (as protocol2.c's por2_net_equity_bits).
export function netEquityBits(assets) {
  const W = assets.reduce((s, a) => s + a.weight * ((1n << BigInt(a.k)) - 1n), 0n);
  const bits = bitlen(W);
  if (bits > MAX_NET_BITS) return 0;
  return Math.max(8, Math.ceil(bits / 8) * 8);
}
// B_c = min(N, 1024, max(1, ⌊64·B / k_c⌋)); the count is Σ_c ⌈N / B_c⌉ over
// column 0 (width k_eq) and each asset's equity and debt columns (k_a).
export const columnBatch = (N, B, k) => Math.min(N, MAX_BATCH, Math.max(1, Math.floor((64 * B) / k)));
export function rangeCount(N, B, kEq, assets) {
  const batches = (k) => Math.ceil(N / columnBatch(N, B, k));
  return assets.reduce((s, a) => s + 2 * batches(a.k), batches(kEq));
}

// u = Ht("cloister-por-v2/user", UTF-8 account ID) (§9).
export const userHash = (uid) => Ht('cloister-por-v2/user', new TextEncoder().encode(uid));

// ---------------------------------------------------------------- final_proof.json (§6)
const FINAL_FIELDS = ['version', 'timestamp', 'parameters', 'assets', 'total_net_equity', 'root',
  'statement_digest', 'range_proofs', 'merkle_tree'];
const PARAM_FIELDS = ['tree_depth', 'padded_accounts', 'batch_size', 'equity_decimals', 'net_equity_bits'];
const ASSET_FIELDS = ['symbol', 'usdt_decimals', 'balance_decimals', 'price', 'weight', 'range_bits', 'equity',
  'debt', 'net', 'equity_blinding', 'debt_blinding'];

function decodeAsset(a, i, N) {
  exactFields(a, `final_proof.json: assets[${i}]`, ASSET_FIELDS);
  if (typeof a.symbol !== 'string' || !/^[A-Za-z0-9._-]{1,32}$/.test(a.symbol))
    fail(`final_proof.json: assets[${i}].symbol must be 1..32 of A-Z a-z 0-9 . _ - (got ${JSON.stringify(a.symbol)})`);
  const s = `final_proof.json: asset ${a.symbol}`;
  const k = int(a.range_bits, `${s}: range_bits`, 8, 128);
  if (k % 8) fail(`${s}: range_bits ${k} is not a multiple of 8`);
  const end = BigInt(N) << BigInt(k); // E_a, D_a < N·2^k_a
  return {
    symbol: a.symbol,
    q: int(a.usdt_decimals, `${s}: usdt_decimals`, 0, 18),
    d: int(a.balance_decimals, `${s}: balance_decimals`, 0, 18),
    price: decimal(a.price, `${s}: price`, 0n, INT64_END),
    weight: decimal(a.weight, `${s}: weight`, 0n),
    k,
    E: decimal(a.equity, `${s}: equity`, 0n, end),
    Dt: decimal(a.debt, `${s}: debt`, 0n, end),
    net: decimal(a.net, `${s}: net`),
    RE: decodeScalar(a.equity_blinding, `${s}: equity_blinding`),
    RD: decodeScalar(a.debt_blinding, `${s}: debt_blinding`),
  };
}

// final_proof.json -> the public statement. A field that cannot be decoded
// throws; a decoded value that is inconsistent is listed in `problems`, so the
// other steps still run and say what else is wrong.
export function decodeFinalProof2(f) {
  const F = 'final_proof.json';
  exactFields(f, F, FINAL_FIELDS);
  if (f.version !== VERSION) fail(`${F}: version is ${JSON.stringify(f.version)}, want "${VERSION}"`);
  const problems = [];
  const timestamp = intBig(f.timestamp, `${F}: timestamp`, 0, JSON_INT_MAX);
  const par = exactFields(f.parameters, `${F}: parameters`, PARAM_FIELDS);
  const m = int(par.tree_depth, 'parameters.tree_depth', 1, 32);
  const N = 2 ** m;
  if (intBig(par.padded_accounts, 'parameters.padded_accounts', 1, 2 ** 40) !== BigInt(N))
    fail(`parameters.padded_accounts is ${par.padded_accounts}, want 2^tree_depth = ${N}`);
  const B = int(par.batch_size, 'parameters.batch_size', 1, MAX_BATCH);
  const ed = int(par.equity_decimals, 'parameters.equity_decimals', 0, 36);
  const kEqGiven = int(par.net_equity_bits, 'parameters.net_equity_bits', 8, MAX_NET_BITS);
  if (!Array.isArray(f.assets) || f.assets.length < 1 || f.assets.length > 1024)
    fail(`${F}: assets must be an array of 1..1024 assets`);
  const assets = f.assets.map((a, i) => decodeAsset(a, i, N));
  for (let i = 1; i < assets.length; i++)
    if (!(assets[i - 1].symbol < assets[i].symbol)) // ASCII: UTF-16 order = byte order
      fail(`assets are not sorted by symbol and distinct (${assets[i - 1].symbol}, ${assets[i].symbol})`);
  const q = assets[0].q;
  const D = Math.max(...assets.map((a) => a.d));
  let totalNet = 0n;
  for (const a of assets) {
    if (a.q !== q) fail(`asset ${a.symbol}: usdt_decimals ${a.q} differs from ${q} (must be equal for all assets)`);
    const w = a.price * 10n ** BigInt(D - a.d);
    if (a.weight !== w) problems.push(`asset ${a.symbol}: weight is ${a.weight}, want price·10^(D−d) = ${w}`);
    a.weight = w;
    if (a.net !== a.E - a.Dt) problems.push(`asset ${a.symbol}: net is ${a.net}, want equity − debt = ${a.E - a.Dt}`);
    a.net = a.E - a.Dt;
    totalNet += w * a.net;
  }
  if (ed !== D + q) problems.push(`parameters.equity_decimals is ${ed}, want max balance_decimals + usdt_decimals = ${D + q}`);
  const kEq = netEquityBits(assets);
  if (kEq === 0) {
    const worst = assets.reduce((x, a) => (a.weight << BigInt(a.k) > x.weight << BigInt(x.k) ? a : x));
    fail(`asset ${worst.symbol}: weight ${worst.weight} with ${worst.k}-bit balances makes net equity need more ` +
         `than ${MAX_NET_BITS} bits`);
  }
  if (kEqGiven !== kEq) problems.push(`parameters.net_equity_bits is ${kEqGiven}, want ${kEq} (from the weights and range_bits)`);
  const tne = decimal(f.total_net_equity, `${F}: total_net_equity`);
  if (tne !== totalNet) problems.push(`total_net_equity is ${tne}, but Σ weight·net = ${totalNet}`);
  if (totalNet < 0n) problems.push(`the total net equity ${totalNet} is negative`);
  const root = exactFields(f.root, `${F}: root`, ['hash']);
  const rootHash = hexToBytes(root.hash, 32, `${F}: root.hash`);
  const digest = hexToBytes(f.statement_digest, 32, `${F}: statement_digest`);
  const rp = exactFields(f.range_proofs, `${F}: range_proofs`, ['count', 'sha256']);
  const count = intBig(rp.count, 'range_proofs.count', 0, JSON_INT_MAX);
  const want = rangeCount(N, B, kEq, assets);
  if (count !== BigInt(want)) problems.push(`range_proofs.count is ${count}, want Σ over columns ⌈N/B_c⌉ = ${want}`);
  hexToBytes(rp.sha256, 32, `${F}: range_proofs.sha256`);
  const mt = exactFields(f.merkle_tree, `${F}: merkle_tree`, ['bytes', 'sha256']);
  intBig(mt.bytes, 'merkle_tree.bytes', 0, JSON_INT_MAX);
  hexToBytes(mt.sha256, 32, `${F}: merkle_tree.sha256`);
  const st = { timestamp, m, N, B, q, D, kEq, assets, totalNet, rootHash, digest, problems,
               rootHex: root.hash, digestHex: f.statement_digest };
  if (bytesToHex(statementDigest2(st)) !== st.digestHex)
    problems.push(`${F}: statement_digest does not match the digest recomputed from its fields ` +
                  '(timestamp, parameters, assets, totals, blindings, root)');
  return st;
}

// §4 "stmt".
export function statementDigest2(st) {
  const parts = [u64be(st.timestamp), u8(st.m), u16be(st.B), u16be(st.kEq), u16be(st.assets.length)];
  for (const a of st.assets) {
    const sym = ascii(a.symbol);
    parts.push(u8(sym.length), sym, u8(st.q), u8(a.d), u64be(a.price), u16be(a.k),
               be(a.E, 32), be(a.Dt, 32), be(a.RE, 32), be(a.RD, 32));
  }
  parts.push(st.rootHash);
  return Ht('cloister-por-v2/statement', ...parts);
}

// §8: warnings do not fail verification.
export function warnings(st) {
  const out = [];
  for (const a of st.assets) {
    if (a.net <= 0n)
      out.push(`asset ${a.symbol}: customers owe the exchange as much ${a.symbol} as it owes them or more ` +
               `(equity ${a.E}, debt ${a.Dt}, net ${a.net})`);
    if (a.price === 0n)
      out.push(`asset ${a.symbol}: price 0 (its balances count for nothing in any account's net equity)`);
  }
  return out;
}

// ---------------------------------------------------------------- user proof (§6)
const USER_FIELDS = ['version', 'user_hash', 'nonce', 'leaf_index', 'balances', 'net_equity', 'leaf', 'path',
  'root', 'statement_digest'];

export function decodeUserProof2(u, st) {
  const U = 'user proof';
  exactFields(u, U, USER_FIELDS);
  if (u.version !== VERSION) fail(`${U}: version is ${JSON.stringify(u.version)}, want "${VERSION}"`);
  const uh = hexToBytes(u.user_hash, undefined, `${U}: user_hash`);
  if (uh.length < 1 || uh.length > 64) fail(`${U}: user_hash has ${uh.length} bytes, want 1..64`);
  const nonce = hexToBytes(u.nonce, 32, `${U}: nonce`);
  const leafIndex = int(u.leaf_index, `${U}: leaf_index`, 0, st.N - 1);
  const bal = obj(u.balances, `${U}: balances`);
  const names = Object.keys(bal);
  const published = new Set(st.assets.map((a) => a.symbol));
  const extra = names.filter((s) => !published.has(s));
  const missing = st.assets.map((a) => a.symbol).filter((s) => !Object.hasOwn(bal, s));
  if (extra.length || missing.length)
    fail(`${U}: balances do not name exactly the published assets` +
         (extra.length ? `; not published: ${extra.join(', ')}` : '') +
         (missing.length ? `; missing: ${missing.join(', ')}` : ''));
  const balances = st.assets.map((a) => decimal(bal[a.symbol], `${U}: balance of ${a.symbol}`, -BAL_END, BAL_END));
  const netEquity = decimal(u.net_equity, `${U}: net_equity`);
  const leaf = exactFields(u.leaf, `${U}: leaf`, ['id', 'hash']);
  const L = { id: hexToBytes(leaf.id, 32, `${U}: leaf.id`), hash: hexToBytes(leaf.hash, 32, `${U}: leaf.hash`) };
  if (!Array.isArray(u.path)) fail(`${U}: path is missing or not an array`);
  if (u.path.length !== st.m) fail(`${U}: path has ${u.path.length} entries, but the published tree_depth is ${st.m}`);
  const path = u.path.map((p, j) => hexToBytes(p, 32, `${U}: path[${j}]`));
  const root = exactFields(u.root, `${U}: root`, ['hash']);
  hexToBytes(root.hash, 32, `${U}: root.hash`);
  hexToBytes(u.statement_digest, 32, `${U}: statement_digest`);
  return { userHash: uh, nonce, leafIndex, balances, netEquity, leaf: L, path, rootHex: root.hash,
           digestHex: u.statement_digest };
}

// ---------------------------------------------------------------- leaves and nodes (§2, §3)
export const blinding = (nonce, a, s) => Hs('cloister-por-v2/blinding', concat(nonce, u16be(a), u8(s)));
export const leafId2 = (uh, nonce) => Ht('cloister-por-v2/leaf-id', u8(uh.length), uh, nonce);
export const nodeHash2 = (l, r) => Ht('cloister-por-v2/node', l, r);
export const parts = (b) => [b > 0n ? b : 0n, b < 0n ? -b : 0n];

// The §7 sentence: what a passing check establishes, and no more.
export const established = (i) =>
  `your balances, as listed, are committed in leaf ${i} of the tree whose root and per-asset totals are shown; ` +
  'that those totals are the sums of all leaves, with every balance part and every account\'s net equity ' +
  'non-negative, is what `cloister por verify` checks on the public files.';

const TITLES = {
  files: '1. The two files agree',
  account: '2. Your account',
  uid: '2b. The proof is for your account ID',
  equity: '3a. Your balances fit the published ranges and your net equity is non-negative',
  leaf: '3b. Your leaf is recomputed from your balances and nonce',
  path: '4. Your leaf is in the tree whose root and totals are shown',
};

function published(st) {
  const e = st.D + st.q;
  return {
    version: VERSION, timestamp: Number(st.timestamp), tree_depth: st.m, padded_accounts: st.N, batch_size: st.B,
    equity_decimals: e, net_equity_bits: st.kEq, root_hash: st.rootHex, statement_digest: st.digestHex,
    total_net_equity: st.totalNet.toString(), total_net_equity_text: formatUnits(st.totalNet, e),
    assets: st.assets.map((a) => ({
      symbol: a.symbol, decimals: a.d, price: a.price.toString(), price_text: formatUnits(a.price, st.q), range_bits: a.k,
      equity: a.E.toString(), debt: a.Dt.toString(), net: a.net.toString(),
      equity_text: formatUnits(a.E, a.d), debt_text: formatUnits(a.Dt, a.d), net_text: formatUnits(a.net, a.d),
    })),
  };
}

// ---------------------------------------------------------------- the check (§7)
export function verifyInclusion2(userProof, finalProof, { uid, mismatch } = {}) {
  const { report, run, finish } = stepper(TITLES, VERSION);
  report.established = '';
  let st = null, up = null;
  run('files', () => {
    const f = parse(finalProof, 'final_proof.json');
    const u = parse(userProof, 'user proof');
    if ('user_hash' in f && 'parameters' in u) fail('the two files are swapped: give your user proof first');
    if (mismatch) fail(mismatch);
    st = decodeFinalProof2(f);
    report.published = published(st);
    report.warnings = warnings(st);
    up = decodeUserProof2(u, st);
    const problems = [...st.problems];
    if (up.rootHex !== st.rootHex)
      problems.push('the user proof names a different root than final_proof.json: they are not from the same proof');
    if (up.digestHex !== st.digestHex)
      problems.push('the user proof names a different statement_digest than final_proof.json');
    if (problems.length) fail(problems.join('; '));
    return { detail: `snapshot ${isoTime(st.timestamp)}: ${st.assets.length} asset(s), ` +
                     `tree of ${st.N} leaves (depth ${st.m}), root ${st.rootHex.slice(0, 16)}…` };
  });
  if (!up) return finish();

  const ed = st.D + st.q;
  const split = up.balances.map(parts);
  const v = st.assets.reduce((s, a, i) => s + a.weight * up.balances[i], 0n);
  report.account = {
    user_hash: bytesToHex(up.userHash), leaf_index: up.leafIndex,
    balances: st.assets.map((a, i) => ({
      symbol: a.symbol, balance: up.balances[i].toString(), decimals: a.d, text: formatUnits(up.balances[i], a.d),
      equity_part: split[i][0].toString(), debt_part: split[i][1].toString(),
    })),
    equity: v.toString(), equity_decimals: ed, equity_text: formatUnits(v, ed),
  };
  run('account', () => ({ status: 'info', detail: 'Compare your user hash and balances with your account.' }));

  run('uid', () => {
    if (uid === undefined || uid === null || uid === '')
      return { status: 'info', detail: 'not checked: no account ID was given' };
    if (bytesToHex(userHash(uid)) !== bytesToHex(up.userHash)) fail(`this proof is not for account ${uid}`);
    return { detail: `user_hash = Ht("cloister-por-v2/user", "${uid}")` };
  });

  run('equity', () => {
    st.assets.forEach((a, i) => {
      if (split[i][0] >> BigInt(a.k) || split[i][1] >> BigInt(a.k))
        fail(`balance of ${a.symbol} does not fit the published ${a.k}-bit range`);
    });
    if (v < 0n)
      fail(`your net equity Σ weight·balance = ${formatUnits(v, ed)} USDT is negative: ` +
           'a proof of reserves must never contain such an account');
    if (v >> BigInt(st.kEq)) fail(`your net equity ${v} is not below 2^${st.kEq}, the range-proved bound`);
    return { detail: `net equity ${formatUnits(v, ed)} USDT, in [0, 2^${st.kEq}); every part within its asset's range` };
  });

  run('leaf', () => {
    const G = genG(), H = genH();
    const pts = [];
    st.assets.forEach((a, i) => {
      for (const s of [0, 1]) pts.push(mul(G, split[i][s]).add(mul(H, blinding(up.nonce, i, s))).toBytes(true));
    });
    const id = leafId2(up.userHash, up.nonce);
    const bad = [];
    if (bytesToHex(id) !== bytesToHex(up.leaf.id))
      bad.push('the leaf id (user hash or nonce differ: this leaf is not bound to your user hash)');
    else if (bytesToHex(Ht('cloister-por-v2/leaf', id, ...pts)) !== bytesToHex(up.leaf.hash))
      bad.push('the leaf hash (your balances or nonce differ from what was committed)');
    if (up.netEquity !== v) bad.push(`the stated net_equity ${up.netEquity} (your balances give ${v})`);
    if (bad.length) fail(`recomputed from your balances and nonce, ${bad.join('; ')} ${bad.length > 1 ? 'do' : 'does'} not match the leaf`);
    return { detail: `leaf ${up.leafIndex}: ${2 * st.assets.length} commitments, id and hash recomputed` };
  });

  run('path', () => {
    let h = up.leaf.hash;
    up.path.forEach((sib, j) => {
      h = (up.leafIndex >>> j) & 1 ? nodeHash2(sib, h) : nodeHash2(h, sib);
    });
    if (bytesToHex(h) !== st.rootHex) fail('the path from your leaf does not reach the published root hash');
    return { detail: established(up.leafIndex) };
  });
  const rep = finish();
  if (rep.ok) rep.established = established(up.leafIndex);
  return rep;
}
