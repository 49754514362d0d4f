// signer_pubkeys.mjs — BLS12-381 public keys (min-pk, compressed G1) of the
// secret keys given as hex arguments, one per line, by @noble/curves: the
// independent check of `cloister signer keys` (tests/e2e/test_signer_keys_cli.py).
import { bls12_381 } from '@noble/curves/bls12-381.js';

const bls = bls12_381.longSignatures;
for (const hex of process.argv.slice(2)) {
  const sk = Uint8Array.from(Buffer.from(hex, 'hex'));
  console.log(Buffer.from(bls.getPublicKey(sk).toBytes(true)).toString('hex'));
}
