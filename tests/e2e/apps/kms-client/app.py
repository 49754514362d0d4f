"""A confidential app that unwraps a KMS-encrypted secret the Nitro way: it makes
its own RSA key inside the sandbox, asks the run's init for an attestation
document over it (`/.cloister/init attest`), calls KMS Decrypt with that document
as Recipient (credentials: requester secrets 1 and 2), and opens the
CiphertextForRecipient with its private key. It writes only the plaintext's
SHA-256 (and the document, for the test to verify)."""
import base64
import hashlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

OUT = os.environ["IEXEC_OUT"]
endpoint, blob = sys.argv[1], sys.argv[2]
akid = os.environ["IEXEC_REQUESTER_SECRET_1"]
secret = os.environ["IEXEC_REQUESTER_SECRET_2"]


def sh(*args):
    # the attestation descriptor must reach the child (Python closes other fds by default)
    fd = int(os.environ["CLOISTER_ATTESTATION_FD"])
    return subprocess.run(args, check=True, capture_output=True, pass_fds=(fd,)).stdout


sh("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "/tmp/k.pem")
sh("openssl", "pkey", "-in", "/tmp/k.pem", "-pubout", "-out", "/tmp/pub.pem")
sh("/.cloister/init", "attest", "--public-key", "/tmp/pub.pem", "--out", f"{OUT}/doc.cbor",
   "--nonce-hex", "00112233")
doc = base64.b64encode(open(f"{OUT}/doc.cbor", "rb").read()).decode()
body = json.dumps({"CiphertextBlob": blob, "Recipient": {
    "KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256", "AttestationDocument": doc}}).encode()
req = AWSRequest(method="POST", url=endpoint + "/", data=body,
                 headers={"X-Amz-Target": "TrentService.Decrypt",
                          "Content-Type": "application/x-amz-json-1.1"})
SigV4Auth(Credentials(akid, secret), "kms", "us-east-1").add_auth(req)
try:
    r = urllib.request.Request(endpoint + "/", data=body, method="POST", headers=dict(req.headers))
    with urllib.request.urlopen(r, timeout=10) as resp:
        ans = json.loads(resp.read())
    with open("/tmp/cfr.der", "wb") as f:
        f.write(base64.b64decode(ans["CiphertextForRecipient"]))
    plain = sh("openssl", "cms", "-decrypt", "-inform", "DER", "-in", "/tmp/cfr.der",
               "-inkey", "/tmp/k.pem")
    result = {"plaintext_sha256": hashlib.sha256(plain).hexdigest(),
              "answer_had_plaintext": "Plaintext" in ans}
except urllib.error.HTTPError as e:
    result = {"error": json.loads(e.read()).get("__type"), "status": e.code}
with open(f"{OUT}/result.json", "w") as f:
    json.dump(result, f)
with open(f"{OUT}/computed.json", "w") as f:
    json.dump({"deterministic-output-path": f"{OUT}/result.json"}, f)
