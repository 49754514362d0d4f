// verify.js — the user's inclusion check of a Cloister proof of reserves
// (docs/por.md §7 "verify-inclusion"), in plain JS over @noble/curves
// (BLS12-381 G1, RFC 9380 hash-to-curve) and @noble/hashes (SHA-256). It has
// no DOM code, so the page (app.js) and Node (the tests in tests/e2e/js)
// import the same file. Nothing is sent anywhere: the proof files never leave
// the caller.
//
// The files' "version" picks the protocol: `cloister-por-v2` (verify2.js, what
// the prover makes) or `cloister-por-v1` (verify1.js, older files). A user
// proof and a final_proof.json of different versions are refused.
//
// API: verifyInclusion(userProof, finalProof, { uid }) -> report, where each
// proof argument is the file's bytes (a Uint8Array: invalid UTF-8 refused, as
// the C verifier does), its text, or an already parsed object (which cannot
// tell `1.0` from `1`), and uid, optional (v2), is the account ID the
// exchange shows the user. The report:
//   { ok, failed: id of the first failing step or null, version,
//     steps: [{ id, title, status: 'pass'|'fail'|'info'|'skip', detail, reason }],
//     account: { user_hash, leaf_index, balances: [{symbol, balance, decimals, text, ...}],
//                equity, equity_decimals, equity_text } | null,
//     published: { version, timestamp, tree_depth, padded_accounts, root_hash,
//                  assets: [{symbol, ...; v2: equity, debt, net and their texts}] } | null,
//     warnings: [text] (v2 §8: they do not fail the check),
//     established: what a passing check establishes (v2 §7), or '' }
import { JsonError, NonInteger, parseJson } from './json.js';
import { VERSION as V1, verifyInclusion1 } from './verify1.js';
import { VERSION as V2, verifyInclusion2 } from './verify2.js';

export * from './common.js';
export { genAsset, leafHash, leafId, nodeOf, statementDigest } from './verify1.js';
export { statementDigest2, userHash } from './verify2.js';
export { JsonError, NonInteger, parseJson };
export const VERSIONS = [V2, V1];

// The "version" of a file's text, or null if it cannot be read.
function versionOf(x) {
  try {
    const t = x instanceof Uint8Array ? new TextDecoder().decode(x) : x;
    const v = typeof t === 'string' ? parseJson(t) : t;
    return v && typeof v === 'object' && typeof v.version === 'string' ? v.version : null;
  } catch {
    return null;
  }
}

export function verifyInclusion(userProof, finalProof, opts = {}) {
  const fv = versionOf(finalProof), uv = versionOf(userProof);
  const version = VERSIONS.includes(fv) ? fv : VERSIONS.includes(uv) ? uv : V2;
  const mismatch = fv !== null && uv !== null && fv !== uv && VERSIONS.includes(fv) && VERSIONS.includes(uv)
    ? `the user proof is ${uv} but final_proof.json is ${fv}: they are not from the same proof`
    : null;
  const report = version === V1 ? verifyInclusion1(userProof, finalProof, mismatch)
                                : verifyInclusion2(userProof, finalProof, { ...opts, mismatch });
  report.established ??= '';
  return report;
}
