// por_verify_cli.mjs — runs the page's verifier (web/por/verify.js) in Node on
// files: node por_verify_cli.mjs FINAL_PROOF [--uid UID] USER_PROOF [USER_PROOF ...]
// Prints one JSON line per user proof: {"file", "ok", "failed", "reason",
// "version", "user_hash", "equity" (v2: the net equity), "warnings",
// "assets": [{symbol, equity, debt, net}] (v2) }; exits 0 whatever the
// verdicts (the caller judges them).
import { readFileSync } from 'node:fs';

import { verifyInclusion } from '../../../web/por/verify.js';

const args = process.argv.slice(2);
const finalPath = args.shift();
let uid;
const ui = args.indexOf('--uid');
if (ui >= 0) [, uid] = args.splice(ui, 2);
const finalBytes = new Uint8Array(readFileSync(finalPath));
for (const file of args) {
  const rep = verifyInclusion(new Uint8Array(readFileSync(file)), finalBytes, { uid });
  const failed = rep.steps.find((s) => s.id === rep.failed);
  console.log(JSON.stringify({
    file, ok: rep.ok, failed: rep.failed, reason: failed?.reason ?? '', version: rep.version,
    user_hash: rep.account?.user_hash ?? null, equity: rep.account?.equity ?? null, warnings: rep.warnings ?? [],
    assets: (rep.published?.assets ?? []).map(({ symbol, equity, debt, net }) => ({ symbol, equity, debt, net })),
  }));
}
