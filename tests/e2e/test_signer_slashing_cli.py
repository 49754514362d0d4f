"""`cloister signer slashing import|export|prune|set-high-watermark` (docs/signer.md,
"Slashing protection"): the EIP-3076 interchange v5 through the real binary, on a
signer data dir. Import is all or nothing, a malformed file or another network's
genesis root is refused with a message and exit 1, export round-trips (all
validators or the given ones), the high watermark is kept."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, PG_MODE, meta_args

VECTORS = Path(os.environ.get("CLOISTER_VECTORS") or Path(__file__).resolve().parents[2].parent / "shared" / "vectors")
GVR = "0x" + "04" * 32
PK1 = "0x" + "a1" * 48
PK2 = "0x" + "b2" * 48


def slashing(data_dir, *args, stdin=None):
    return subprocess.run([str(BIN), "signer", "slashing", *args, "--data", str(data_dir),
                           *meta_args(data_dir)],
                          input=stdin, capture_output=True, text=True, timeout=60)


def interchange(gvr=GVR, data=None):
    return {"metadata": {"interchange_format_version": "5", "genesis_validators_root": gvr},
            "data": data or []}


def validator(pk, blocks=(), atts=()):
    return {"pubkey": pk,
            "signed_blocks": [{"slot": str(s), "signing_root": "0x" + "%064x" % (s + 1)} for s in blocks],
            "signed_attestations": [{"source_epoch": str(s), "target_epoch": str(t)} for s, t in atts]}


def export(data_dir, tmp_path, *pubkeys):
    out = tmp_path / "export.json"
    args = ["export", str(out)]
    for pk in pubkeys:
        args += ["--pubkey", pk]
    r = slashing(data_dir, *args)
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text())


def test_import_export_round_trip(tmp_path):
    data = tmp_path / "signer"
    src = tmp_path / "in.json"
    src.write_text(json.dumps(interchange(data=[validator(PK1, [10, 20], [(1, 2), (2, 3)]),
                                                validator(PK2, [5], [(0, 1)])])))
    r = slashing(data, "import", str(src))
    assert r.returncode == 0, r.stderr
    assert PG_MODE or (data / "signer.db").exists()

    ex = export(data, tmp_path)
    assert ex["metadata"] == {"interchange_format_version": "5", "genesis_validators_root": GVR}
    by_pk = {v["pubkey"]: v for v in ex["data"]}
    assert set(by_pk) == {PK1, PK2}
    assert [b["slot"] for b in by_pk[PK1]["signed_blocks"]] == ["10", "20"]
    assert by_pk[PK1]["signed_blocks"][1]["signing_root"] == "0x" + "%064x" % 21
    assert [(a["source_epoch"], a["target_epoch"]) for a in by_pk[PK1]["signed_attestations"]] == \
        [("1", "2"), ("2", "3")]

    one = export(data, tmp_path, PK2)
    assert [v["pubkey"] for v in one["data"]] == [PK2]

    # the export imports into a fresh data dir and exports the same
    again = tmp_path / "again"
    (tmp_path / "ex.json").write_text(json.dumps(ex))
    r = slashing(again, "import", str(tmp_path / "ex.json"))
    assert r.returncode == 0, r.stderr
    assert export(again, tmp_path) == ex

    # stdin and stdout
    r = slashing(tmp_path / "third", "import", "-", stdin=json.dumps(ex))
    assert r.returncode == 0, r.stderr
    r = slashing(tmp_path / "third", "export", "-")
    assert r.returncode == 0 and json.loads(r.stdout) == ex


def test_refusals_are_whole(tmp_path):
    data = tmp_path / "signer"
    good = tmp_path / "good.json"
    good.write_text(json.dumps(interchange(data=[validator(PK1, [10])])))
    assert slashing(data, "import", str(good)).returncode == 0
    before = export(data, tmp_path)

    bad = interchange(data=[validator(PK2, [7])])
    bad["data"].append({"pubkey": PK1, "signed_blocks": [{"slot": 30}]})  # a number, not a string
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    r = slashing(data, "import", str(tmp_path / "bad.json"))
    assert r.returncode == 1
    assert "data[1].signed_blocks[0].slot" in r.stderr and "nothing imported" in r.stderr

    (tmp_path / "v4.json").write_text(json.dumps({"metadata": {"interchange_format_version": "4",
                                                               "genesis_validators_root": GVR},
                                                  "data": []}))
    r = slashing(data, "import", str(tmp_path / "v4.json"))
    assert r.returncode == 1 and "interchange_format_version" in r.stderr

    other = "0x" + "05" * 32
    (tmp_path / "other.json").write_text(json.dumps(interchange(gvr=other, data=[validator(PK2, [7])])))
    r = slashing(data, "import", str(tmp_path / "other.json"))
    assert r.returncode == 1
    assert other in r.stderr and GVR in r.stderr

    (tmp_path / "junk.json").write_text("{not json")
    assert slashing(data, "import", str(tmp_path / "junk.json")).returncode == 1
    assert slashing(data, "import", str(tmp_path / "missing.json")).returncode == 1

    assert export(data, tmp_path) == before  # nothing of the refused files landed


# The interchange rules are the same code on both backends; on PostgreSQL each of the
# ~100 CLI runs also creates and migrates a database (about 2 minutes under ASan). The
# PostgreSQL import path runs in the tests above and in test_pg_signer.py.
@pytest.mark.skipif(PG_MODE, reason="backend-independent vectors: run in the SQLite pass")
def test_eip3076_vector_imports(tmp_path):
    """Every interchange of the EIP-3076 suite imports (or is refused) as the suite says."""
    files = sorted((VECTORS / "eip3076-interchange").glob("*.json"))
    assert len(files) >= 38
    for i, f in enumerate(files):
        case = json.loads(f.read_text())
        data = tmp_path / ("v%d" % i)
        # the database belongs to the case's network from the start (as Web3Signer's runner)
        pin = tmp_path / ("pin%d.json" % i)
        pin.write_text(json.dumps(interchange(gvr=case["genesis_validators_root"],
                                              data=[{"pubkey": PK1, "signed_blocks": [],
                                                     "signed_attestations": []}])))
        assert slashing(data, "import", str(pin)).returncode == 0
        for step in case["steps"]:
            src = tmp_path / ("step%d.json" % i)
            src.write_text(json.dumps(step["interchange"]))
            r = slashing(data, "import", str(src))
            assert (r.returncode == 0) == step["should_succeed"], (case["name"], r.stderr)


def test_high_watermark_and_prune(tmp_path):
    data = tmp_path / "signer"
    r = slashing(data, "high-watermark")
    assert r.returncode == 0 and "no high watermark" in r.stdout
    r = slashing(data, "set-high-watermark", "--slot", "1000")
    assert r.returncode == 2 and "--epoch" in r.stderr
    r = slashing(data, "set-high-watermark", "--slot", "1000", "--epoch", "31")
    assert r.returncode == 0, r.stderr
    r = slashing(data, "high-watermark")
    assert "slot 1000, epoch 31" in r.stdout
    assert slashing(data, "remove-high-watermark").returncode == 0
    assert "no high watermark" in slashing(data, "high-watermark").stdout

    # Web3Signer's watermark-repair, as it is
    r = slashing(data, "watermark-repair", "--set-high-watermark=true", "--slot", "70", "--epoch", "9")
    assert r.returncode == 0 and "slot 70, epoch 9" in slashing(data, "high-watermark").stdout
    assert slashing(data, "watermark-repair", "--remove-high-watermark").returncode == 0
    assert "no high watermark" in slashing(data, "high-watermark").stdout

    src = tmp_path / "in.json"
    src.write_text(json.dumps(interchange(data=[validator(PK1, [], [(t - 1, t) for t in range(1, 31)])])))
    assert slashing(data, "import", str(src)).returncode == 0
    r = slashing(data, "prune", "--epochs", "10")
    assert r.returncode == 0 and "pruned 20 records" in r.stdout, r.stdout + r.stderr
    atts = export(data, tmp_path)["data"][0]["signed_attestations"]
    assert [a["target_epoch"] for a in atts] == [str(t) for t in range(21, 31)]

    r = slashing(data, "watermark-repair", "--slot", "100", "--epoch", "40")
    assert r.returncode == 0 and "for 1 validators" in r.stdout, r.stderr
    v = export(data, tmp_path)["data"][0]
    assert v["signed_blocks"] == [{"slot": "99"}]  # carries the raised slot watermark
    assert v["signed_attestations"][-1] == {"source_epoch": "40", "target_epoch": "40"}


def test_usage_errors(tmp_path):
    r = slashing(tmp_path, "frobnicate")
    assert r.returncode == 2 and "unknown command" in r.stderr
    r = slashing(tmp_path, "export", "x.json", "--pubkey", "0x1234")
    assert r.returncode == 2 and "--pubkey" in r.stderr
    r = slashing(tmp_path, "import")
    assert r.returncode == 2
