"""Run receipts checked offline (docs/attestation.md, "Receipts"):
`cloister result verify RECEIPT (--root ROOT.pem | --data DIR)` and
`cloister attest verify --root`. The receipt is built here independently of
Cloister's C code (Python's `cryptography`: an ES384 signature over the
canonical JSON, compact with sorted keys) around a document that
`cloister attest sign` made a month ago (CLOISTER_FAKE_NOW_OFFSET), so this
also checks that the format is what docs/attestation.md says and that a
receipt still verifies long after its run, when its document is stale for
`attest verify`. Each tamper fails with exit 1 and its reason."""
import base64
import json
import os
import subprocess
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import BIN

MONTH = 30 * 86400
TASK = "task-e2e-0001"
MEASUREMENT = "ab" * 48
DIGEST = "0x387afc7a9dd6cf26c18fbf92ff5e9b48e41f08fe8d01dbb4f597c2753f07b793"


def cli(*args, offset=None):
    env = dict(os.environ)
    env.pop("CLOISTER_FAKE_NOW_OFFSET", None)
    if offset is not None:
        env["CLOISTER_FAKE_NOW_OFFSET"] = str(offset)
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=60)


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def seal(body, doc, key):
    r = dict(body)
    r["attestation"] = base64.b64encode(doc).decode()
    sig = key.sign(canonical(r).encode(), ec.ECDSA(hashes.SHA384()))
    r["signature"] = base64.b64encode(sig).decode()
    return canonical(r)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """A node whose root and a run's document are a month old."""
    d = tmp_path_factory.mktemp("receipt-node")
    data = d / "data"
    key = ec.generate_private_key(ec.SECP384R1())
    pem = d / "enclave.pem"
    pem.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    root = cli("attest", "root", "--data", data, offset=-MONTH)
    assert root.returncode == 0, root.stderr
    (d / "root.pem").write_text(root.stdout)
    doc = d / "doc.cbor"
    r = cli("attest", "sign", "--data", data, "--out", doc, "--public-key", pem,
            "--module-id", TASK, "--pcr", "0=" + MEASUREMENT, offset=-MONTH)
    assert r.returncode == 0, r.stderr
    body = {"version": "cloister-receipt-v1", "task": TASK,
            "app": {"arn": "arn:aws:cloister:us-east-1:000000000001:app/f",
                    "address": "0x" + "11" * 20, "measurement": MEASUREMENT},
            "inputs": [{"name": "0x" + "22" * 32, "sha256": "0x" + "33" * 32}],
            "result": {"digest": DIGEST, "path": "/iexec_out/result.txt"},
            "exit_code": 0}
    return {"dir": d, "data": data, "root": d / "root.pem", "doc": doc.read_bytes(),
            "key": key, "body": body}


def write(node, name, text):
    p = node["dir"] / name
    p.write_text(text)
    return p


def verify(node, path, *root):
    return cli("result", "verify", path, *(root or ("--root", node["root"])))


def test_good_receipt_verifies_after_a_month(node):
    p = write(node, "good.json", seal(node["body"], node["doc"], node["key"]))
    for root in (("--root", node["root"]), ("--data", node["data"])):
        r = verify(node, p, *root)
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["verified"] is True
        assert out["task"] == TASK
        assert out["app_measurement"] == MEASUREMENT
        assert out["result_digest"] == DIGEST
        assert out["inputs"] == node["body"]["inputs"]
        assert out["exit_code"] == 0
        assert 0 < out["attestation_timestamp_ms"] // 1000 < time.time() - MONTH + 600
    # the same document is refused by a live check, which judges it now (leaf expired)
    doc = node["dir"] / "doc.cbor"
    r = cli("attest", "verify", "--root", node["root"], doc)
    assert r.returncode == 1 and "expired" in r.stderr, r.stderr
    r = cli("attest", "verify", "--root", node["root"], doc, offset=-MONTH)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["module_id"] == TASK
    # pretty-printed with keys in another order: same receipt
    pretty = json.dumps(json.loads(p.read_text()), indent=2)
    assert verify(node, write(node, "pretty.json", pretty)).returncode == 0


@pytest.mark.parametrize("change,reason", [
    (lambda b: b.update(exit_code=1), "signature does not verify with the attested enclave key"),
    (lambda b: b["result"].update(digest="0x" + "00" * 32), "signature does not verify"),
    (lambda b: b["inputs"].append({"name": "x", "sha256": "y"}), "signature does not verify"),
])
def test_tampered_body(node, change, reason):
    r = json.loads(seal(node["body"], node["doc"], node["key"]))
    change(r)
    res = verify(node, write(node, "t.json", canonical(r)))
    assert res.returncode == 1
    assert res.stderr.startswith("cloister: receipt does not verify: " + reason)


def test_other_signer_task_measurement_root(node):
    other = ec.generate_private_key(ec.SECP384R1())
    cases = [
        (seal(node["body"], node["doc"], other),
         "signature does not verify with the attested enclave key"),
        (seal(dict(node["body"], task="task-other"), node["doc"], node["key"]),
         "task task-other does not match the attestation's module_id " + TASK),
        (seal(dict(node["body"], app=dict(node["body"]["app"], measurement="cd" * 48)),
              node["doc"], node["key"]),
         "app measurement does not match the attestation's PCR0"),
    ]
    for text, reason in cases:
        res = verify(node, write(node, "t.json", text))
        assert res.returncode == 1
        assert res.stderr.strip() == "cloister: receipt does not verify: " + reason
    # another node's root
    other_root = cli("attest", "root", "--data", node["dir"] / "other")
    p = write(node, "other-root.pem", other_root.stdout)
    res = verify(node, write(node, "g.json", seal(node["body"], node["doc"], node["key"])),
                 "--root", p)
    assert res.returncode == 1
    assert "attestation document: cabundle[0] is not the trusted root" in res.stderr


def test_bad_input_and_usage(node):
    res = verify(node, write(node, "junk.json", "not json"))
    assert res.returncode == 1
    assert res.stderr.strip() == "cloister: receipt does not verify: not a JSON object"
    res = verify(node, node["dir"] / "nosuch.json")
    assert res.returncode == 1
    assert cli("result", "verify", "x.json").returncode == 2
    assert cli("result", "verify", "x.json", "--root", "a", "--data", "b").returncode == 2
    assert cli("result").returncode == 2
