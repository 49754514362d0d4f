"""Server-side encryption: SSE-S3 (per request and as the bucket default) and
SSE-C (over HTTPS, as AWS requires). Objects read back byte-exact, also by
range; the bytes on disk are not the plaintext; SSE-C needs the right key.
SSE-KMS has its own file (test_s3_kms.py)."""
import base64
import hashlib
import os
import signal
import subprocess
import time
import urllib.request
import ssl

import botocore.session
import pytest
from botocore.exceptions import ClientError

from conftest import (BIN, blobs_contain, boto3_client, client_error, free_port, meta_args,
                      read_credentials, run_aws)


def test_sse_s3(server, aws_cli, tmp_path):
    creds = server.admin_creds()
    o = boto3_client(server.endpoint, "s3", creds)
    bucket = "sse-" + aws_cli[0].replace("awscli-", "")
    o.create_bucket(Bucket=bucket)
    marker = os.urandom(16)
    data = marker * 20000  # 320 KB: several 64 KiB segments, a recognisable pattern
    (tmp_path / "in").write_bytes(data)
    rc, _, err = run_aws(aws_cli, server.endpoint, ["s3", "cp", str(tmp_path / "in"), f"s3://{bucket}/enc",
                                                    "--sse", "AES256", "--no-progress"], creds=creds)
    assert rc == 0, err
    head = o.head_object(Bucket=bucket, Key="enc")
    assert head["ServerSideEncryption"] == "AES256" and head["ContentLength"] == len(data)
    got = o.get_object(Bucket=bucket, Key="enc")
    assert got["Body"].read() == data and got["ServerSideEncryption"] == "AES256"
    for a, b in ((0, 10), (65530, 65545), (len(data) - 100, len(data) - 1), (100000, 250000)):
        assert o.get_object(Bucket=bucket, Key="enc", Range=f"bytes={a}-{b}")["Body"].read() == data[a:b + 1]
    assert not blobs_contain(server.data_dir, marker), "plaintext found on disk"
    # an unencrypted object, by contrast, is stored as is (the check above can fail)
    o.put_object(Bucket=bucket, Key="plain", Body=marker * 4)
    assert blobs_contain(server.data_dir, marker)
    o.delete_object(Bucket=bucket, Key="plain")


def test_bucket_default_encryption(server):
    creds = server.admin_creds()
    o = boto3_client(server.endpoint, "s3", creds)
    o.create_bucket(Bucket="sse-default")
    with pytest.raises(ClientError) as ei:
        o.get_bucket_encryption(Bucket="sse-default")
    assert client_error(ei.value)[0] == "ServerSideEncryptionConfigurationNotFoundError"
    o.put_bucket_encryption(Bucket="sse-default", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    rule = o.get_bucket_encryption(Bucket="sse-default")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    marker = os.urandom(16)
    r = o.put_object(Bucket="sse-default", Key="k", Body=marker * 100)
    assert r["ServerSideEncryption"] == "AES256"
    assert o.get_object(Bucket="sse-default", Key="k")["Body"].read() == marker * 100
    assert not blobs_contain(server.data_dir, marker)
    # a multipart upload follows the bucket default too (test_s3_sse_copy_multipart.py has more)
    up = o.create_multipart_upload(Bucket="sse-default", Key="mp")
    assert up["ServerSideEncryption"] == "AES256"
    etag = o.upload_part(Bucket="sse-default", Key="mp", UploadId=up["UploadId"], PartNumber=1,
                         Body=marker * 7)["ETag"]
    o.complete_multipart_upload(Bucket="sse-default", Key="mp", UploadId=up["UploadId"],
                                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert o.get_object(Bucket="sse-default", Key="mp")["Body"].read() == marker * 7
    assert not blobs_contain(server.data_dir, marker)


def tls_server(tmp_path):
    port, tls_port = free_port(), free_port()
    data = tmp_path / "data"
    proc = subprocess.Popen([str(BIN), "serve", "--data", str(data), "--listen", f"127.0.0.1:{port}",
                             "--tls-listen", f"127.0.0.1:{tls_port}", *meta_args(data)], stdout=subprocess.DEVNULL,
                            stderr=open(tmp_path / "err", "wb"), stdin=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if (data / "tls" / "ca.pem").exists():
                ctx = ssl.create_default_context(cafile=str(data / "tls" / "ca.pem"))
                with urllib.request.urlopen(f"https://localhost:{tls_port}/_cloister/health", context=ctx,
                                            timeout=1) as r:
                    if r.status == 200:
                        return proc, port, tls_port, data
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    pytest.fail("TLS server did not start")


def test_sse_c_over_https(tmp_path):
    proc, port, tls_port, data_dir = tls_server(tmp_path)
    try:
        creds = read_credentials(data_dir / "credentials")
        sess = botocore.session.get_session()
        o = sess.create_client("s3", endpoint_url=f"https://localhost:{tls_port}", region_name="us-east-1",
                               verify=str(data_dir / "tls" / "ca.pem"), aws_access_key_id=creds["AccessKeyId"],
                               aws_secret_access_key=creds["SecretAccessKey"])
        o.create_bucket(Bucket="ssec")
        key = os.urandom(32)
        other = os.urandom(32)
        marker = os.urandom(16)
        body = marker * 5000
        o.put_object(Bucket="ssec", Key="k", Body=body, SSECustomerAlgorithm="AES256", SSECustomerKey=key)
        got = o.get_object(Bucket="ssec", Key="k", SSECustomerAlgorithm="AES256", SSECustomerKey=key)
        assert got["Body"].read() == body
        assert got["SSECustomerKeyMD5"] == base64.b64encode(hashlib.md5(key).digest()).decode()
        with pytest.raises(ClientError) as ei:
            o.get_object(Bucket="ssec", Key="k", SSECustomerAlgorithm="AES256", SSECustomerKey=other)
        assert client_error(ei.value)[1] == 403
        with pytest.raises(ClientError) as ei:
            o.get_object(Bucket="ssec", Key="k")
        assert client_error(ei.value)[0] == "InvalidRequest"
        # multipart with SSE-C: every part carries the key; so does the GET
        part = os.urandom(5 << 20)
        up = o.create_multipart_upload(Bucket="ssec", Key="mp", SSECustomerAlgorithm="AES256",
                                       SSECustomerKey=key)["UploadId"]
        etags = [o.upload_part(Bucket="ssec", Key="mp", UploadId=up, PartNumber=n, Body=b,
                               SSECustomerAlgorithm="AES256", SSECustomerKey=key)["ETag"]
                 for n, b in ((1, part), (2, marker * 100))]
        with pytest.raises(ClientError) as ei:  # a part without the key is refused
            o.upload_part(Bucket="ssec", Key="mp", UploadId=up, PartNumber=3, Body=b"x")
        assert client_error(ei.value)[0] == "InvalidRequest"
        o.complete_multipart_upload(Bucket="ssec", Key="mp", UploadId=up, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": etags[0]}, {"PartNumber": 2, "ETag": etags[1]}]})
        got = o.get_object(Bucket="ssec", Key="mp", SSECustomerAlgorithm="AES256", SSECustomerKey=key,
                           Range=f"bytes={len(part) - 10}-{len(part) + 99}")["Body"].read()
        assert got == part[-10:] + (marker * 100)[:100]
        # copy an SSE-C object: the source key in x-amz-copy-source-..., the copy under another key
        o.copy_object(Bucket="ssec", Key="copy", CopySource="ssec/k", CopySourceSSECustomerAlgorithm="AES256",
                      CopySourceSSECustomerKey=key, SSECustomerAlgorithm="AES256", SSECustomerKey=other)
        assert o.get_object(Bucket="ssec", Key="copy", SSECustomerAlgorithm="AES256",
                            SSECustomerKey=other)["Body"].read() == body
        with pytest.raises(ClientError) as ei:  # without the source's key the copy is refused
            o.copy_object(Bucket="ssec", Key="copy2", CopySource="ssec/k")
        assert client_error(ei.value)[0] == "InvalidRequest"
        assert not blobs_contain(str(data_dir), marker)
        # over plain HTTP the customer key is refused, as AWS does
        plain = boto3_client(f"http://127.0.0.1:{port}", "s3", creds)
        with pytest.raises(ClientError) as ei:
            plain.put_object(Bucket="ssec", Key="k2", Body=b"x", SSECustomerAlgorithm="AES256", SSECustomerKey=key)
        assert client_error(ei.value)[0] == "InvalidRequest"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_sse_s3_node_key_sealed_at_rest(make_server, tmp_path):
    """The SSE-S3 node key is stored sealed under the KMS root key; a plain key
    file (left by an earlier version) is sealed on start and keeps its value:
    an object encrypted after the migration still opens when the same plain key
    is put back, which a freshly made key could not do. (The earlier version's
    data dir starts with its plain key: a node whose key differs from the one
    the meta store first recorded is refused, test_ops.py.)"""
    srv = make_server("ssekey")
    path = srv.data_dir / "keys" / "sse-s3.key"
    sealed = path.read_bytes()
    assert len(sealed) == 5 + 12 + 32 + 16 and sealed.startswith(b"CLSK1")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    # the node key made on first start survives restarts (objects stay readable)
    o = srv.boto3_client("s3")
    o.create_bucket(Bucket="sse-node-key")
    o.put_object(Bucket="sse-node-key", Key="a", Body=b"first" * 100, ServerSideEncryption="AES256")
    srv.restart()
    assert srv.boto3_client("s3").get_object(Bucket="sse-node-key", Key="a")["Body"].read() == b"first" * 100
    assert path.read_bytes() == sealed  # opened, not remade
    # an earlier version's plain key is sealed on start, keeping its value
    assert srv.stop() == 0
    from conftest import CloisterServer
    srv = CloisterServer(tmp_path / "data", tmp_path)
    path = srv.data_dir / "keys" / "sse-s3.key"
    path.parent.mkdir(parents=True, mode=0o700)
    plain = os.urandom(32)
    path.write_bytes(plain)
    try:
        plain_key_kept(srv, path, plain)
    finally:
        srv.stop()


def plain_key_kept(srv, path, plain):
    srv.start()
    srv.boto3_client("s3").create_bucket(Bucket="sse-node-key")
    migrated = path.read_bytes()
    assert migrated.startswith(b"CLSK1") and plain not in migrated
    o = srv.boto3_client("s3")
    o.put_object(Bucket="sse-node-key", Key="b", Body=b"second" * 100, ServerSideEncryption="AES256")
    srv.stop()
    path.write_bytes(plain)
    srv.start()
    assert srv.boto3_client("s3").get_object(Bucket="sse-node-key", Key="b")["Body"].read() == b"second" * 100
    # a damaged key file stops the server with a message instead of making a new key
    srv.stop()
    bad = bytearray(path.read_bytes())
    bad[-1] ^= 1
    path.write_bytes(bytes(bad))
    p = subprocess.run([str(BIN), "serve", "--data", str(srv.data_dir), "--listen", f"127.0.0.1:{free_port()}"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "sse-s3.key" in p.stderr
    assert path.read_bytes() == bytes(bad)
