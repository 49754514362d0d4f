// signer_sign.mjs — the remote signer's independent BLS check (tests/e2e/test_signer_api.py):
// reads [{sk, root, sig?}] (0x-hex) as JSON on stdin, writes [{pk, sig, verifies}] where sig is
// @noble/curves' BLS signature (BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_, the Ethereum
// ciphersuite) of root by sk, and verifies says whether the given sig (if any) verifies.
import { bls12_381 } from "@noble/curves/bls12-381.js";

const DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
const bls = bls12_381.longSignatures;
const hex = (b) => "0x" + Buffer.from(b).toString("hex");
const bytes = (h) => Uint8Array.from(Buffer.from(h.replace(/^0x/, ""), "hex"));

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = JSON.parse(input).map(({ sk, root, sig }) => {
  const msg = bls.hash(bytes(root), DST);
  const pk = bls.getPublicKey(bytes(sk));
  const mine = bls.sign(msg, bytes(sk));
  let verifies = null;
  if (sig) {
    try {
      verifies = bls.verify(bytes(sig), msg, pk);
    } catch {
      verifies = false;
    }
  }
  return { pk: hex(pk.toBytes(true)), sig: hex(mine.toBytes(true)), verifies };
});
process.stdout.write(JSON.stringify(out));
