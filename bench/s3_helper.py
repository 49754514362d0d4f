"""s3_helper.py — the Python half of bench/s3_bench.sh (boto3 set-up, presigned
URLs, the timed PUT loop and its write+fsync baseline). Not a benchmark by itself.

  s3_helper.py setup   URL CREDS BUCKET WWW      bucket, public-read policy, objects
                                                 obj-4k, obj-1m, obj-64m in Cloister
                                                 and the same bytes as files in WWW;
                                                 prints the presigned GET URL of obj-4k
  s3_helper.py presign URL CREDS BUCKET KEY METHOD   prints a presigned URL (1 h)
  s3_helper.py put     URL CREDS BUCKET DIR SIZE COUNT
        COUNT sequential PUTs of SIZE random bytes (presigned, keep-alive,
        UNSIGNED-PAYLOAD: the server does the MD5, the write and the fsyncs, the
        client only sends), interleaved with COUNT write+fsync of the same bytes
        into new files in DIR (same filesystem as the server's data dir).
        prints "put_seconds fsync_seconds"
Exits non-zero when something that must work does not (wrong status, wrong ETag,
wrong bytes): the figures would not measure what they claim."""
import configparser
import hashlib
import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

SIZES = {"obj-4k": 4096, "obj-1m": 1 << 20, "obj-64m": 64 << 20}


def client(url, cred_path):
    import boto3
    from botocore.config import Config
    cp = configparser.ConfigParser()
    cp.read(cred_path)
    sec = cp["cloister"]
    return boto3.session.Session().client(
        "s3", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id=sec["aws_access_key_id"], aws_secret_access_key=sec["aws_secret_access_key"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      retries={"total_max_attempts": 1}, read_timeout=300))


def presign(c, bucket, key, method="GET"):
    op = {"GET": "get_object", "PUT": "put_object"}[method]
    return c.generate_presigned_url(op, Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600)


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def setup(url, cred_path, bucket, www):
    c = client(url, cred_path)
    c.create_bucket(Bucket=bucket)
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "BenchPublicRead", "Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    c.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    os.makedirs(www, exist_ok=True)
    for name, size in SIZES.items():
        data = os.urandom(size)
        with open(os.path.join(www, name), "wb") as f:
            f.write(data)
        c.put_object(Bucket=bucket, Key=name, Body=data)
        status, body = fetch(f"{url}/{bucket}/{name}")  # anonymous: the public policy must allow it
        if status != 200 or body != data:
            sys.exit(f"s3_helper: anonymous GET of {name} gave {status}, {len(body)} bytes "
                     f"(want 200, {size} identical bytes)")
    u = presign(c, bucket, "obj-4k")
    status, body = fetch(u)
    if status != 200 or len(body) != 4096:
        sys.exit(f"s3_helper: presigned GET gave {status}: {body[:300]!r}")
    print(u)


def write_fsync(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)


def put(url, cred_path, bucket, d, size, count):
    c = client(url, cred_path)
    data = os.urandom(size)
    etag = '"' + hashlib.md5(data).hexdigest() + '"'
    tag = f"put-{size}-{os.getpid()}"
    urls = [urllib.parse.urlsplit(presign(c, bucket, f"{tag}-{i:04d}", "PUT")) for i in range(count)]
    host = urls[0].netloc
    conn = http.client.HTTPConnection(host, timeout=300)
    os.makedirs(d, exist_ok=True)
    put_s = fsync_s = 0.0
    for i, u in enumerate(urls):
        # Alternate which goes first, so neither always inherits the other's
        # writeback or freed blocks.
        for which in ((0, 1) if i % 2 == 0 else (1, 0)):
            if which == 0:
                path = os.path.join(d, f"{tag}-{i:04d}")
                t = time.perf_counter()
                write_fsync(path, data)
                fsync_s += time.perf_counter() - t
                os.unlink(path)  # not timed
                continue
            t = time.perf_counter()
            conn.request("PUT", u.path + "?" + u.query, body=data)
            r = conn.getresponse()
            body = r.read()
            put_s += time.perf_counter() - t
            if r.status != 200 or r.getheader("ETag") != etag:
                sys.exit(f"s3_helper: PUT {u.path} gave {r.status} ETag {r.getheader('ETag')} "
                         f"(want 200 {etag}): {body[:300]!r}")
    conn.close()
    print(f"{put_s:.6f} {fsync_s:.6f}")


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "setup" and len(argv) == 6:
        setup(*argv[2:6])
    elif cmd == "presign" and len(argv) == 7:
        print(presign(client(argv[2], argv[3]), argv[4], argv[5], argv[6]))
    elif cmd == "put" and len(argv) == 8:
        put(argv[2], argv[3], argv[4], argv[5], int(argv[6]), int(argv[7]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
