// por_verify2.test.mjs — node:test tests of web/por/verify.js on
// `cloister-por-v2` proofs (docs/por.md v2 §6–§8) built by por_fixture.mjs's
// makeProof2 from the spec alone: round trips, each tampered field, missing
// and unknown fields, `1.0`/`1e3` where an integer is expected, duplicate
// keys, the account-ID check, the §8 warnings, the hidden-debt forgery of
// issue 14, ranges, and mixed versions. Run: node --test tests/e2e/js/por_verify2.test.mjs
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { test } from 'node:test';

import { makeProof, makeProof2, restate2, sampleLedger, statementOf2, userHashOf } from './por_fixture.mjs';
import * as V from '../../../web/por/verify.js';

const clone = (x) => structuredClone(x);
const check = (u, f, opts) => V.verifyInclusion(typeof u === 'string' ? u : JSON.stringify(u),
  typeof f === 'string' ? f : JSON.stringify(f), opts);
const status = (rep, id) => rep.steps.find((s) => s.id === id).status;
const reason = (rep, id) => rep.steps.find((s) => s.id === id).reason;

function accepts(rep) {
  assert.equal(rep.failed, null, `rejected at ${rep.failed}: ${rep.failed && reason(rep, rep.failed)}`);
  assert.equal(rep.ok, true);
  assert.equal(rep.version, 'cloister-por-v2');
}
function rejects(rep, id, match) {
  assert.equal(rep.ok, false, 'accepted a bad proof');
  assert.equal(status(rep, id), 'fail', `step ${id} is ${status(rep, id)}; failed: ${rep.failed} (${rep.failed && reason(rep, rep.failed)})`);
  if (match) assert.match(reason(rep, id), match);
}

// A v2 ledger: `accounts` users × `nassets` assets, every second user owing
// one asset (covered by the others), as the C prover accepts.
const TABLE = [['BTC', 8, 2, 3700000], ['ETH', 18, 2, 400000], ['USDT', 6, 2, 100]];
function ledger2(accounts, nassets, uids) {
  const assets = Object.fromEntries(TABLE.slice(0, nassets)
    .map(([s, d, q, p]) => [s, { usdt_decimals: q, balance_decimals: d, price: p }]));
  const acc = {};
  for (let i = 0; i < accounts; i++) {
    const bal = {};
    for (const s of Object.keys(assets)) bal[s] = String(randomInt(1, 1_000_000)) + (s === 'ETH' ? '000000000000000' : '');
    if (nassets > 1 && i % 2 === 1) bal.BTC = String(-randomInt(1, 1000));
    acc[uids ? userHashOf(uids[i]) : randomBytes(32).toString('hex')] = bal;
  }
  return { timestamp: 1700000000000, assets, accounts: acc };
}
const netOf = (fx, p) => fx.final.assets.reduce((s, a) => s + BigInt(a.weight) * BigInt(p.balances[a.symbol]), 0n);

const big = makeProof2(ledger2(3, 3, ['alice', 'bob', 'carol@example.com']), { depth: 3, batch_size: 4 });
const users = Object.values(big.userProofs);
const A = users.find((p) => BigInt(p.balances.BTC) < 0n) ?? users[0];
const alice = big.userProofs[userHashOf('alice')];

test('v2 round trips at 1, 2, 3 accounts × 1, 3 assets', () => {
  for (const accounts of [1, 2, 3])
    for (const nassets of [1, 3]) {
      const fx = makeProof2(ledger2(accounts, nassets));
      assert.equal(Object.keys(fx.userProofs).length, accounts);
      for (const [u, p] of Object.entries(fx.userProofs)) {
        const rep = check(p, fx.final);
        accepts(rep);
        assert.deepEqual(rep.steps.map((s) => s.status), ['pass', 'info', 'info', 'pass', 'pass', 'pass']);
        assert.equal(rep.account.user_hash, u);
        assert.equal(rep.account.equity, netOf(fx, p).toString());
        assert.equal(rep.account.equity, p.net_equity);
        assert.deepEqual(rep.account.balances.map((b) => b.balance), Object.values(p.balances));
        assert.match(rep.established, new RegExp(`^your balances, as listed, are committed in leaf ${p.leaf_index} of the tree`));
        assert.match(rep.established, /is what `cloister por verify` checks on the public files\.$/);
        assert.equal(rep.published.assets.length, nassets);
        for (const [i, a] of fx.final.assets.entries()) {
          const pa = rep.published.assets[i];
          assert.deepEqual([pa.symbol, pa.equity, pa.debt, pa.net], [a.symbol, a.equity, a.debt, a.net]);
          assert.equal(BigInt(a.net), BigInt(a.equity) - BigInt(a.debt));
        }
      }
      assert.equal(fx.final.statement_digest, statementOf2(fx.final));
    }
});

test('published totals are the honest sums, with debts as debt', () => {
  const rep = check(A, big.final);
  accepts(rep);
  const ledger = Object.values(big.userProofs);
  for (const a of rep.published.assets) {
    const bs = ledger.map((p) => BigInt(p.balances[a.symbol]));
    assert.equal(a.equity, bs.filter((b) => b > 0n).reduce((s, b) => s + b, 0n).toString());
    assert.equal(a.debt, bs.filter((b) => b < 0n).reduce((s, b) => s - b, 0n).toString());
  }
  assert.ok(BigInt(rep.published.assets[0].debt) > 0n, 'the ledger has a BTC debt');
  assert.equal(rep.published.net_equity_bits, big.final.parameters.net_equity_bits);
  assert.deepEqual(rep.warnings, []);
});

test('the account ID check', () => {
  accepts(check(alice, big.final, { uid: 'alice' }));
  assert.equal(status(check(alice, big.final, { uid: 'alice' }), 'uid'), 'pass');
  assert.equal(status(check(alice, big.final), 'uid'), 'info');
  assert.equal(status(check(alice, big.final, { uid: '' }), 'uid'), 'info');
  const carol = big.userProofs[userHashOf('carol@example.com')];
  accepts(check(carol, big.final, { uid: 'carol@example.com' }));
  for (const wrong of ['bob', 'Alice', 'alice ', 'carol@example.com'])
    rejects(check(alice, big.final, { uid: wrong }), 'uid', new RegExp(`this proof is not for account ${wrong}`));
  assert.equal(V.bytesToHex(V.userHash('alice')), userHashOf('alice'));
  assert.equal(V.bytesToHex(V.userHash('é')), userHashOf('é')); // UTF-8
});

test('a changed balance or net_equity is rejected at the leaf', () => {
  for (const sym of ['BTC', 'ETH', 'USDT'])
    for (const delta of [1n, -1n, 10n ** 20n]) {
      const u = clone(A);
      u.balances[sym] = (BigInt(u.balances[sym]) + delta).toString();
      const w = BigInt(big.final.assets.find((a) => a.symbol === sym).weight);
      u.net_equity = (BigInt(u.net_equity) + w * delta).toString(); // made to agree
      const rep = check(u, big.final);
      rejects(rep, 'leaf', /leaf hash/);
    }
  const u = clone(A);
  u.net_equity = (BigInt(u.net_equity) + 1n).toString();
  rejects(check(u, big.final), 'leaf', /stated net_equity/);
  // a debt shown as no balance at all, or as equity
  const v = clone(A);
  v.balances.BTC = '0';
  rejects(check(v, big.final), 'leaf');
  v.balances.BTC = (-BigInt(A.balances.BTC)).toString();
  rejects(check(v, big.final), 'leaf');
});

test('each tampered user-proof field is rejected', () => {
  const other = users.find((p) => p !== A);
  const cases = [
    [(u) => { u.user_hash = other.user_hash; }, 'leaf', /leaf id/],
    [(u) => { u.nonce = other.nonce; }, 'leaf'],
    [(u) => { u.leaf.id = other.leaf.id; }, 'leaf', /leaf id/],
    [(u) => { u.leaf.hash = other.leaf.hash; }, 'leaf'],
    [(u) => { u.leaf_index ^= 1; }, 'path'],
    [(u) => { u.path.reverse(); }, 'path'],
    [(u) => { u.path[0] = '11'.repeat(32); }, 'path'],
    [(u) => { u.root.hash = '00'.repeat(32); }, 'files', /different root/],
    [(u) => { u.statement_digest = '00'.repeat(32); }, 'files', /different statement_digest/],
    [(u) => { u.path.pop(); }, 'files', /path has/],
    [(u) => { u.leaf_index = 8; }, 'files', /leaf_index/],
    [(u) => { u.balances.BTC = '1.5'; }, 'files', /balance of BTC/],
    [(u) => { u.balances.BTC = Number(u.balances.BTC); }, 'files', /balance of BTC/],
    [(u) => { u.balances.BTC = (2n ** 127n).toString(); }, 'files', /balance of BTC/],
    [(u) => { u.balances.BTC = '-0'; }, 'files', /balance of BTC/],
    [(u) => { u.balances.DOGE = '1'; }, 'files', /not published: DOGE/],
    [(u) => { delete u.balances.ETH; }, 'files', /missing: ETH/],
    [(u) => { u.user_hash = u.user_hash.toUpperCase(); }, 'files', /user_hash/],
    [(u) => { u.version = 'cloister-por-v3'; }, 'files', /version/],
  ];
  for (const [i, [mutate, id, match]] of cases.entries()) {
    const u = clone(A);
    mutate(u);
    const rep = check(u, big.final);
    assert.equal(rep.ok, false, `case ${i} accepted`);
    rejects(rep, id, match);
  }
});

test('a flipped bit in any hex field the check reads is rejected', () => {
  const fields = [['user', ['user_hash']], ['user', ['nonce']], ['user', ['leaf', 'id']], ['user', ['leaf', 'hash']],
    ['user', ['root', 'hash']], ['user', ['statement_digest']], ['final', ['root', 'hash']],
    ['final', ['statement_digest']], ...A.path.map((_, j) => ['user', ['path', j]])];
  big.final.assets.forEach((_, i) => fields.push(['final', ['assets', i, 'equity_blinding']],
    ['final', ['assets', i, 'debt_blinding']]));
  for (const [which, path] of fields) {
    const u = clone(A), f = clone(big.final);
    const o = path.slice(0, -1).reduce((x, k) => x[k], which === 'user' ? u : f);
    const k = path.at(-1);
    const b = Buffer.from(o[k], 'hex');
    b[randomInt(b.length)] ^= 1 << randomInt(8);
    o[k] = b.toString('hex');
    assert.equal(check(u, f).ok, false, `flipping a bit of ${which} ${path.join('.')} was accepted`);
  }
});

test('tampered final_proof.json numbers are rejected', () => {
  const cases = [
    (f) => { f.assets[0].equity = (BigInt(f.assets[0].equity) + 1n).toString(); },
    (f) => { f.assets[1].debt = (BigInt(f.assets[1].debt) + 1n).toString(); },
    (f) => { f.assets[1].net = (BigInt(f.assets[1].net) + 1n).toString(); },
    (f) => { f.assets[0].weight = (BigInt(f.assets[0].weight) * 10n).toString(); },
    (f) => { f.assets[0].price = (BigInt(f.assets[0].price) + 1n).toString(); },
    (f) => { f.assets[0].range_bits = 128; },
    (f) => { f.assets[0].range_bits = 60; },
    (f) => { f.assets[0].range_bits = 136; },
    (f) => { f.assets[2].balance_decimals -= 1; },
    (f) => { f.assets[1].usdt_decimals += 1; },
    (f) => { f.assets.reverse(); },
    (f) => { f.assets[0].price = '-1'; },
    (f) => { f.assets[0].price = '9223372036854775808'; },
    (f) => { f.assets[0].equity = '-1'; },
    (f) => { f.assets[0].equity_blinding = 'ff'.repeat(32); }, // >= r
    (f) => { f.total_net_equity = (BigInt(f.total_net_equity) + 1n).toString(); },
    (f) => { f.parameters.net_equity_bits += 8; },
    (f) => { f.parameters.equity_decimals += 1; },
    (f) => { f.parameters.batch_size += 1; },
    (f) => { f.parameters.batch_size = 1025; },
    (f) => { f.parameters.padded_accounts = 16; },
    (f) => { f.range_proofs.count += 1; },
    (f) => { f.timestamp += 1; },
    (f) => { f.version = 'cloister-por-v1'; },
  ];
  for (const [i, mutate] of cases.entries()) {
    const f = clone(big.final);
    mutate(f);
    const rep = check(A, f);
    assert.equal(rep.ok, false, `mutation ${i} accepted`);
    assert.equal(status(rep, 'files'), 'fail', `mutation ${i}: files is ${status(rep, 'files')}`);
  }
});

test('forged totals with every derived field recomputed pass inclusion (only `por verify` sees them)', () => {
  // The check a user runs binds their leaf to the root and digest; that the
  // totals are the leaves' sums is `cloister por verify`'s job (§7 wording).
  const f = clone(big.final), u = clone(A);
  f.assets[0].debt = '0';
  restate2(f, u);
  const rep = check(u, f);
  accepts(rep);
  assert.match(rep.established, /that those totals are the sums of all leaves.*is what `cloister por verify` checks/);
});

// Every JSON value that must be an integer, by its path in the file.
const INT_FIELDS = {
  final: [['timestamp'], ['parameters', 'tree_depth'], ['parameters', 'padded_accounts'], ['parameters', 'batch_size'],
    ['parameters', 'equity_decimals'], ['parameters', 'net_equity_bits'], ['assets', 0, 'usdt_decimals'],
    ['assets', 1, 'balance_decimals'], ['assets', 2, 'range_bits'], ['range_proofs', 'count'], ['merkle_tree', 'bytes']],
  user: [['leaf_index']],
};
// The file's text with the value at `path` written as `literal`.
function withLiteral(doc, path, literal) {
  const d = clone(doc);
  const o = path.slice(0, -1).reduce((x, k) => x[k], d);
  const was = o[path.at(-1)];
  o[path.at(-1)] = '@@LITERAL@@';
  return { text: JSON.stringify(d).replace('"@@LITERAL@@"', literal(was)), was };
}

test('1.0, 1e3 and strings where an integer is expected are refused', () => {
  for (const [which, paths] of Object.entries(INT_FIELDS))
    for (const path of paths)
      for (const lit of [(v) => `${v}.0`, (v) => `${v}e0`, (v) => `${v}E+0`, (v) => `"${v}"`]) {
        const { text, was } = withLiteral(which === 'final' ? big.final : A, path, lit);
        const rep = which === 'final' ? check(JSON.stringify(A), text) : check(text, JSON.stringify(big.final));
        rejects(rep, 'files', /not an integer/);
        assert.ok(reason(rep, 'files').includes(lit(was).replace(/"/g, '')), reason(rep, 'files'));
      }
  // the same value written as an integer is fine
  const { text } = withLiteral(big.final, ['parameters', 'tree_depth'], (v) => ` ${v} `);
  accepts(check(A, text));
  // 1e3 for the timestamp (an integer value, but not a JSON integer)
  const t = withLiteral(big.final, ['timestamp'], () => '1.7e12').text;
  rejects(check(A, t), 'files', /timestamp is missing or not an integer \(got 1.7e12\)/);
});

function eachObject(doc, fn, path = []) {
  if (Array.isArray(doc)) doc.forEach((x, i) => eachObject(x, fn, [...path, i]));
  else if (doc && typeof doc === 'object') {
    if (!(path.at(-2) === 'path' || path.at(-1) === 'balances')) fn(path);
    for (const [k, v] of Object.entries(doc)) eachObject(v, fn, [...path, k]);
  }
}

test('every missing field is refused', () => {
  for (const [which, doc] of [['final', big.final], ['user', A]])
    eachObject(doc, (path) => {
      const o = path.reduce((x, k) => x[k], doc);
      for (const key of Object.keys(o)) {
        const d = clone(doc);
        delete path.reduce((x, k) => x[k], d)[key];
        const rep = which === 'final' ? check(A, d) : check(d, big.final);
        rejects(rep, 'files', key === 'version' ? /version/ : new RegExp(`missing field ${key}\\b`));
      }
    });
});

test('an unknown field is refused at every level', () => {
  for (const [which, doc] of [['final', big.final], ['user', A]])
    eachObject(doc, (path) => {
      const d = clone(doc);
      path.reduce((x, k) => x[k], d).comment = 'x';
      const rep = which === 'final' ? check(A, d) : check(d, big.final);
      rejects(rep, 'files', /unknown field "comment"/);
    });
});

test('a key twice in one object is refused, in either file', () => {
  const ut = JSON.stringify(A), ft = JSON.stringify(big.final);
  rejects(check(ut.replace('"balances":{', '"balances":{"BTC":"1",'), ft), 'files', /"BTC" appears twice/);
  rejects(check(ut, ft.replace('"root":{', '"root":{"hash":"00",')), 'files', /"hash" appears twice/);
  rejects(check(ut, ft.replace('{"version"', '{"timestamp":1,"version"')), 'files', /"timestamp" appears twice/);
  rejects(check(ut.slice(0, -1), ft), 'files', /user proof is not valid JSON/);
  rejects(check(ut.replace('"nonce"', '"n\\u0000nce"'), ft), 'files', /not valid JSON.*u0000/);
});

test('§8 warnings: the hidden-debt ledger proved honestly shows BTC net 0', () => {
  const ledger = { timestamp: 1700000000000,
    assets: { BTC: { usdt_decimals: 2, balance_decimals: 0, price: 4000000 },
              JUNK: { usdt_decimals: 2, balance_decimals: 0, price: 1000000000 } },
    accounts: { aa01: { BTC: 100, JUNK: 0 }, aa02: { BTC: 50, JUNK: 0 }, ff99: { BTC: -150, JUNK: 1 } } };
  const fx = makeProof2(ledger);
  for (const p of Object.values(fx.userProofs)) {
    const rep = check(p, fx.final);
    accepts(rep);
    assert.deepEqual(rep.warnings, ['asset BTC: customers owe the exchange as much BTC as it owes them or more ' +
                                    '(equity 150, debt 150, net 0)']);
    assert.deepEqual(rep.published.assets.map((a) => [a.symbol, a.equity, a.debt, a.net]),
      [['BTC', '150', '150', '0'], ['JUNK', '1', '0', '1']]);
  }
  // the forgery of issue 14: ff99's debt committed as a negative equity part
  // (e = b mod r): the published BTC debt is 0 and nothing warns, but ff99's
  // own check fails, and so does `cloister por verify` (its range proofs).
  const forged = makeProof2(ledger, { forgeNegativePart: true });
  const repAa = check(forged.userProofs.aa01, forged.final);
  accepts(repAa);
  assert.deepEqual(repAa.published.assets[0].debt, '0');
  assert.deepEqual(repAa.published.assets[0].equity, '0');
  assert.deepEqual(repAa.warnings, ['asset BTC: customers owe the exchange as much BTC as it owes them or more ' +
                                    '(equity 0, debt 0, net 0)']);
  const rep = check(forged.userProofs.ff99, forged.final);
  rejects(rep, 'leaf', /leaf hash/);
  assert.equal(rep.failed, 'leaf');
  // with a price on BTC only the forger could also hide the net-0 warning; still refused
  const lone = makeProof2({ ...ledger, accounts: { aa01: { BTC: 100, JUNK: 0 }, ff99: { BTC: -1, JUNK: 1 } } },
    { forgeNegativePart: true });
  rejects(check(lone.userProofs.ff99, lone.final), 'leaf');
});

test('§8 warnings: price 0, and a negative total net equity is refused', () => {
  const ledger = { timestamp: 1700000000000,
    assets: { BTC: { usdt_decimals: 2, balance_decimals: 8, price: 3700000 },
              DUST: { usdt_decimals: 2, balance_decimals: 0, price: 0 } },
    accounts: { aa01: { BTC: 5, DUST: 7 }, aa02: { BTC: 1, DUST: -3 } } };
  const fx = makeProof2(ledger);
  for (const p of Object.values(fx.userProofs)) {
    const rep = check(p, fx.final);
    accepts(rep);
    assert.deepEqual(rep.warnings, ["asset DUST: price 0 (its balances count for nothing in any account's net equity)"]);
  }
  const neg = makeProof2({ ...ledger, accounts: { aa01: { BTC: -5, DUST: 0 } } });
  const rep = check(neg.userProofs.aa01, neg.final);
  rejects(rep, 'files', /total net equity -\d+ is negative/);
  rejects(rep, 'equity', /net equity .* is negative/);
});

test('a negative-net-equity leaf is rejected at the equity step', () => {
  const ledger = ledger2(3, 3);
  const [bad] = Object.keys(ledger.accounts);
  ledger.accounts[bad] = { BTC: '-10000', ETH: '1', USDT: '1' };
  const fx = makeProof2(ledger);
  for (const [u, p] of Object.entries(fx.userProofs)) {
    const rep = check(p, fx.final);
    if (u !== bad) accepts(rep);
    else {
      assert.equal(rep.failed, 'equity');
      rejects(rep, 'equity', /is negative/);
      for (const id of ['files', 'leaf', 'path']) assert.equal(status(rep, id), 'pass', id);
    }
  }
});

test('a balance part outside its published range is rejected', () => {
  const ledger = { timestamp: 1700000000000, assets: { BTC: { usdt_decimals: 2, balance_decimals: 8, price: 1 },
    ETH: { usdt_decimals: 2, balance_decimals: 8, price: 1 } },
  accounts: { aa01: { BTC: 255, ETH: 10 }, aa02: { BTC: 256, ETH: -200 } } };
  const fx = makeProof2(ledger, { rangeBits: { BTC: 8, ETH: 8 } });
  accepts(check(fx.userProofs.aa01, fx.final));
  rejects(check(fx.userProofs.aa02, fx.final), 'equity', /balance of BTC does not fit the published 8-bit range/);
  const fx3 = makeProof2({ ...ledger, accounts: { aa01: { BTC: 255, ETH: 0 }, aa03: { BTC: 1000, ETH: 0 } } },
    { rangeBits: { BTC: 8, ETH: 8 } });
  rejects(check(fx3.userProofs.aa01, fx3.final), 'files', /asset BTC: equity is out of range/); // E ≥ N·2^8
  const fx2 = makeProof2({ ...ledger, accounts: { aa01: { BTC: 1, ETH: -256 }, aa02: { BTC: 300, ETH: 0 } } },
    { rangeBits: { BTC: 16, ETH: 8 } });
  rejects(check(fx2.userProofs.aa01, fx2.final), 'equity', /balance of ETH does not fit the published 8-bit range/);
});

test('an 18-decimal asset at its maximum round trips (128-bit range, wide net equity)', () => {
  const max = (2n ** 127n - 1n).toString();
  const ledger = { timestamp: 1700000000000,
    assets: { ETH: { usdt_decimals: 2, balance_decimals: 18, price: 400000 },
              USDT: { usdt_decimals: 2, balance_decimals: 6, price: 100 } },
    accounts: { aa01: { ETH: max, USDT: '0' }, aa02: { ETH: '1000000000000000000', USDT: '-1' },
                aa03: { ETH: '-1', USDT: '1000000' } } };
  const fx = makeProof2(ledger);
  assert.equal(fx.final.assets[0].range_bits, 128);
  assert.equal(fx.final.assets[1].range_bits, 64);
  for (const p of Object.values(fx.userProofs)) accepts(check(p, fx.final));
  const rep = check(fx.userProofs.aa02, fx.final);
  assert.equal(rep.account.balances[0].text, '1.000000000000000000');
  assert.equal(rep.published.equity_decimals, 20);
  assert.ok(rep.published.net_equity_bits > 128 && rep.published.net_equity_bits <= 216);
  // a price that cannot fit 216 bits of net equity with 128-bit balances
  const f = clone(fx.final), u = clone(fx.userProofs.aa02);
  f.assets[1].price = (2n ** 62n).toString();
  f.assets[1].range_bits = 128;
  restate2(f, u);
  rejects(check(u, f), 'files', /net_equity_bits is out of range 8..216 \(got 232\)/);
  f.parameters.net_equity_bits = 216;
  u.statement_digest = f.statement_digest = statementOf2(f);
  rejects(check(u, f), 'files', /asset USDT: weight \d+ with 128-bit balances makes net equity need more than 216 bits/);
});

test('a v1 user proof with a v2 final_proof.json (and the reverse) is refused', () => {
  const v1 = makeProof(sampleLedger(2, 2));
  const u1 = Object.values(v1.userProofs)[0];
  rejects(check(u1, big.final), 'files', /user proof is cloister-por-v1 but final_proof.json is cloister-por-v2/);
  const r = check(A, v1.final);
  rejects(r, 'files', /user proof is cloister-por-v2 but final_proof.json is cloister-por-v1/);
  assert.equal(r.version, 'cloister-por-v1');
  rejects(check(A, { ...big.final, version: 'cloister-por-v9' }), 'files', /version/);
});

// ---- robustness: json.js against JSON.parse, and random damage never crashes the check
test('json.js reads what JSON.parse reads (when no key repeats and every number is an integer)', () => {
  const docs = [big.final, A, { a: [1, -2, 0, [], {}, [{}]], 'é\u2028': 'x\\"\n\t\u0001 😀', n: null, t: true, f: false },
    { big: 'x'.repeat(1000), deep: [[[[[[{ a: [] }]]]]]] }];
  for (const d of docs) {
    for (const text of [JSON.stringify(d), JSON.stringify(d, null, 2), JSON.stringify(d, null, '\t')]) {
      const v = V.parseJson(text);
      assert.deepEqual(JSON.parse(JSON.stringify(v)), JSON.parse(text));
    }
  }
  assert.equal(V.parseJson('9007199254740993'), 9007199254740993n); // exact above 2^53
  assert.ok(Object.is(V.parseJson('-0'), 0)); // an integer 0, as jansson reads it
  assert.ok(V.parseJson('[1.0]')[0] instanceof V.NonInteger);
  assert.equal(String(V.parseJson('[1e3]')[0]), '1e3');
  assert.equal(Object.getPrototypeOf(V.parseJson('{"__proto__": {"x": 1}}')), null);
  for (const bad of ['', ' ', '{', '{"a":1,}', '[1,]', '{"a" 1}', '01', '1.', '.5', '-', '+1', 'tru', '"\\x"', '"a\nb"',
    '{"a":1}{', 'NaN', '"\\ud800"', '"\\udc00"', '"\\u0000"', "{'a':1}", '[1 2]', '{"a":1 "b":2}'])
    assert.throws(() => V.parseJson(bad), V.JsonError, JSON.stringify(bad));
  assert.throws(() => V.parseJson('{"a":1,"a":1}'), /duplicate key "a"/);
  assert.throws(() => V.parseJson('['.repeat(100) + ']'.repeat(100)), /nested too deeply/);
});

test('random damage to either file is refused or accepted, never an internal error (bounded fuzz)', () => {
  const ut = JSON.stringify(A, null, 1), ft = JSON.stringify(big.final, null, 1);
  const alphabet = '{}[]",:0123456789abcdef-.eE \\u';
  const t0 = Date.now();
  let runs = 0;
  while (runs < 300 && Date.now() - t0 < 2500) {
    const which = randomInt(2);
    let s = which ? ft : ut;
    for (let k = randomInt(1, 4); k > 0; k--) {
      const i = randomInt(s.length);
      const op = randomInt(3);
      const c = alphabet[randomInt(alphabet.length)];
      s = op === 0 ? s.slice(0, i) + c + s.slice(i + 1) : op === 1 ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i) + c + s.slice(i);
    }
    const rep = which ? V.verifyInclusion(ut, s) : V.verifyInclusion(s, ft);
    for (const st of rep.steps) assert.ok(!st.reason.startsWith('internal error'), `${st.id}: ${st.reason}`);
    runs++;
  }
  assert.ok(runs >= 50, `only ${runs} runs`);
});

test('files given as bytes: strict UTF-8, no byte-order mark (as jansson)', () => {
  const enc = (x) => new TextEncoder().encode(JSON.stringify(x));
  accepts(V.verifyInclusion(enc(A), enc(big.final)));
  const bad = enc({ ...A, note: 'x' });
  const at = bad.indexOf(0x78); // the 'x'
  bad[at] = 0xff;
  rejects(V.verifyInclusion(bad, enc(big.final)), 'files', /user proof is not valid UTF-8/);
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...enc(big.final)]);
  rejects(V.verifyInclusion(enc(A), bom), 'files', /final_proof.json is not valid JSON/);
});

test('JSON-number integers are at most 2^53 − 1 (as the C verifier)', () => {
  for (const path of [['timestamp'], ['range_proofs', 'count'], ['merkle_tree', 'bytes']]) {
    const { text } = withLiteral(big.final, path, () => '9007199254740992');
    rejects(check(A, text), 'files', /out of range 0..9007199254740991 \(got 9007199254740992\)/);
  }
});
