// por_fixture.mjs — a test-vector generator for `cloister-por-v1` inclusion
// proofs, written from docs/por.md alone (not from web/por/verify.js), so the
// page's verifier can be tested before and independently of the C prover.
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
// CLI: node por_fixture.mjs LEDGER.json OUTDIR [--depth M]
//      writes OUTDIR/final_proof.json and OUTDIR/user_proofs/<hash>.json.
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

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [ledgerPath, out] = process.argv.slice(2);
  const di = process.argv.indexOf('--depth');
  const { final, userProofs } = makeProof(JSON.parse(readFileSync(ledgerPath, 'utf8')),
    di > 0 ? { depth: Number(process.argv[di + 1]) } : {});
  mkdirSync(join(out, 'user_proofs'), { recursive: true });
  writeFileSync(join(out, 'final_proof.json'), JSON.stringify(final, null, 1) + '\n');
  for (const [u, p] of Object.entries(userProofs))
    writeFileSync(join(out, 'user_proofs', `${u.toLowerCase()}.json`), JSON.stringify(p, null, 1) + '\n');
  console.log(JSON.stringify({ final: join(out, 'final_proof.json'), users: Object.keys(userProofs) }));
}
