// signer_verify.mjs — reads [{pk, root, sig}] (0x-hex) as JSON on stdin, writes [true|false]:
// whether sig is pk's BLS signature of root (@noble/curves, the Ethereum ciphersuite
// BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_). For tests/e2e/test_signer_api.py.
import { bls12_381 } from "@noble/curves/bls12-381.js";

const DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
const bls = bls12_381.longSignatures;
const bytes = (h) => Uint8Array.from(Buffer.from(h.replace(/^0x/, ""), "hex"));

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = JSON.parse(input).map(({ pk, root, sig }) => {
  try {
    return bls.verify(bytes(sig), bls.hash(bytes(root), DST), bytes(pk));
  } catch {
    return false;
  }
});
process.stdout.write(JSON.stringify(out));
