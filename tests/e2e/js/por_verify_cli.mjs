// por_verify_cli.mjs — runs the page's verifier (web/por/verify.js) in Node on
// files: node por_verify_cli.mjs FINAL_PROOF USER_PROOF [USER_PROOF ...]
// Prints one JSON line per user proof: {"file", "ok", "failed", "reason",
// "user_hash", "equity"}; exits 0 whatever the verdicts (the caller judges them).
import { readFileSync } from 'node:fs';

import { verifyInclusion } from '../../../web/por/verify.js';

const [finalPath, ...users] = process.argv.slice(2);
const finalText = readFileSync(finalPath, 'utf8');
for (const file of users) {
  const rep = verifyInclusion(readFileSync(file, 'utf8'), finalText);
  const failed = rep.steps.find((s) => s.id === rep.failed);
  console.log(JSON.stringify({ file, ok: rep.ok, failed: rep.failed, reason: failed?.reason ?? '',
                               user_hash: rep.account?.user_hash ?? null, equity: rep.account?.equity ?? null }));
}
