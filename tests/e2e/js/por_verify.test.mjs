// por_verify.test.mjs — node:test unit tests of web/por/verify.js, the page's
// inclusion verifier (docs/por.md §9 verify-inclusion), on proofs built by
// por_fixture.mjs from the spec alone: every user's proof is accepted, and each
// tampering a user or a cheating operator could try is rejected at the step
// that should catch it. Also checks the page's import map resolves every module
// the verifier loads. Run: node --test tests/e2e/js/por_verify.test.mjs
import assert from 'node:assert/strict';
import { createHash, randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { makeProof, restate, sampleLedger, statementOf } from './por_fixture.mjs';
import * as V from '../../../web/por/verify.js';

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '../../../web/por');
const clone = (x) => structuredClone(x);
const check = (u, f) => V.verifyInclusion(JSON.stringify(u), JSON.stringify(f));
const status = (rep, id) => rep.steps.find((s) => s.id === id).status;
const reason = (rep, id) => rep.steps.find((s) => s.id === id).reason;

function accepts(rep) {
  assert.equal(rep.failed, null, `rejected at ${rep.failed}: ${rep.failed && reason(rep, rep.failed)}`);
  assert.equal(rep.ok, true);
  for (const s of rep.steps) assert.ok(s.status === 'pass' || s.status === 'info', `${s.id} is ${s.status}`);
}
// Rejected, and (at least) step `id` fails; `match` checks its reason.
function rejects(rep, id, match) {
  assert.equal(rep.ok, false, 'accepted a bad proof');
  assert.ok(rep.failed, 'no failing step named');
  assert.equal(status(rep, id), 'fail', `step ${id} is ${status(rep, id)}; failed: ${rep.failed} (${reason(rep, rep.failed)})`);
  if (match) assert.match(reason(rep, id), match);
}

// One ledger of 4 users × 3 assets padded to 8 leaves, one of 1 user × 1 asset
// (depth 1), and a second independent proof for cross-proof confusion.
const big = makeProof(sampleLedger(4, 3), { depth: 3 });
const tiny = makeProof(sampleLedger(1, 1));
const other = makeProof(sampleLedger(4, 3), { depth: 3 });
const users = Object.keys(big.userProofs);
const A = big.userProofs[users[0]], Bp = big.userProofs[users[1]];

test('generators equal blst_hash_to_g1 with the spec DST (known answers)', () => {
  // computed with blst 0.3.10 (the C prover's library): blst_hash_to_g1(label ‖ u32be(0), DST)
  assert.equal(V.pointToHex(V.genG()),
    '90aad973dda02721ea2dd76a9d53b1af9775f88e49726b022d6d42181dd36bb6da0ee87b6be635159d3849eadfadcc96');
  assert.equal(V.pointToHex(V.genH()),
    'ac7ea0fe6e099d6d945e6205c52062ce6208c1b4e57ff712c386b8920e9eece90f312467dd260a2af1b13a2ee0e2ee1a');
  assert.equal(V.pointToHex(V.genAsset('BTC')),
    '80034e85b81be2c25ce291949edd58a8e0b26a703fbb021cd473741087aa27d293d4c2b2e99bcc09f61fa74dc00223ff');
  assert.equal(V.pointToHex(V.genAsset('ETH')),
    'b9364c4f7c70cbaec1d56caffff8d63e1fd7ccc1dcd031ab1dc297d4c365d0abf27095623a88d768f1068508aa017d5e');
});

test('tagged hashes and encodings follow §2', () => {
  const tag = 'cloister-por-v1/leaf';
  const x = Buffer.from('abc');
  const want = createHash('sha256').update(Buffer.concat([Buffer.from([tag.length]), Buffer.from(tag), x])).digest('hex');
  assert.equal(V.bytesToHex(V.Ht(tag, x)), want);
  const wide = Buffer.concat([V.Ht('t', x, Uint8Array.of(0)), V.Ht('t', x, Uint8Array.of(1))]);
  assert.equal(V.Hs('t', x), BigInt('0x' + wide.toString('hex')) % V.R_ORDER);
  assert.equal(V.bytesToHex(V.i128be(-1n)), 'ff'.repeat(16));
  assert.equal(V.bytesToHex(V.i128be(-(2n ** 95n))), 'ffffffff80' + '00'.repeat(11));
  assert.equal(V.bytesToHex(V.u64be(1700000000000)), '0000018bcfe56800');
  assert.equal(V.formatUnits(-4761n, 4), '-0.4761');
  assert.equal(V.formatUnits(534054n, 0), '534054');
});

test('every user proof is accepted', () => {
  for (const fx of [big, tiny, other])
    for (const [u, p] of Object.entries(fx.userProofs)) {
      const rep = check(p, fx.final);
      accepts(rep);
      assert.equal(rep.account.user_hash, u);
      assert.deepEqual(rep.account.balances.map((b) => b.balance), Object.values(p.balances));
      assert.equal(rep.account.equity, p.equity);
    }
  assert.equal(tiny.final.parameters.tree_depth, 1);
  assert.equal(Object.keys(big.userProofs).length, 4);
  // the statement digest the fixture (written from the spec) made is the verifier's
  assert.equal(big.final.statement_digest, statementOf(big.final));
});

test('a changed balance is rejected', () => {
  for (const delta of [1n, -1n, 10n ** 8n]) {
    const u = clone(A);
    u.balances.BTC = (BigInt(u.balances.BTC) + delta).toString();
    const naive = check(u, big.final);
    rejects(naive, 'leaf', /balance commitment L.*stated equity/);
    assert.equal(naive.failed, 'leaf');
    // even with the equity field made to agree
    const w = BigInt(big.final.assets.find((a) => a.symbol === 'BTC').weight);
    u.equity = (BigInt(u.equity) + w * delta).toString();
    const rep = check(u, big.final);
    rejects(rep, 'leaf', /balance commitment L/);
    assert.equal(status(rep, 'equity'), 'pass');
  }
  // another user's balances under my nonce
  const u = clone(A);
  u.balances = clone(Bp.balances);
  u.equity = Bp.equity;
  rejects(check(u, big.final), 'leaf');
});

test("another user's hash is rejected", () => {
  const u = clone(A);
  u.user_hash = Bp.user_hash;
  rejects(check(u, big.final), 'leaf', /leaf id/);
  // a leaf reused for two users: B presents A's leaf, path and nonce as theirs
  const reused = { ...clone(A), user_hash: Bp.user_hash, balances: clone(Bp.balances), equity: Bp.equity };
  rejects(check(reused, big.final), 'leaf');
});

test('a swapped sibling is rejected', () => {
  let u = clone(A);
  [u.path[0], u.path[1]] = [u.path[1], u.path[0]];
  rejects(check(u, big.final), 'path', /root/);
  u = clone(A);
  u.path[0] = clone(Bp.path[0]).hash === A.path[0].hash ? clone(Bp.path[1]) : clone(Bp.path[0]);
  rejects(check(u, big.final), 'path');
  u = clone(A);
  u.path[2] = clone(other.userProofs[Object.keys(other.userProofs)[0]].path[2]);
  rejects(check(u, big.final), 'path');
  // a sibling's commitment swapped for another valid point, hash kept
  u = clone(A);
  u.path[1].commitment = A.leaf.commitment;
  rejects(check(u, big.final), 'path', /root/);
});

test('a changed nonce is rejected', () => {
  const u = clone(A);
  u.nonce = Bp.nonce;
  rejects(check(u, big.final), 'leaf');
  u.nonce = '00'.repeat(32);
  rejects(check(u, big.final), 'leaf');
});

test('a path of the wrong length is rejected', () => {
  let u = clone(A);
  u.path.pop();
  rejects(check(u, big.final), 'files', /path has 2 entries.*tree_depth is 3/);
  u = clone(A);
  u.path.push(clone(u.path[0]));
  rejects(check(u, big.final), 'files', /path has 4 entries/);
  u = clone(A);
  u.path = [];
  rejects(check(u, big.final), 'files');
});

test('a leaf_index pointing elsewhere is rejected', () => {
  for (const idx of [A.leaf_index ^ 1, A.leaf_index ^ 2, A.leaf_index ^ 4, Bp.leaf_index]) {
    const u = clone(A);
    u.leaf_index = idx;
    rejects(check(u, big.final), 'path');
  }
  for (const idx of [8, -1, 1.5, '0', 2 ** 40]) {
    const u = clone(A);
    u.leaf_index = idx;
    rejects(check(u, big.final), 'files', /leaf_index/);
  }
});

test('a different root is rejected', () => {
  let u = clone(A);
  u.root = clone(other.final.root);
  rejects(check(u, big.final), 'files', /different root/);
  // a user proof from one proof checked against another proof's final_proof.json
  const theirs = Object.values(other.userProofs)[0];
  const rep = check(theirs, big.final);
  rejects(rep, 'files');
  assert.equal(status(rep, 'path'), 'fail');
  // the published root replaced (and the statement recomputed, as a forger could)
  const f = clone(big.final);
  f.root = clone(other.final.root);
  u = clone(A);
  u.root = clone(f.root);
  restate(f, u);
  const rep2 = check(u, f);
  rejects(rep2, 'path');
  assert.equal(status(rep2, 'files'), 'pass');
});

test('a total off by one in final_proof.json is rejected', () => {
  for (const i of [0, 1, 2]) {
    for (const delta of [1n, -1n]) {
      const f = clone(big.final);
      f.assets[i].total = (BigInt(f.assets[i].total) + delta).toString();
      // as published (digest and total_equity not updated): the statement check fails
      const naive = check(A, f);
      rejects(naive, 'files', /total_equity|statement_digest/);
      assert.equal(status(naive, 'opening'), 'fail');
      // a forger also recomputes total_equity and the statement digest: the opening fails
      const u = clone(A);
      restate(f, u);
      const rep = check(u, f);
      rejects(rep, 'opening', /root commitment/);
      assert.equal(rep.failed, 'opening');
    }
  }
  // total_blinding changed: the opening fails too
  const f = clone(big.final);
  f.total_blinding = (BigInt('0x' + f.total_blinding) + 1n).toString(16).padStart(64, '0');
  const u = clone(A);
  restate(f, u);
  rejects(check(u, f), 'opening');
});

test('final_proof.json fields outside §3 or inconsistent are rejected', () => {
  const bad = [
    (f) => { f.version = 'cloister-por-v0'; },
    (f) => { f.assets[0].weight = (BigInt(f.assets[0].weight) + 1n).toString(); },
    (f) => { f.assets.reverse(); },
    (f) => { f.assets[1].usdt_decimals += 1; },
    (f) => { f.assets[0].price = Number(f.assets[0].price); },
    (f) => { f.assets[0].price = '0'; },
    (f) => { f.assets[0].total = (2n ** 66n).toString(); },
    (f) => { f.parameters.padded_accounts = 16; },
    (f) => { f.parameters.range_bits = 32; },
    (f) => { f.parameters.batch_size = 3; }, // allowed, but not what the digest says
    (f) => { f.parameters.batch_size = 0; },
    (f) => { f.parameters.batch_size = 1025; },
    (f) => { f.parameters.equity_decimals += 1; },
    (f) => { f.total_equity = (BigInt(f.total_equity) + 1n).toString(); },
    (f) => { f.total_blinding = 'ff'.repeat(32); }, // >= r
    (f) => { f.timestamp += 1; },
    (f) => { delete f.root; },
  ];
  for (const [i, mutate] of bad.entries()) {
    const f = clone(big.final);
    mutate(f);
    const rep = check(A, f);
    assert.equal(rep.ok, false, `mutation ${i} accepted`);
    assert.equal(status(rep, 'files'), 'fail', `mutation ${i}: files is ${status(rep, 'files')}`);
  }
});

test('user proof balances must name exactly the published assets, as int64', () => {
  const bad = [
    (u) => { delete u.balances.ETH; },
    (u) => { u.balances.DOGE = '1'; },
    (u) => { u.balances.BTC = Number(u.balances.BTC); },
    (u) => { u.balances.BTC = '9223372036854775808'; },
    (u) => { u.balances.BTC = '1.5'; },
    (u) => { u.balances.BTC = '007'; },
    (u) => { u.version = 'x'; },
    (u) => { u.user_hash = u.user_hash.toUpperCase(); },
    (u) => { u.user_hash = ''; },
  ];
  for (const [i, mutate] of bad.entries()) {
    const u = clone(A);
    mutate(u);
    rejects(check(u, big.final), 'files');
    assert.ok(i >= 0);
  }
});

// Every hex field inclusion checking reads, in either file.
function hexFields(u, f) {
  const fields = [];
  const walk = (o, path, which) => {
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'string' && /^([0-9a-f]{2})+$/.test(v) && !/^\d+$/.test(v)) fields.push([which, [...path, k]]);
      else if (v && typeof v === 'object') walk(v, [...path, k], which);
    }
  };
  walk(u, [], 'user');
  const readByInclusion = new Set(['total_blinding', 'root', 'statement_digest']);
  for (const [k, v] of Object.entries(f))
    if (readByInclusion.has(k)) typeof v === 'string' ? fields.push(['final', [k]]) : walk(v, [k], 'final');
  return fields;
}

test('a flipped byte in any hex field is rejected', () => {
  const fields = hexFields(A, big.final);
  assert.ok(fields.length >= 4 + 2 + 2 * 3 + 2 + 3 + 2, `only ${fields.length} hex fields found`);
  for (const [which, path] of fields) {
    const u = clone(A), f = clone(big.final);
    const o = path.slice(0, -1).reduce((x, k) => x[k], which === 'user' ? u : f);
    const key = path.at(-1);
    const bytes = Buffer.from(o[key], 'hex');
    const i = randomInt(bytes.length);
    bytes[i] ^= 1 << randomInt(8); // one bit of one byte
    o[key] = bytes.toString('hex');
    const rep = check(u, f);
    assert.equal(rep.ok, false, `flipping byte ${i} of ${which} ${path.join('.')} was accepted`);
    // and a whole byte flipped
    bytes[i] ^= 0xff;
    o[key] = bytes.toString('hex');
    assert.equal(check(u, f).ok, false, `flipping byte ${i} of ${which} ${path.join('.')} was accepted`);
  }
  // What inclusion checks do not read (the link and range proofs are for `por verify`).
  const f = clone(big.final);
  f.equity_link_proof = 'ff' + f.equity_link_proof.slice(2);
  accepts(check(A, f));
});

test('a truncated or non-JSON file is rejected with a JSON error', () => {
  const ut = JSON.stringify(A), ft = JSON.stringify(big.final);
  for (const cut of [1, 10, ut.length >> 1, ut.length - 1]) {
    const rep = V.verifyInclusion(ut.slice(0, cut), ft);
    rejects(rep, 'files', /user proof is not valid JSON/);
    for (const s of rep.steps.slice(1)) assert.equal(s.status, 'skip');
  }
  rejects(V.verifyInclusion(ut, ft.slice(0, ft.length - 2)), 'files', /final_proof.json is not valid JSON/);
  rejects(V.verifyInclusion('', ft), 'files', /not valid JSON/);
  rejects(V.verifyInclusion('[]', ft), 'files', /not an object/);
  rejects(V.verifyInclusion(ft, ut), 'files'); // the two files swapped
});

test('a file with a key twice in one object is rejected (as the C verifier does)', () => {
  const ut = JSON.stringify(A), ft = JSON.stringify(big.final);
  // the balance JSON.parse would keep is the right one: still refused
  const dupBal = ut.replace('"balances":{', `"balances":{"BTC":"12345",`);
  rejects(V.verifyInclusion(dupBal, ft), 'files', /"BTC" appears twice/);
  const dupTop = ut.replace('{"version"', '{"nonce":"00","version"');
  rejects(V.verifyInclusion(dupTop, ft), 'files', /"nonce" appears twice/);
  const dupFinal = ft.replace('"total_blinding"', '"root":{},"total_blinding"');
  rejects(V.verifyInclusion(ut, dupFinal), 'files', /"root" appears twice/);
  // equal keys in different objects, and escapes in strings, are fine
  const extra = ut.replace('{"version"', '{"note":{"version":"x\\"}{[,","leaf":[{"hash":1},{"hash":2}]},"version"');
  accepts(V.verifyInclusion(extra, ft));
});

test('a negative-equity leaf is rejected at the equity step', () => {
  const neg = makeProof(sampleLedger(3, 2, { negativeEquityFor: 1 }));
  let seen = 0;
  for (const p of Object.values(neg.userProofs)) {
    const rep = check(p, neg.final);
    if (BigInt(p.equity) >= 0n) {
      accepts(rep);
      continue;
    }
    seen++;
    assert.equal(rep.failed, 'equity');
    rejects(rep, 'equity', /negative/);
    // everything else about the leaf is consistent: only the equity check catches it
    for (const id of ['files', 'leaf', 'path', 'opening']) assert.equal(status(rep, id), 'pass', id);
  }
  assert.equal(seen, 1);
});

test('an equity at or above 2^64 is rejected', () => {
  const ledger = sampleLedger(1, 1);
  const [u] = Object.keys(ledger.accounts);
  ledger.assets = { BTC: { usdt_decimals: 2, balance_decimals: 0, price: '4611686018427387904' } }; // 2^62
  ledger.accounts[u] = { BTC: '4' };
  const fx = makeProof(ledger);
  rejects(check(fx.userProofs[u], fx.final), 'equity', /2\^64/);
});

// ---- the page's import map resolves every module, and the CSP admits it
function importMap() {
  const html = readFileSync(join(WEB, 'index.html'), 'utf8');
  const m = html.match(/<script type="importmap">([\s\S]*?)<\/script>/);
  assert.ok(m, 'no import map in index.html');
  return { html, text: m[1], map: JSON.parse(m[1]).imports };
}

test("index.html's import map resolves every import of the verifier's module graph", () => {
  const { map } = importMap();
  const seen = new Set();
  const pending = [join(WEB, 'app.js')];
  const strip = (src) => src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const re = /(?:^|[;}\s])(?:import|export)\s*(?:[\w*${}\s,]*?\sfrom\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  while (pending.length) {
    const file = pending.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    assert.ok(existsSync(file), `missing module ${file}`);
    assert.match(file, /\.(js|mjs)$/, `${file}: the server serves only .js/.mjs as scripts`);
    for (const m of strip(readFileSync(file, 'utf8')).matchAll(re)) {
      const spec = m[1] ?? m[2];
      let target;
      if (spec.startsWith('./') || spec.startsWith('../')) target = resolve(dirname(file), spec);
      else {
        const prefix = Object.keys(map).find((p) => spec.startsWith(p));
        assert.ok(prefix, `${file}: bare import '${spec}' is not in the import map`);
        target = resolve(WEB, map[prefix] + spec.slice(prefix.length));
      }
      assert.ok(target.startsWith(WEB + '/'), `${spec} resolves outside web/por`);
      pending.push(target);
    }
  }
  assert.ok(seen.size > 10, `only ${seen.size} modules found`);
  assert.ok([...seen].some((f) => f.endsWith('@noble/hashes/sha2.js')));
});

test("index.html's Content-Security-Policy admits its import map by hash", () => {
  const { html, text } = importMap();
  const h = createHash('sha256').update(text).digest('base64');
  assert.ok(html.includes(`'sha256-${h}'`), `CSP lacks 'sha256-${h}' (update it after editing the import map)`);
  assert.match(html, /connect-src 'none'/);
});

// ---- v1 strictness, as the C v1 verifier (issue 14: the page used to accept these)
test('a v1 final_proof.json without its link proof, range or tree digests is refused', () => {
  const cases = [
    [(f) => { delete f.equity_link_proof; }, /equity_link_proof/],
    [(f) => { f.equity_link_proof = f.equity_link_proof.slice(2); }, /equity_link_proof/],
    [(f) => { delete f.range_proofs; }, /range_proofs/],
    [(f) => { delete f.range_proofs.sha256; }, /range_proofs.sha256/],
    [(f) => { f.range_proofs.count += 1; }, /range_proofs.count/],
    [(f) => { delete f.merkle_tree; }, /merkle_tree/],
    [(f) => { f.merkle_tree.bytes = '0'; }, /merkle_tree.bytes/],
  ];
  for (const [mutate, match] of cases) {
    const f = clone(big.final);
    mutate(f);
    rejects(check(A, f), 'files', match);
  }
});

test('v1: 1.0 or 1e3 where an integer is expected is refused', () => {
  const ft = JSON.stringify(big.final), ut = JSON.stringify(A);
  const m = big.final.parameters.tree_depth;
  for (const [from, to] of [[`"tree_depth":${m}`, `"tree_depth":${m}.0`], [`"range_bits":64`, `"range_bits":64.0`],
    [`"batch_size":`, `"batch_size":1e0,"x":`], [`"timestamp":1700000000000`, `"timestamp":1.7e12`],
    [`"usdt_decimals":2`, `"usdt_decimals":2.0`], [`"count":`, `"count":1.0,"y":`]]) {
    assert.ok(ft.includes(from), from);
    rejects(V.verifyInclusion(ut, ft.replace(from, to)), 'files');
  }
  const idx = `"leaf_index":${A.leaf_index}`;
  rejects(V.verifyInclusion(ut.replace(idx, `${idx}.0`), ft), 'files', /leaf_index/);
  accepts(V.verifyInclusion(ut.replace(idx, ` ${idx} `), ft));
});
