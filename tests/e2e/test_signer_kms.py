"""Validator keys sealed by KMS, the enclave path (docs/signer.md, "Keys sealed by
KMS"): `cloister signer keys seal` stores a key set on the node (ciphertexts only,
through PutSignerKeys); the signer app, run in Cloister's sandbox under
`cloister signer serve --supervise`, fetches it and unwraps its data key by KMS
Decrypt with a Recipient, which the key policy allows only for the signer app's
measurement (kms:RecipientAttestation:ImageSha384). A modified app gets no key and
says why; no plaintext key reaches the node's data dir, the logs or /metrics.
The four key set operations are same-account only (authz_table.py has their rows)."""
import base64
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import BIN, REGION, free_port, new_user, uniq
from test_runs import cl, deploy, ok

VECTORS = Path(os.environ.get("CLOISTER_VECTORS",
                              Path(__file__).resolve().parents[3] / "shared" / "vectors"))
BUNDLE_MAX = 6 << 20  # TASKS_BUNDLE_MAX


def fake_set(name, n=2, edk=b"not a real kms ciphertext"):
    return {"Name": name, "KmsKeyId": "alias/signer", "EncryptedDataKey": base64.b64encode(edk).decode(),
            "Keys": [{"Pubkey": "0x" + f"{i + 1:02x}" * 48,
                      "Sealed": base64.b64encode(bytes([i]) * 60).decode()} for i in range(n)]}


def code_of(exc):
    return exc.value.response["Error"]["Code"]


# ---------------- the node's API ----------------

def test_key_set_api(server):
    owner = server.admin_creds()
    name = uniq("ks")
    ans = server.cloister_call(owner, "PutSignerKeys", fake_set(name))
    assert ans["Name"] == name and ans["KeyCount"] == 2
    assert ans["Arn"].endswith(f":signer-keys/{name}") and ans["Arn"].startswith(
        f"arn:aws:cloister:{REGION}:")
    got = server.cloister_call(owner, "GetSignerKeys", {"Name": name})["SignerKeys"]
    assert got["Name"] == name and got["KmsKeyId"] == "alias/signer"
    assert [k["Pubkey"] for k in got["Keys"]] == ["0x" + "01" * 48, "0x" + "02" * 48]
    assert base64.b64decode(got["EncryptedDataKey"]) == b"not a real kms ciphertext"
    # by ARN too
    assert server.cloister_call(owner, "GetSignerKeys", {"Name": ans["Arn"]})["SignerKeys"][
        "Name"] == name
    listed = server.cloister_call(owner, "ListSignerKeys", {})["SignerKeys"]
    mine = [s for s in listed if s["Name"] == name]
    assert mine and mine[0]["KeyCount"] == 2 and "Keys" not in mine[0] \
        and "EncryptedDataKey" not in mine[0]
    # replace (PutSignerKeys is idempotent by name)
    server.cloister_call(owner, "PutSignerKeys", fake_set(name, n=3))
    assert len(server.cloister_call(owner, "GetSignerKeys", {"Name": name})["SignerKeys"][
        "Keys"]) == 3
    assert server.cloister_call(owner, "DeleteSignerKeys", {"Name": name}) == {}
    with pytest.raises(ClientError) as e:
        server.cloister_call(owner, "GetSignerKeys", {"Name": name})
    assert code_of(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        server.cloister_call(owner, "DeleteSignerKeys", {"Name": name})
    assert code_of(e) == "ResourceNotFoundException"


@pytest.mark.parametrize("body,why", [
    ({"Name": "bad name"}, "Name"),
    ({"KmsKeyId": ""}, "KmsKeyId"),
    ({"EncryptedDataKey": "***"}, "EncryptedDataKey"),
    ({"Keys": [{"Pubkey": "0x12", "Sealed": "AAAA"}]}, "Keys[0].Pubkey"),
    ({"Keys": [{"Pubkey": "0x" + "01" * 48, "Sealed": "AAAA"}]}, "Keys[0].Sealed"),
    ({"Keys": [{"Pubkey": "0x" + "01" * 48, "Sealed": base64.b64encode(b"x" * 60).decode()}] * 2},
     "twice"),
])
def test_key_set_refused(server, body, why):
    doc = fake_set(uniq("ks"))
    doc.update(body)
    with pytest.raises(ClientError) as e:
        server.cloister_call(server.admin_creds(), "PutSignerKeys", doc)
    assert code_of(e) == "ValidationException" and why in e.value.response["Error"]["Message"]


def test_key_set_same_account_only(server):
    owner = server.admin_creds()
    name = uniq("ks")
    arn = server.cloister_call(owner, "PutSignerKeys", fake_set(name))["Arn"]
    rc, b, out, err = server.account_create(uniq("signer-b"))
    assert rc == 0, out + err
    other = {"AccessKeyId": b["AccessKeyId"], "SecretAccessKey": b["SecretAccessKey"]}
    for op, body in [("GetSignerKeys", {"Name": arn}), ("DeleteSignerKeys", {"Name": arn}),
                     ("PutSignerKeys", dict(fake_set(name), Name=arn))]:
        with pytest.raises(ClientError) as e:
            server.cloister_call(other, op, body)
        assert code_of(e) == "AccessDeniedException", op
    # by name, the other account only sees its own (nothing)
    with pytest.raises(ClientError) as e:
        server.cloister_call(other, "GetSignerKeys", {"Name": name})
    assert code_of(e) == "ResourceNotFoundException"
    assert all(s["Name"] != name for s in
               server.cloister_call(other, "ListSignerKeys", {})["SignerKeys"])
    # an IAM user without the actions; then one allowed only GetSignerKeys
    nobody, _ = new_user(server, uniq("signer-nopolicy"))
    for op, body in [("GetSignerKeys", {"Name": name}), ("ListSignerKeys", {}),
                     ("PutSignerKeys", fake_set(uniq("ks"))), ("DeleteSignerKeys", {"Name": name})]:
        with pytest.raises(ClientError) as e:
            server.cloister_call(nobody, op, body)
        assert code_of(e) == "AccessDeniedException", op
    reader, _ = new_user(server, uniq("signer-reader"), policy={
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "cloister:GetSignerKeys", "Resource": arn}]})
    assert server.cloister_call(reader, "GetSignerKeys", {"Name": name})["SignerKeys"]["Name"] == name
    with pytest.raises(ClientError) as e:
        server.cloister_call(reader, "DeleteSignerKeys", {"Name": name})
    assert code_of(e) == "AccessDeniedException"
