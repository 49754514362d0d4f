"""The AWS SDK for JavaScript v3 (current @aws-sdk/client-s3 from npm, installed by
make deps) with its default checksum settings: PutObject (buffer and stream),
a multipart upload, GetObject byte-exact (tests/e2e/js/s3_roundtrip.mjs)."""
import json
import os
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).parent / "js"


def test_sdk_js_v3_round_trip(server):
    if not (JS / "node_modules" / "@aws-sdk" / "client-s3").is_dir():
        pytest.fail("@aws-sdk/client-s3 is not installed: run `make deps`")
    creds = server.admin_creds()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"ENDPOINT": server.endpoint, "BUCKET": "sdk-js-v3", "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"], "AWS_REGION": "us-east-1"})
    p = subprocess.run(["node", str(JS / "s3_roundtrip.mjs")], capture_output=True, text=True, env=env,
                       timeout=300)
    assert p.returncode == 0, p.stderr + p.stdout
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["ok"] is True
    assert out["putChecksumCRC32"], "the SDK sent a CRC32 by default and the server must return it"
    assert out["multipartETag"].strip('"').endswith("-3")
