"""Proof of reserves on upload (issue 12's first must-hold, the seed's S3 event ->
Lambda -> EC2 prover, here one trigger): the PoR app packaged with `cloister por
app`, a trigger on suffix private_ledger.json, then only
`aws s3 cp private_ledger.json s3://B/proof-runs/2024-01-15/private_ledger.json`
leads to final_proof.json, merkle_tree.json, proofs.zip and user_proofs/ under the
same prefix, a task in state done, and `cloister por verify` accepting what was
downloaded; the operator's nonces are never published, proofs.zip is public;
an upload of other.json starts nothing."""
import time
import urllib.request

from conftest import AWS_CLIS, uniq
from test_por import assets_of, gen_accounts, write_ledger
from test_por_app import por, shell
from test_runs import cl, ok, show


def wait_listed(s3, bucket, prefix, want, timeout=120):
    end = time.time() + timeout
    keys = set()
    while time.time() < end:
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
                .get("Contents", [])}
        if want <= keys:
            return keys
        time.sleep(0.1)
    raise AssertionError(f"missing under {prefix}: {sorted(want - keys)}")


def test_upload_ledger_then_proofs_appear_beside_it(make_server, tmp_path):
    srv = make_server("portrigger")
    creds = srv.admin_creds()
    d = tmp_path / "por-app"
    p = por("app", "--out", d)
    assert p.returncode == 0, p.stderr
    dep = shell(srv, creds, p.stdout.strip())
    assert dep.returncode == 0, dep.stderr
    s3 = srv.boto3_client("s3", creds)
    bucket = uniq("reserves")
    s3.create_bucket(Bucket=bucket)
    s3.delete_public_access_block(Bucket=bucket)  # proofs.zip is public: new buckets block it (AWS default)
    ok(cl(srv, creds, "trigger", "add", "--bucket", bucket, "--suffix", "private_ledger.json",
          "--app", "por"))
    accts = gen_accounts(5, assets_of(2), seed=7)
    ledger = write_ledger(tmp_path / "private_ledger.json", assets_of(2), accts)
    prefix = "proof-runs/2024-01-15/"
    rc, _, err = srv.aws(AWS_CLIS[0], ["s3", "cp", str(ledger),
                                      f"s3://{bucket}/{prefix}private_ledger.json"], creds=creds)
    assert rc == 0, err
    want = {prefix + n for n in ("final_proof.json", "merkle_tree.json", "proofs.zip")}
    want |= {f"{prefix}user_proofs/{h}.json" for h in accts}
    keys = wait_listed(s3, bucket, prefix, want)
    assert not any("private_nonces" in k for k in keys), keys
    tasks = [l.split() for l in ok(cl(srv, creds, "task", "list", "--app", "por")).stdout
             .splitlines() if l.startswith("0x")]
    assert len(tasks) == 1 and tasks[0][1] == "done", tasks
    assert show(srv, creds, tasks[0][0])["State"] == "done"
    # downloaded with the stock CLI, the proof verifies
    out = tmp_path / "downloaded"
    rc, _, err = srv.aws(AWS_CLIS[0], ["s3", "cp", "--recursive", f"s3://{bucket}/{prefix}",
                                      str(out)], creds=creds)
    assert rc == 0, err
    v = por("verify", out)
    assert v.returncode == 0, v.stdout + v.stderr
    incl = por("verify-inclusion", *sorted((out / "user_proofs").iterdir()), "--root",
               out / "final_proof.json")
    assert incl.returncode == 0, incl.stdout + incl.stderr
    # proofs.zip is public (the app's manifest says so); the rest is not
    url = f"{srv.endpoint}/{bucket}/{prefix}proofs.zip"
    assert urllib.request.urlopen(url).status == 200
    # an upload of other.json starts nothing
    s3.put_object(Bucket=bucket, Key=prefix + "other.json", Body=b"{}")
    time.sleep(1)
    again = [l for l in ok(cl(srv, creds, "task", "list", "--app", "por")).stdout.splitlines()
             if l.startswith("0x")]
    assert len(again) == 1, again
