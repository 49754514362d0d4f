// por_fixture.mjs — a test-vector generator for `cloister-por-v1` and
// `cloister-por-v2` inclusion proofs, written from the specifications alone
// (docs/por.md, /work POR2SPEC for v2; not from web/por/verify*.js), so the
// page's verifier can be tested before and independently of the C prover.
// makeProof is v1, makeProof2 v2 (see there).
//
// makeProof(ledger, opts) builds, for a tiny ledger (the §7 JSON shape, with
// balances as numbers, strings or BigInts), what `cloister por prove` would
// publish for inclusion checks: final_proof.json (every field §9 verify-inclusion
// reads; the equity link proof and range-proof digests are zero placeholders,
// which inclusion checks do not read) and user_proofs/<hash>.json, with fresh
// random nonces, dummy leaves (u = "", zero balances) padding to N = 2^m, and a
// random leaf order. It does NOT refuse what the prover refuses (negative
// equity): tests use that to build proofs a cheating prover could publish.
//
// CLI (at the end): writes OUTDIR/final_proof.json and OUTDIR/user_proofs/<hash>.json.
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { bls12_381 } from '../../../web/por/node_modules/@noble/curves/bls12-381.js';
import { sha256 } from '../../../web/por/node_modules/@noble/hashes/sha2.js';

const r = bls12_381.G1.Point.Fn.ORDER;
const ZERO = bls12_381.G1.Point.ZERO;
const DST = 'CLOISTER-POR-V1_BLS12381G1_XMD:SHA-256_SSWU_RO_';
const hex = (b) => Buffer.from(b).toString('hex');
const cat = (...a) => Buffer.concat(a.map((x) => Buffer.from(x)));
const txt = (s) => Buffer.from(s, 'ascii');

function beBytes(v, n) { // unsigned BigInt -> n bytes big-endian
  const b = Buffer.alloc(n);
  for (let i = n - 1; i >= 0; i--, v >>= 8n) b[i] = Number(v & 255n);
  return b;
}
const twos128 = (v) => beBytes(v < 0n ? (1n << 128n) + v : v, 16);
const tagged = (tag, x) => sha256(cat([txt(tag).length], txt(tag), x));
const hashScalar = (tag, x) =>
  BigInt('0x' + hex(cat(tagged(tag, cat(x, [0])), tagged(tag, cat(x, [1]))))) % r;

const gens = new Map();
function generator(label) {
  if (!gens.has(label)) gens.set(label, bls12_381.G1.hashToCurve(cat(txt(label), beBytes(0n, 4)), { DST }));
  return gens.get(label);
}
function times(P, k) {
  const v = ((BigInt(k) % r) + r) % r;
  return v === 0n ? ZERO : P.multiply(v);
}
const enc = (P) => hex(P.toBytes(true));

// Canonical asset order: bytewise by symbol.
function sortAssets(assets) {
  return Object.keys(assets).sort((a, b) => Buffer.compare(txt(a), txt(b)))
    .map((symbol) => ({ symbol, ...assets[symbol] }));
}

export function statementOf(final) {
  const n = final.assets.length;
  const parts = [beBytes(BigInt(final.timestamp), 8), [final.parameters.tree_depth],
    beBytes(BigInt(final.parameters.range_bits), 2), beBytes(BigInt(final.parameters.batch_size), 2),
    beBytes(BigInt(n), 2)];
  for (const a of final.assets) {
    parts.push([txt(a.symbol).length], txt(a.symbol), [a.usdt_decimals], [a.balance_decimals],
      beBytes(BigInt(a.price), 8), twos128(BigInt(a.total)));
  }
  parts.push(Buffer.from(final.total_blinding, 'hex'), Buffer.from(final.root.hash, 'hex'),
    Buffer.from(final.root.commitment, 'hex'));
  return hex(tagged('cloister-por-v1/statement', cat(...parts)));
}

// Recomputes what a forger can: total_equity and statement_digest of a
// (tampered) final proof, and the digest in the user proofs given.
export function restate(final, ...userProofs) {
  const D = Math.max(...final.assets.map((a) => a.balance_decimals));
  final.total_equity = final.assets
    .reduce((s, a) => s + BigInt(a.price) * 10n ** BigInt(D - a.balance_decimals) * BigInt(a.total), 0n).toString();
  final.statement_digest = statementOf(final);
  for (const u of userProofs) u.statement_digest = final.statement_digest;
}

export function makeProof(ledger, opts = {}) {
  const assets = sortAssets(ledger.assets);
  const q = assets[0].usdt_decimals;
  const D = Math.max(...assets.map((a) => a.balance_decimals));
  for (const a of assets) a.weight = BigInt(a.price) * 10n ** BigInt(D - a.balance_decimals);
  const users = Object.keys(ledger.accounts);
  let m = opts.depth ?? 1;
  while (2 ** m < users.length) m++;
  const N = 2 ** m;
  if (users.length > N) throw new Error(`${users.length} accounts do not fit in 2^${m} leaves`);
  const B = opts.batch_size ?? Math.min(N, 16);

  const slots = users.map((u) => ({ u, bal: assets.map((a) => BigInt(ledger.accounts[u][a.symbol])) }));
  while (slots.length < N) slots.push({ u: '', bal: assets.map(() => 0n) });
  if (opts.shuffle !== false) {
    for (let i = N - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [slots[i], slots[j]] = [slots[j], slots[i]];
    }
  }
  const Gv = generator('pedersen/G'), Hv = generator('pedersen/H');
  const leaves = slots.map((s) => {
    const nonce = randomBytes(32);
    const eta = hashScalar('cloister-por-v1/blinding', nonce);
    const gamma = hashScalar('cloister-por-v1/equity-blinding', nonce);
    const e = assets.reduce((acc, a, i) => acc + a.weight * s.bal[i], 0n);
    let L = times(Hv, eta);
    assets.forEach((a, i) => { L = L.add(times(generator(`cloister-por-v1/asset/${a.symbol}`), s.bal[i])); });
    const V = times(Gv, e).add(times(Hv, gamma));
    const uh = Buffer.from(s.u, 'hex');
    const id = tagged('cloister-por-v1/leaf-id', cat([uh.length], uh, nonce));
    const h = tagged('cloister-por-v1/leaf', cat(id, L.toBytes(true), V.toBytes(true)));
    return { ...s, nonce, eta, e, L, V, id, h };
  });
  // levels[0] = leaves, levels[m] = [root]
  const levels = [leaves.map((l) => ({ h: l.h, C: l.L }))];
  for (let j = 1; j <= m; j++) {
    const below = levels[j - 1], up = [];
    for (let i = 0; i < below.length; i += 2) {
      const [a, b] = [below[i], below[i + 1]];
      up.push({ h: tagged('cloister-por-v1/node', cat(a.h, a.C.toBytes(true), b.h, b.C.toBytes(true))), C: a.C.add(b.C) });
    }
    levels.push(up);
  }
  const root = levels[m][0];
  const totals = assets.map((_, i) => leaves.reduce((s, l) => s + l.bal[i], 0n));
  const R = leaves.reduce((s, l) => (s + l.eta) % r, 0n);
  const final = {
    version: 'cloister-por-v1',
    timestamp: ledger.timestamp,
    parameters: { tree_depth: m, padded_accounts: N, range_bits: 64, batch_size: B, equity_decimals: D + q },
    assets: assets.map((a, i) => ({
      symbol: a.symbol, usdt_decimals: a.usdt_decimals, balance_decimals: a.balance_decimals,
      price: String(a.price), weight: a.weight.toString(), total: totals[i].toString(),
    })),
    total_blinding: hex(beBytes(R, 32)),
    total_equity: '0',
    root: { hash: hex(root.h), commitment: enc(root.C) },
    statement_digest: '',
    equity_link_proof: '00'.repeat(96 + 32 * (assets.length + 2)), // placeholder: not read by inclusion checks
    range_proofs: { count: N / B, sha256: '00'.repeat(32) },     // placeholder
    merkle_tree: { bytes: 0, sha256: '00'.repeat(32) },          // placeholder
  };
  restate(final);
  const userProofs = {};
  leaves.forEach((l, idx) => {
    if (l.u === '') return;
    const path = [];
    for (let j = 0, i = idx; j < m; j++, i >>= 1) {
      const sib = levels[j][i ^ 1];
      path.push({ hash: hex(sib.h), commitment: enc(sib.C) });
    }
    userProofs[l.u] = {
      version: 'cloister-por-v1',
      user_hash: l.u.toLowerCase(),
      nonce: hex(l.nonce),
      leaf_index: idx,
      balances: Object.fromEntries(assets.map((a, i) => [a.symbol, l.bal[i].toString()])),
      equity: l.e.toString(),
      leaf: { id: hex(l.id), commitment: enc(l.L), equity_commitment: enc(l.V), hash: hex(l.h) },
      path,
      root: { ...final.root },
      statement_digest: final.statement_digest,
    };
  });
  return { final, userProofs, leaves };
}

// A small ledger: `accounts` users with random (optionally negative-equity) balances.
export function sampleLedger(accounts = 3, nassets = 3, { negativeEquityFor = -1 } = {}) {
  const table = [['BTC', 8, 2, 3700000], ['ETH', 4, 2, 200040], ['USDT', 6, 2, 100], ['XRP', 0, 2, 61]];
  const assets = Object.fromEntries(table.slice(0, nassets)
    .map(([s, d, q, p]) => [s, { usdt_decimals: q, balance_decimals: d, price: p }]));
  const acc = {};
  for (let i = 0; i < accounts; i++) {
    const bal = {};
    for (const s of Object.keys(assets)) bal[s] = String(randomInt(0, 1_000_000));
    if (i === negativeEquityFor) for (const s of Object.keys(assets)) bal[s] = String(-1 - randomInt(0, 1000));
    acc[hex(randomBytes(32))] = bal;
  }
  return { timestamp: 1700000000000, assets, accounts: acc };
}


// ================================================================ cloister-por-v2
// makeProof2(ledger, opts) builds what `cloister por prove` publishes for v2
// inclusion checks (POR2SPEC / docs/por.md v2 §2–§6): final_proof.json with
// every §6 field (range_proofs.sha256 and merkle_tree are placeholders: no
// range proofs are made, inclusion checks do not read them) and the user
// proofs. opts: depth (min tree depth), batch_size (default 480), shuffle,
// rangeBits {SYM: k} (default 64, or 128 when a part needs it), and, to build
// what a cheating prover could publish, forgeNegativePart: commit a negative
// balance b as an equity part e = b mod r with no debt part (the hidden-debt
// attack of issue 14). Like makeProof it refuses nothing.
const V2 = 'cloister-por-v2';
const beBig = (v, n) => beBytes(BigInt(v), n);

// u = Ht("cloister-por-v2/user", UTF-8 account ID), as hex.
export const userHashOf = (uid) => hex(tagged('cloister-por-v2/user', Buffer.from(uid, 'utf8')));

// k_eq: W = Σ w·(2^k − 1); max(8, 8·⌈bitlen(W)/8⌉).
export function netBitsOf(final) {
  const W = final.assets.reduce((s, a) => s + BigInt(a.weight) * ((1n << BigInt(a.range_bits)) - 1n), 0n);
  const bits = W === 0n ? 0 : W.toString(2).length;
  return Math.max(8, Math.ceil(bits / 8) * 8);
}
export function rangeCountOf(final) {
  const N = final.parameters.padded_accounts, B = final.parameters.batch_size;
  const batches = (k) => Math.ceil(N / Math.min(N, 1024, Math.max(1, Math.floor((64 * B) / k))));
  return final.assets.reduce((s, a) => s + 2 * batches(a.range_bits), batches(final.parameters.net_equity_bits));
}

export function statementOf2(final) {
  const p = final.parameters;
  const parts = [beBig(final.timestamp, 8), [p.tree_depth], beBig(p.batch_size, 2), beBig(p.net_equity_bits, 2),
    beBig(final.assets.length, 2)];
  for (const a of final.assets)
    parts.push([txt(a.symbol).length], txt(a.symbol), [a.usdt_decimals], [a.balance_decimals], beBig(a.price, 8),
      beBig(a.range_bits, 2), beBig(a.equity, 32), beBig(a.debt, 32), Buffer.from(a.equity_blinding, 'hex'),
      Buffer.from(a.debt_blinding, 'hex'));
  parts.push(Buffer.from(final.root.hash, 'hex'));
  return hex(tagged('cloister-por-v2/statement', cat(...parts)));
}

// What a forger recomputes after changing published numbers: weights, nets,
// total_net_equity, net_equity_bits, the range-proof count and the digest
// (also in the user proofs given).
export function restate2(final, ...userProofs) {
  const D = Math.max(...final.assets.map((a) => a.balance_decimals));
  let total = 0n;
  for (const a of final.assets) {
    a.weight = (BigInt(a.price) * 10n ** BigInt(D - a.balance_decimals)).toString();
    a.net = (BigInt(a.equity) - BigInt(a.debt)).toString();
    total += BigInt(a.weight) * BigInt(a.net);
  }
  final.total_net_equity = total.toString();
  final.parameters.equity_decimals = D + final.assets[0].usdt_decimals;
  final.parameters.net_equity_bits = netBitsOf(final);
  final.range_proofs.count = rangeCountOf(final);
  final.statement_digest = statementOf2(final);
  for (const u of userProofs) u.statement_digest = final.statement_digest;
}

export function makeProof2(ledger, opts = {}) {
  const assets = sortAssets(ledger.assets);
  const n = assets.length;
  const D = Math.max(...assets.map((a) => a.balance_decimals));
  const users = Object.keys(ledger.accounts);
  let m = opts.depth ?? 1;
  while (2 ** m < users.length) m++;
  const N = 2 ** m;
  const slots = users.map((u) => ({ u, bal: assets.map((a) => BigInt(ledger.accounts[u][a.symbol])) }));
  while (slots.length < N) slots.push({ u: '', bal: assets.map(() => 0n) });
  if (opts.shuffle !== false) {
    for (let i = N - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [slots[i], slots[j]] = [slots[j], slots[i]];
    }
  }
  const Gv = generator('pedersen/G'), Hv = generator('pedersen/H');
  const forge = !!opts.forgeNegativePart;
  const leaves = slots.map((s) => {
    const nonce = randomBytes(32);
    const e = s.bal.map((b) => (b > 0n || (forge && b < 0n) ? (b + r) % r : 0n));
    const d = s.bal.map((b) => (b < 0n && !forge ? -b : 0n));
    const pi = assets.map((_, a) => [0, 1].map((part) => hashScalar('cloister-por-v2/blinding',
      cat(nonce, beBytes(BigInt(a), 2), [part]))));
    const PQ = [];
    assets.forEach((_, a) => {
      PQ.push(times(Gv, e[a]).add(times(Hv, pi[a][0])), times(Gv, d[a]).add(times(Hv, pi[a][1])));
    });
    const uh = Buffer.from(s.u, 'hex');
    const id = tagged('cloister-por-v2/leaf-id', cat([uh.length], uh, nonce));
    const h = tagged('cloister-por-v2/leaf', cat(id, ...PQ.map((P) => P.toBytes(true))));
    return { ...s, nonce, e, d, pi, PQ, id, h };
  });
  const levels = [leaves.map((l) => l.h)];
  for (let j = 1; j <= m; j++) {
    const below = levels[j - 1], up = [];
    for (let i = 0; i < below.length; i += 2) up.push(tagged('cloister-por-v2/node', cat(below[i], below[i + 1])));
    levels.push(up);
  }
  const widths = assets.map((a, i) => {
    if (opts.rangeBits?.[a.symbol]) return opts.rangeBits[a.symbol];
    const big = leaves.some((l) => l.e[i] >= 1n << 64n || l.d[i] >= 1n << 64n);
    return big ? 128 : 64;
  });
  const sum = (f) => leaves.reduce((s, l) => s + f(l), 0n);
  const final = {
    version: V2,
    timestamp: ledger.timestamp,
    parameters: { tree_depth: m, padded_accounts: N, batch_size: opts.batch_size ?? 480, equity_decimals: 0,
                  net_equity_bits: 0 },
    assets: assets.map((a, i) => ({
      symbol: a.symbol, usdt_decimals: a.usdt_decimals, balance_decimals: a.balance_decimals, price: String(a.price),
      weight: '0', range_bits: widths[i],
      equity: (sum((l) => l.e[i]) % r).toString(), debt: sum((l) => l.d[i]).toString(), net: '0',
      equity_blinding: hex(beBytes(sum((l) => l.pi[i][0]) % r, 32)),
      debt_blinding: hex(beBytes(sum((l) => l.pi[i][1]) % r, 32)),
    })),
    total_net_equity: '0',
    root: { hash: hex(levels[m][0]) },
    statement_digest: '',
    range_proofs: { count: 0, sha256: '00'.repeat(32) }, // placeholder digest: no range proofs made
    merkle_tree: { bytes: 0, sha256: '00'.repeat(32) },  // placeholder
  };
  restate2(final);
  const weights = final.assets.map((a) => BigInt(a.weight));
  const userProofs = {};
  leaves.forEach((l, idx) => {
    if (l.u === '') return;
    userProofs[l.u] = {
      version: V2,
      user_hash: l.u.toLowerCase(),
      nonce: hex(l.nonce),
      leaf_index: idx,
      balances: Object.fromEntries(assets.map((a, i) => [a.symbol, l.bal[i].toString()])),
      net_equity: l.bal.reduce((s, b, i) => s + weights[i] * b, 0n).toString(),
      leaf: { id: hex(l.id), hash: hex(l.h) },
      path: Array.from({ length: m }, (_, j) => hex(levels[j][(idx >> j) ^ 1])),
      root: { ...final.root },
      statement_digest: final.statement_digest,
    };
  });
  return { final, userProofs, leaves, D };
}

// Serialises a proof's files into OUT (final_proof.json, user_proofs/<hash>.json).
export function writeProof(out, { final, userProofs }) {
  mkdirSync(join(out, 'user_proofs'), { recursive: true });
  writeFileSync(join(out, 'final_proof.json'), JSON.stringify(final, null, 1) + '\n');
  for (const [u, p] of Object.entries(userProofs))
    writeFileSync(join(out, 'user_proofs', `${u.toLowerCase()}.json`), JSON.stringify(p, null, 1) + '\n');
}

// CLI: node por_fixture.mjs LEDGER.json OUTDIR [--v1] [--depth M] [--batch B]
//      [--range-bits SYM=K]... [--forge-negative-part]
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const [ledgerPath, out] = args;
  const opt = (name) => { const i = args.indexOf(name); return i > 0 ? args[i + 1] : undefined; };
  const ledger = JSON.parse(readFileSync(ledgerPath, 'utf8'));
  const depth = opt('--depth') !== undefined ? Number(opt('--depth')) : undefined;
  const rangeBits = {};
  args.forEach((a, i) => {
    if (a === '--range-bits') {
      const [s, k] = args[i + 1].split('=');
      rangeBits[s] = Number(k);
    }
  });
  const proof = args.includes('--v1') ? makeProof(ledger, { depth })
    : makeProof2(ledger, { depth, rangeBits, forgeNegativePart: args.includes('--forge-negative-part'),
                           batch_size: opt('--batch') !== undefined ? Number(opt('--batch')) : undefined });
  writeProof(out, proof);
  console.log(JSON.stringify({ final: join(out, 'final_proof.json'), users: Object.keys(proof.userProofs) }));
}
