"""Checksums of multipart uploads (issue 16): x-amz-checksum-algorithm / -type on
CreateMultipartUpload echoed; per-part checksums verified (BadDigest), computed
when the client sends none, a part of another algorithm refused (InvalidRequest);
ListParts shows them; CompleteMultipartUpload checks the parts' checksums in its
body (InvalidPart) and answers the COMPOSITE (base64(H(raw part checksums)) "-N")
or FULL_OBJECT (combined CRC) checksum, which HEAD/GET with checksum mode and
GetObjectAttributes return. Known values: ceph/s3-tests (test_multipart_*cksum*).
boto3 and both aws CLIs' multipart copies (20 MiB) keep working, with right checksums."""
import base64
import hashlib
import struct
import zlib

import pytest
from botocore.exceptions import ClientError

from conftest import client_error, uniq

MIB = 1 << 20
# ceph/s3-tests: three 5 MiB parts of 'A', 'B', 'C'
PARTS_ABC = [b"A" * 5 * MIB, b"B" * 5 * MIB, b"C" * 5 * MIB]
SHA256_ABC = ["275VF5loJr1YYawit0XSHREhkFXYkkPKGuoK0x9VKxI=",
              "mrHwOfjTL5Zwfj74F05HOQGLdUb7E5szdCbxgUSq6NM=",
              "Vw7oB/nKQ5xWb3hNgbyfkvDiivl+U+/Dft48nfJfDow="]
SHA256_ABC_COMPOSITE = "uWBwpe1dxI4Vw8Gf0X9ynOdw/SS6VBzfWm9giiv1sf4=-3"
ETAG_ABC = "b2add96cc9702bbf4efb0ccdfc6b7747-3"
CRC32C_ABC = (["MDaLrw==", "TH4EZg==", "Z7mBIQ=="], "xU+Krw==")
CRC64NVME_ABC = (["L/E4WYn8v98=", "xW1l19VobYM=", "cK5MnNaWrW4="], "i+6LR0y3eFo=")
CRC32_ABC = (["JRTCyQ==", "QoZTGg==", "YAgjqw=="], "WgDhBQ==")


def b64(raw):
    return base64.b64encode(raw).decode()


def crc32_b64(data):
    return b64(struct.pack(">I", zlib.crc32(data)))


def with_headers(client, op, headers):
    """Adds raw headers to every `op` call of client (fields boto3 1.26 lacks)."""
    def add(request, **_):
        for k, v in headers.items():
            request.headers[k] = v
    client.meta.events.register(f"before-sign.s3.{op}", add)


@pytest.fixture(scope="module")
def s3(server):
    c = server.boto3_client("s3")
    return c


@pytest.fixture(scope="module")
def bucket(s3):
    name = uniq("mpck")
    s3.create_bucket(Bucket=name)
    return name


def hdr(resp, name):
    return resp["ResponseMetadata"]["HTTPHeaders"].get(name)


def test_create_echoes_algorithm_and_type(server, s3, bucket):
    for algo in ("CRC32", "CRC32C", "SHA1", "SHA256"):
        r = s3.create_multipart_upload(Bucket=bucket, Key="echo", ChecksumAlgorithm=algo)
        assert r["ChecksumAlgorithm"] == algo
        assert hdr(r, "x-amz-checksum-type") == "COMPOSITE"
        parts = s3.list_parts(Bucket=bucket, Key="echo", UploadId=r["UploadId"])
        assert parts["ChecksumAlgorithm"] == algo
        s3.abort_multipart_upload(Bucket=bucket, Key="echo", UploadId=r["UploadId"])
    c = server.boto3_client("s3")
    with_headers(c, "CreateMultipartUpload", {"x-amz-checksum-algorithm": "CRC64NVME"})
    r = c.create_multipart_upload(Bucket=bucket, Key="echo")
    assert hdr(r, "x-amz-checksum-algorithm") == "CRC64NVME"
    assert hdr(r, "x-amz-checksum-type") == "FULL_OBJECT"
    s3.abort_multipart_upload(Bucket=bucket, Key="echo", UploadId=r["UploadId"])
    for headers in ({"x-amz-checksum-algorithm": "MD5"},
                    {"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-type": "FULL_OBJECT"},
                    {"x-amz-checksum-algorithm": "CRC64NVME", "x-amz-checksum-type": "COMPOSITE"},
                    {"x-amz-checksum-type": "COMPOSITE"}):
        c = server.boto3_client("s3")
        with_headers(c, "CreateMultipartUpload", headers)
        with pytest.raises(ClientError) as e:
            c.create_multipart_upload(Bucket=bucket, Key="echo")
        assert client_error(e.value)[:2] == ("InvalidRequest", 400), headers


def test_composite_sha256(s3, bucket):
    key = "composite"
    up = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")
    uid = up["UploadId"]
    done = []
    for i, (data, ck) in enumerate(zip(PARTS_ABC, SHA256_ABC), 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=i, Body=data,
                           ChecksumAlgorithm="SHA256", ChecksumSHA256=ck)
        assert r["ChecksumSHA256"] == ck
        done.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumSHA256": ck})
    listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)
    assert [p["ChecksumSHA256"] for p in listed["Parts"]] == SHA256_ABC
    r = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                     MultipartUpload={"Parts": done})
    assert r["ETag"].strip('"') == ETAG_ABC
    assert r["ChecksumSHA256"] == SHA256_ABC_COMPOSITE
    again = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                         MultipartUpload={"Parts": done})
    assert again["ChecksumSHA256"] == SHA256_ABC_COMPOSITE  # a retry answers the same
    assert "ChecksumSHA256" not in s3.head_object(Bucket=bucket, Key=key)
    h = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert h["ChecksumSHA256"] == SHA256_ABC_COMPOSITE
    assert hdr(h, "x-amz-checksum-type") == "COMPOSITE"
    g = s3.get_object(Bucket=bucket, Key=key, PartNumber=2, ChecksumMode="ENABLED")
    assert g["ChecksumSHA256"] == SHA256_ABC[1]
    assert g["Body"].read() == PARTS_ABC[1]
    a = s3.get_object_attributes(Bucket=bucket, Key=key,
                                 ObjectAttributes=["Checksum", "ObjectParts", "ObjectSize"])
    assert a["Checksum"]["ChecksumSHA256"] == SHA256_ABC_COMPOSITE
    assert [p["ChecksumSHA256"] for p in a["ObjectParts"]["Parts"]] == SHA256_ABC
    assert a["ObjectSize"] == 15 * MIB


@pytest.mark.parametrize("algo,vectors", [("CRC32", CRC32_ABC), ("CRC32C", CRC32C_ABC),
                                          ("CRC64NVME", CRC64NVME_ABC)])
def test_full_object_crc(server, bucket, algo, vectors):
    """FULL_OBJECT: the CRC of the whole object, from the parts' CRCs; the part
    checksums are computed by the server when the client sends none."""
    part_cks, whole = vectors
    c = server.boto3_client("s3")
    with_headers(c, "CreateMultipartUpload", {"x-amz-checksum-algorithm": algo,
                                              "x-amz-checksum-type": "FULL_OBJECT"})
    key = "full-" + algo
    uid = c.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = []
    for i, data in enumerate(PARTS_ABC, 1):
        r = c.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=i, Body=data)
        assert hdr(r, "x-amz-checksum-" + algo.lower()) == part_cks[i - 1]
        done.append({"PartNumber": i, "ETag": r["ETag"]})
    r = c.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                    MultipartUpload={"Parts": done})
    h = c.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert hdr(h, "x-amz-checksum-" + algo.lower()) == whole
    assert hdr(h, "x-amz-checksum-type") == "FULL_OBJECT"
    if algo == "CRC32":
        assert whole == crc32_b64(b"".join(PARTS_ABC))


def test_part_and_complete_errors(s3, bucket):
    key = "errors"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
    data = b"x" * 1000
    good = b64(hashlib.sha256(data).digest())
    with pytest.raises(ClientError) as e:  # a wrong value
        s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=data,
                       ChecksumSHA256=b64(hashlib.sha256(b"other").digest()))
    assert client_error(e.value)[:2] == ("BadDigest", 400)
    with pytest.raises(ClientError) as e:  # another algorithm than the upload's
        s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=data,
                       ChecksumAlgorithm="CRC32")
    assert client_error(e.value)[:2] == ("InvalidRequest", 400)
    r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=data)
    assert r["ChecksumSHA256"] == good  # none sent: computed
    bad_part = {"PartNumber": 1, "ETag": r["ETag"],
                "ChecksumSHA256": b64(hashlib.sha256(b"nope").digest())}
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                     MultipartUpload={"Parts": [bad_part]})
    assert client_error(e.value)[:2] == ("InvalidPart", 400)
    part = {"PartNumber": 1, "ETag": r["ETag"], "ChecksumSHA256": good}
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                     ChecksumSHA256=good + "-2",
                                     MultipartUpload={"Parts": [part]})
    assert client_error(e.value)[:2] == ("BadDigest", 400)
    composite = b64(hashlib.sha256(hashlib.sha256(data).digest()).digest()) + "-1"
    r = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                     ChecksumSHA256=composite, MultipartUpload={"Parts": [part]})
    assert r["ChecksumSHA256"] == composite


def test_boto3_upload_file_crc32(server, bucket, tmp_path):
    """boto3's managed transfer with CRC32 (its default in newer releases):
    the object's checksum is the composite of the parts' CRC32s."""
    from boto3.s3.transfer import TransferConfig
    c = server.boto3_client("s3")
    data = bytes(range(256)) * (20 * MIB // 256)
    src = tmp_path / "twenty"
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB)
    c.upload_file(str(src), bucket, "boto3-crc32", Config=cfg,
                  ExtraArgs={"ChecksumAlgorithm": "CRC32"})
    sizes = [8 * MIB, 8 * MIB, 4 * MIB]
    raws, off = b"", 0
    for n in sizes:
        raws += struct.pack(">I", zlib.crc32(data[off:off + n]))
        off += n
    h = c.head_object(Bucket=bucket, Key="boto3-crc32", ChecksumMode="ENABLED")
    assert h["ChecksumCRC32"] == crc32_b64(raws) + "-3"
    assert c.get_object(Bucket=bucket, Key="boto3-crc32")["Body"].read() == data


def expected_checksum(data, sizes, algo, ctype):
    if ctype == "FULL_OBJECT":
        assert algo == "CRC32"
        return crc32_b64(data)
    raws, off = b"", 0
    for n in sizes:
        piece = data[off:off + n]
        off += n
        raws += (struct.pack(">I", zlib.crc32(piece)) if algo == "CRC32"
                 else hashlib.new(algo.lower(), piece).digest())
    h = (struct.pack(">I", zlib.crc32(raws)) if algo == "CRC32"
         else hashlib.new(algo.lower(), raws).digest())
    return f"{b64(h)}-{len(sizes)}"


def test_cli_multipart_copy(server, s3, bucket, aws_cli, tmp_path):
    """`aws s3 cp` of a 20 MiB file (a multipart upload with each CLI's own
    checksum choices) and back; any checksum the object got is right."""
    data = hashlib.sha256(b"seed").digest() * (20 * MIB // 32)
    src, back = tmp_path / "up.bin", tmp_path / "down.bin"
    src.write_bytes(data)
    key = f"cli-{aws_cli[0]}"
    rc, out, err = server.aws(aws_cli, ["s3", "cp", str(src), f"s3://{bucket}/{key}"], profile=True)
    assert rc == 0, err
    rc, out, err = server.aws(aws_cli, ["s3", "cp", f"s3://{bucket}/{key}", str(back)], profile=True)
    assert rc == 0, err
    assert back.read_bytes() == data
    h = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert h["ContentLength"] == len(data)
    a = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["ObjectParts", "Checksum"])
    sizes = [p["Size"] for p in a.get("ObjectParts", {}).get("Parts", [])]
    for algo in ("CRC32", "SHA1", "SHA256"):
        got = h.get("Checksum" + algo)
        if got and sizes:
            assert got == expected_checksum(data, sizes, algo, hdr(h, "x-amz-checksum-type"))


def test_upload_part_copy_gets_the_uploads_checksum(s3, bucket):
    data = b"copy me " * 1000
    s3.put_object(Bucket=bucket, Key="copy-src", Body=data)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="copy-dst",
                                     ChecksumAlgorithm="CRC32")["UploadId"]
    r = s3.upload_part_copy(Bucket=bucket, Key="copy-dst", UploadId=uid, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "copy-src"},
                            CopySourceRange="bytes=0-99")
    assert r["CopyPartResult"]["ChecksumCRC32"] == crc32_b64(data[:100])
    listed = s3.list_parts(Bucket=bucket, Key="copy-dst", UploadId=uid)
    assert listed["Parts"][0]["ChecksumCRC32"] == crc32_b64(data[:100])
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="copy-dst", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
    raw = struct.pack(">I", zlib.crc32(data[:100]))
    assert done["ChecksumCRC32"] == crc32_b64(raw) + "-1"
