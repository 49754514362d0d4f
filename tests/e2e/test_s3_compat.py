"""S3 object semantics of issue 16, with the stock clients (boto3; both aws CLIs where
the CLI has the command): unimplemented sub-resources answer 501 (never the object's
bytes), object ownership as AWS defaults it (BucketOwnerEnforced, ACLs disabled),
conditional writes, partNumber on GET/HEAD, GetObjectAttributes, the response-*
overrides, and small listing/metadata details."""
import json
import threading

import pytest
from botocore.exceptions import ClientError

from conftest import aws_error_code, client_error, uniq

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def s3(server):
    return server.boto3_client("s3")


@pytest.fixture(scope="module")
def bucket(s3):
    name = uniq("compat")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="obj", Body=b"object-bytes")
    return name


@pytest.fixture(scope="module")
def owner_id(s3):
    return s3.list_buckets()["Owner"]["ID"]


def expect(code, status, fn, *args, **kwargs):
    with pytest.raises(ClientError) as ei:
        fn(*args, **kwargs)
    got = client_error(ei.value)
    assert got[0] == code and (status is None or got[1] == status), got
    return got


def add_headers(client, headers, event="before-sign.s3.*"):
    """Adds headers to the client's requests before signing (so they are signed):
    for headers the installed botocore does not model yet. Returns the remover."""
    def hook(request, **kwargs):
        for k, v in headers.items():
            request.headers[k] = v
    client.meta.events.register(event, hook)
    return lambda: client.meta.events.unregister(event, hook)


# --------------------------------------------------------------------- 1. sub-resources
def test_object_acl_is_not_the_object(s3, bucket, owner_id):
    """GET /b/k?acl used to answer the object's bytes with 200."""
    r = s3.get_object_acl(Bucket=bucket, Key="obj")
    assert r["Owner"]["ID"] == owner_id
    assert r["Grants"] == [{"Grantee": {"ID": owner_id, "DisplayName": owner_id,
                                        "Type": "CanonicalUser"},
                            "Permission": "FULL_CONTROL"}]


@pytest.mark.parametrize("call", [
    lambda c, b: c.get_object_retention(Bucket=b, Key="obj"),
    lambda c, b: c.get_object_legal_hold(Bucket=b, Key="obj"),
    lambda c, b: c.put_object_retention(Bucket=b, Key="obj", Retention={
        "Mode": "GOVERNANCE", "RetainUntilDate": "2030-01-01T00:00:00Z"}),
    lambda c, b: c.put_object_legal_hold(Bucket=b, Key="obj", LegalHold={"Status": "ON"}),
    lambda c, b: c.get_object_torrent(Bucket=b, Key="obj")["Body"].read(),
    lambda c, b: c.restore_object(Bucket=b, Key="obj", RestoreRequest={"Days": 1}),
], ids=["get-retention", "get-legal-hold", "put-retention", "put-legal-hold", "torrent",
        "restore"])
def test_unimplemented_object_subresources_501(s3, bucket, call):
    expect("NotImplemented", 501, call, s3, bucket)
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"object-bytes"


def test_unimplemented_select_501(server, s3, bucket):
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    url = f"{server.endpoint}/{bucket}/obj?select&select-type=2"
    req = AWSRequest(method="POST", url=url, data=b"<SelectObjectContentRequest/>")
    creds = s3._request_signer._credentials
    req.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    r = requests.post(url, data=b"<SelectObjectContentRequest/>", headers=dict(req.headers))
    assert r.status_code == 501 and b"NotImplemented" in r.content


# --------------------------------------------------------------------- 2. ownership and ACLs
def test_bucket_acl_owner_full_control(s3, bucket, owner_id):
    r = s3.get_bucket_acl(Bucket=bucket)
    assert r["Owner"] == {"ID": owner_id, "DisplayName": owner_id}
    assert [(g["Grantee"]["ID"], g["Permission"]) for g in r["Grants"]] == [
        (owner_id, "FULL_CONTROL")]


def test_put_acls_private_accepted_others_refused(s3, bucket, owner_id):
    for acl in ("private", "bucket-owner-full-control"):
        s3.put_object_acl(Bucket=bucket, Key="obj", ACL=acl)
        s3.put_object(Bucket=bucket, Key="acl-ok", Body=b"x", ACL=acl)
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    s3.put_object_acl(Bucket=bucket, Key="obj", GrantFullControl=f'id="{owner_id}"')
    for acl in ("public-read", "public-read-write", "authenticated-read"):
        expect("AccessControlListNotSupported", 400, s3.put_object_acl, Bucket=bucket,
               Key="obj", ACL=acl)
        expect("AccessControlListNotSupported", 400, s3.put_bucket_acl, Bucket=bucket, ACL=acl)
        expect("AccessControlListNotSupported", 400, s3.put_object, Bucket=bucket,
               Key="acl-no", Body=b"x", ACL=acl)
        expect("AccessControlListNotSupported", 400, s3.copy_object, Bucket=bucket,
               Key="acl-no", CopySource={"Bucket": bucket, "Key": "obj"}, ACL=acl)
        expect("AccessControlListNotSupported", 400, s3.create_multipart_upload,
               Bucket=bucket, Key="acl-no", ACL=acl)
    expect("AccessControlListNotSupported", 400, s3.put_object, Bucket=bucket, Key="acl-no",
           Body=b"x", GrantRead="uri=http://acs.amazonaws.com/groups/global/AllUsers")
    _, msg = None, expect("AccessControlListNotSupported", 400, s3.put_object_acl,
                          Bucket=bucket, Key="obj", GrantRead=f'id="{owner_id}"')[2]
    assert msg == "The bucket does not allow ACLs"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="acl-no")  # nothing was stored


def test_put_acl_xml_body(s3, bucket, owner_id):
    me = {"ID": owner_id, "Type": "CanonicalUser"}
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy={
        "Owner": {"ID": owner_id},
        "Grants": [{"Grantee": me, "Permission": "FULL_CONTROL"}]})
    s3.put_object_acl(Bucket=bucket, Key="obj", AccessControlPolicy={
        "Owner": {"ID": owner_id},
        "Grants": [{"Grantee": me, "Permission": "FULL_CONTROL"}]})
    bad = [
        [{"Grantee": me, "Permission": "FULL_CONTROL"},
         {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
          "Permission": "READ"}],
        [{"Grantee": {"ID": "123456789012", "Type": "CanonicalUser"},
          "Permission": "FULL_CONTROL"}],
        [{"Grantee": me, "Permission": "READ"}],
    ]
    for grants in bad:
        expect("AccessControlListNotSupported", 400, s3.put_bucket_acl, Bucket=bucket,
               AccessControlPolicy={"Owner": {"ID": owner_id}, "Grants": grants})


def test_object_acl_missing_key(s3, bucket):
    expect("NoSuchKey", 404, s3.get_object_acl, Bucket=bucket, Key="no-such-key")


def test_create_bucket_acl(s3):
    ok = uniq("compat-acl")
    s3.create_bucket(Bucket=ok, ACL="private")
    bad = uniq("compat-acl")
    expect("InvalidBucketAclWithObjectOwnership", 400, s3.create_bucket, Bucket=bad,
           ACL="public-read")
    expect("404", 404, s3.head_bucket, Bucket=bad)
    s3.create_bucket(Bucket=bad, ObjectOwnership="BucketOwnerEnforced")


def test_ownership_controls(s3):
    b = uniq("compat-own")
    s3.create_bucket(Bucket=b)
    rules = s3.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    s3.delete_bucket_ownership_controls(Bucket=b)
    expect("OwnershipControlsNotFoundError", 404, s3.get_bucket_ownership_controls, Bucket=b)
    # ACLs stay disabled
    expect("AccessControlListNotSupported", 400, s3.put_bucket_acl, Bucket=b, ACL="public-read")
    for other in ("ObjectWriter", "BucketOwnerPreferred"):
        expect("NotImplemented", 501, s3.put_bucket_ownership_controls, Bucket=b,
               OwnershipControls={"Rules": [{"ObjectOwnership": other}]})
    expect("OwnershipControlsNotFoundError", 404, s3.get_bucket_ownership_controls, Bucket=b)
    s3.put_bucket_ownership_controls(
        Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    rules = s3.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_acls_with_cli(server, aws_cli, s3, bucket, owner_id, tmp_path):
    rc, out, err = server.aws(aws_cli, ["s3api", "get-object-acl", "--bucket", bucket,
                                        "--key", "obj"], profile=True)
    assert rc == 0, err
    assert json.loads(out)["Grants"][0]["Grantee"]["ID"] == owner_id
    rc, out, err = server.aws(aws_cli, ["s3api", "put-object-acl", "--bucket", bucket,
                                        "--key", "obj", "--acl", "public-read"], profile=True)
    assert rc != 0 and aws_error_code(err) == "AccessControlListNotSupported", err
    f = tmp_path / "f.txt"
    f.write_bytes(b"cli")
    rc, out, err = server.aws(aws_cli, ["s3", "cp", str(f), f"s3://{bucket}/cli-acl",
                                        "--acl", "public-read"], profile=True)
    assert rc != 0 and "AccessControlListNotSupported" in err, err


# --------------------------------------------------------------------- 4. conditional writes
def put_if(s3, bucket, key, body, **headers):
    remove = add_headers(s3, headers, "before-sign.s3.PutObject")
    try:
        return s3.put_object(Bucket=bucket, Key=key, Body=body)
    finally:
        remove()


def test_put_if_none_match(s3, bucket):
    key = uniq("inm")
    put_if(s3, bucket, key, b"first", **{"If-None-Match": "*"})
    expect("PreconditionFailed", 412, put_if, s3, bucket, key, b"second",
           **{"If-None-Match": "*"})
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"first"
    expect("NotImplemented", 501, put_if, s3, bucket, key, b"x",
           **{"If-None-Match": '"abc"'})


def test_put_if_match(s3, bucket):
    key = uniq("im")
    etag = s3.put_object(Bucket=bucket, Key=key, Body=b"v1")["ETag"]
    etag2 = put_if(s3, bucket, key, b"v2", **{"If-Match": etag})["ETag"]
    expect("PreconditionFailed", 412, put_if, s3, bucket, key, b"v3", **{"If-Match": etag})
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"v2"
    put_if(s3, bucket, key, b"v4", **{"If-Match": etag2})
    expect("NoSuchKey", 404, put_if, s3, bucket, uniq("im-missing"), b"x",
           **{"If-Match": etag})


def test_conditional_race_one_winner(server, bucket):
    """Two If-None-Match: * PUTs of the same new key at once: exactly one succeeds."""
    clients = [server.boto3_client("s3") for _ in range(2)]
    for _ in range(8):
        key = uniq("race")
        results = [None, None]

        def go(i):
            try:
                put_if(clients[i], bucket, key, b"writer-%d" % i, **{"If-None-Match": "*"})
                results[i] = "ok"
            except ClientError as e:
                results[i] = client_error(e)[0]
        ts = [threading.Thread(target=go, args=(i,)) for i in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert sorted(results) in (["PreconditionFailed", "ok"],
                                   ["ConditionalRequestConflict", "ok"]), results


def _mpu(s3, bucket, key):
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1,
                          Body=b"part")["ETag"]
    return uid, {"Parts": [{"PartNumber": 1, "ETag": etag}]}


def test_complete_multipart_if_none_match(s3, bucket):
    key = uniq("mpu-inm")
    s3.put_object(Bucket=bucket, Key=key, Body=b"existing")
    uid, parts = _mpu(s3, bucket, key)
    remove = add_headers(s3, {"If-None-Match": "*"}, "before-sign.s3.CompleteMultipartUpload")
    try:
        expect("PreconditionFailed", 412, s3.complete_multipart_upload, Bucket=bucket, Key=key,
               UploadId=uid, MultipartUpload=parts)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"existing"
        s3.delete_object(Bucket=bucket, Key=key)
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=parts)
    finally:
        remove()
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"part"


def test_complete_multipart_if_match(s3, bucket):
    key = uniq("mpu-im")
    uid, parts = _mpu(s3, bucket, key)
    remove = add_headers(s3, {"If-Match": '"0123456789abcdef0123456789abcdef"'},
                         "before-sign.s3.CompleteMultipartUpload")
    try:
        expect("NoSuchKey", 404, s3.complete_multipart_upload, Bucket=bucket, Key=key,
               UploadId=uid, MultipartUpload=parts)
        s3.put_object(Bucket=bucket, Key=key, Body=b"other")
        expect("PreconditionFailed", 412, s3.complete_multipart_upload, Bucket=bucket, Key=key,
               UploadId=uid, MultipartUpload=parts)
    finally:
        remove()


def test_conditional_put_cli_v1(server, aws_cli, bucket, tmp_path):
    """aws s3api put-object --if-none-match (CLI v1 with a current botocore; Debian's
    v2 2.9 predates the option and is skipped)."""
    f = tmp_path / "body"
    f.write_bytes(b"cli")
    key = uniq("cli-inm")
    args = ["s3api", "put-object", "--bucket", bucket, "--key", key, "--body", str(f),
            "--if-none-match", "*"]
    rc, out, err = server.aws(aws_cli, args, profile=True)
    if rc != 0 and "Unknown options" in err:
        pytest.skip(f"{aws_cli[0]} has no --if-none-match")
    assert rc == 0, err
    rc, out, err = server.aws(aws_cli, args, profile=True)
    assert rc != 0 and aws_error_code(err) == "PreconditionFailed", err


# --------------------------------------------------------------------- 5. partNumber
@pytest.fixture(scope="module")
def mpu_object(s3, bucket):
    key = uniq("parts")
    p1, p2 = b"a" * (5 * MiB), b"second part"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=p1)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=2, Body=p2)["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    return key, p1, p2


def test_get_part_number(s3, bucket, mpu_object):
    key, p1, p2 = mpu_object
    total = len(p1) + len(p2)
    r = s3.get_object(Bucket=bucket, Key=key, PartNumber=2)
    assert r["Body"].read() == p2
    assert r["PartsCount"] == 2
    assert r["ContentRange"] == f"bytes {len(p1)}-{total - 1}/{total}"
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
    r = s3.get_object(Bucket=bucket, Key=key, PartNumber=1)
    assert r["Body"].read() == p1 and r["ContentRange"] == f"bytes 0-{len(p1) - 1}/{total}"
    h = s3.head_object(Bucket=bucket, Key=key, PartNumber=2)
    assert h["ContentLength"] == len(p2) and h["PartsCount"] == 2
    expect("InvalidPartNumber", 416, s3.get_object, Bucket=bucket, Key=key, PartNumber=3)
    expect("InvalidArgument", 400, s3.get_object, Bucket=bucket, Key=key, PartNumber=0)
    expect("InvalidRequest", 400, s3.get_object, Bucket=bucket, Key=key, PartNumber=1,
           Range="bytes=0-1")


def test_part_number_simple_object(s3, bucket):
    r = s3.get_object(Bucket=bucket, Key="obj", PartNumber=1)
    assert r["Body"].read() == b"object-bytes" and "PartsCount" not in r
    expect("InvalidPartNumber", 416, s3.get_object, Bucket=bucket, Key="obj", PartNumber=2)


def test_part_number_cli(server, aws_cli, bucket, mpu_object, tmp_path):
    key, p1, p2 = mpu_object
    out_file = tmp_path / "part2"
    rc, out, err = server.aws(aws_cli, ["s3api", "get-object", "--bucket", bucket, "--key", key,
                                        "--part-number", "2", str(out_file)], profile=True)
    assert rc == 0, err
    assert out_file.read_bytes() == p2 and json.loads(out)["PartsCount"] == 2


# --------------------------------------------------------------------- 6. response-* overrides
OVERRIDES = {"ResponseContentType": ("ContentType", "text/x-override"),
             "ResponseContentLanguage": ("ContentLanguage", "fr"),
             "ResponseCacheControl": ("CacheControl", "no-store"),
             "ResponseContentDisposition": ("ContentDisposition", 'attachment; filename="x.bin"'),
             "ResponseContentEncoding": ("ContentEncoding", "identity")}


def test_response_overrides(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="ovr", Body=b"o", ContentType="text/plain",
                  CacheControl="max-age=60")
    r = s3.get_object(Bucket=bucket, Key="ovr", ResponseExpires="Wed, 21 Oct 2037 07:28:00 GMT",
                      **{k: v[1] for k, v in OVERRIDES.items()})
    for k, (field, value) in OVERRIDES.items():
        assert r[field] == value, (field, r[field])
    hdrs = r["ResponseMetadata"]["HTTPHeaders"]
    assert hdrs["expires"] == "Wed, 21 Oct 2037 07:28:00 GMT"
    assert hdrs["content-type"] == "text/x-override"  # replaced, not sent twice
    import requests
    from conftest import presigner
    url = presigner(s3).generate_presigned_url("get_object", Params={
        "Bucket": bucket, "Key": "ovr", "ResponseContentDisposition": "attachment"})
    g = requests.get(url)
    assert g.status_code == 200 and g.headers["Content-Disposition"] == "attachment"


def test_response_overrides_anonymous_refused(server, s3):
    import requests
    b = uniq("compat-pub")
    s3.create_bucket(Bucket=b)
    s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={
        "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False})
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{b}/*"}]}))
    s3.put_object(Bucket=b, Key="pub", Body=b"public")
    assert requests.get(f"{server.endpoint}/{b}/pub").content == b"public"
    r = requests.get(f"{server.endpoint}/{b}/pub?response-content-type=text/html")
    assert r.status_code == 400 and b"<Code>InvalidRequest</Code>" in r.content


def test_response_overrides_cli(server, aws_cli, bucket, tmp_path):
    rc, out, err = server.aws(aws_cli, ["s3api", "get-object", "--bucket", bucket, "--key", "obj",
                                        "--response-content-type", "application/x-cli",
                                        str(tmp_path / "o")], profile=True)
    assert rc == 0, err
    assert json.loads(out)["ContentType"] == "application/x-cli"


# --------------------------------------------------------------------- 3. GetObjectAttributes
ALL_ATTRS = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]


def test_get_object_attributes_simple(s3, bucket):
    key = uniq("attrs")
    put = s3.put_object(Bucket=bucket, Key=key, Body=b"attribute-bytes",
                        ChecksumAlgorithm="SHA256")
    r = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=ALL_ATTRS)
    assert r["ETag"] == put["ETag"].strip('"')
    assert r["ObjectSize"] == len(b"attribute-bytes")
    assert r["StorageClass"] == "STANDARD"
    assert r["Checksum"]["ChecksumSHA256"] == put["ChecksumSHA256"]
    assert "ObjectParts" not in r and r["LastModified"]
    r = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["ObjectSize"])
    assert "ETag" not in r and r["ObjectSize"] == 15
    expect("NoSuchKey", 404, s3.get_object_attributes, Bucket=bucket, Key="nope",
           ObjectAttributes=["ETag"])
    expect("InvalidArgument", 400, s3.get_object_attributes, Bucket=bucket, Key=key,
           ObjectAttributes=["Bogus"])


def test_get_object_attributes_parts(s3, bucket, mpu_object):
    key, p1, p2 = mpu_object
    r = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=ALL_ATTRS)
    assert r["ObjectSize"] == len(p1) + len(p2) and r["ETag"].endswith("-2")
    parts = r["ObjectParts"]
    assert parts["TotalPartsCount"] == 2 and parts["IsTruncated"] is False
    assert [(p["PartNumber"], p["Size"]) for p in parts["Parts"]] == [(1, len(p1)), (2, len(p2))]
    r = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["ObjectParts"],
                                 MaxParts=1)
    assert r["ObjectParts"]["IsTruncated"] is True
    assert r["ObjectParts"]["NextPartNumberMarker"] == 1
    assert [p["PartNumber"] for p in r["ObjectParts"]["Parts"]] == [1]
    r = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["ObjectParts"],
                                 MaxParts=1, PartNumberMarker=1)
    assert [p["PartNumber"] for p in r["ObjectParts"]["Parts"]] == [2]


def test_get_object_attributes_needs_its_permission(server, s3, bucket):
    from conftest import new_user
    creds, _ = new_user(server, uniq("attrs-user"), policy={
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                "Resource": f"arn:aws:s3:::{bucket}/*"}]})
    u = server.boto3_client("s3", creds)
    assert u.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"object-bytes"
    expect("AccessDenied", 403, u.get_object_attributes, Bucket=bucket, Key="obj",
           ObjectAttributes=["ETag"])


def test_get_object_attributes_cli(server, aws_cli, bucket):
    rc, out, err = server.aws(aws_cli, ["s3api", "get-object-attributes", "--bucket", bucket,
                                        "--key", "obj", "--object-attributes", "ETag",
                                        "ObjectSize"], profile=True)
    assert rc == 0, err
    assert json.loads(out)["ObjectSize"] == len(b"object-bytes")


# --------------------------------------------------------------------- 7. small details
def test_empty_metadata_value_kept(s3, bucket):
    s3.put_object(Bucket=bucket, Key="meta", Body=b"m", Metadata={"empty": "", "full": "v"})
    assert s3.head_object(Bucket=bucket, Key="meta")["Metadata"] == {"empty": "", "full": "v"}


def test_aws_chunked_not_stored_as_content_encoding(server, s3, bucket):
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    creds = s3._request_signer._credentials
    for sent, stored in (("aws-chunked", None), ("aws-chunked,gzip", "gzip"),
                         ("gzip, aws-chunked", "gzip")):
        key = uniq("enc")
        url = f"{server.endpoint}/{bucket}/{key}"
        req = AWSRequest(method="PUT", url=url, data=b"hello", headers={
            "Content-Encoding": sent, "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "x-amz-decoded-content-length": "5"})
        SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
        body = b"5\r\nhello\r\n0\r\n\r\n"
        r = requests.put(url, data=body, headers=dict(req.headers))
        assert r.status_code == 200, r.text
        h = s3.head_object(Bucket=bucket, Key=key)
        assert h.get("ContentEncoding") == stored, (sent, h.get("ContentEncoding"))
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"hello"


def test_listing_details(s3, bucket, owner_id):
    b = uniq("compat-list")
    s3.create_bucket(Bucket=b)
    for k in ("a b+c/1", "plain"):
        s3.put_object(Bucket=b, Key=k, Body=b"x")
    r = s3.list_objects_v2(Bucket=b, FetchOwner=True)
    assert all(c["Owner"]["ID"] == owner_id for c in r["Contents"])
    assert "Owner" not in s3.list_objects_v2(Bucket=b)["Contents"][0]
    assert all(c["Owner"]["ID"] == owner_id for c in s3.list_objects(Bucket=b)["Contents"])
    # an empty delimiter is no delimiter and is not echoed
    r = s3.list_objects_v2(Bucket=b, Delimiter="")
    assert "Delimiter" not in r and len(r["Contents"]) == 2
    # v1: Prefix as sent (botocore adds encoding-type=url and does not decode Prefix)
    assert s3.list_objects(Bucket=b, Prefix="a b+c/")["Prefix"] == "a b+c/"
    assert s3.list_objects_v2(Bucket=b, Prefix="a b+c/")["Prefix"] == "a b+c/"


def test_tags_sorted(s3, bucket):
    tags = [{"Key": k, "Value": k.upper()} for k in ("zeta", "alpha", "mid", "Beta")]
    s3.put_object_tagging(Bucket=bucket, Key="obj", Tagging={"TagSet": tags})
    got = [t["Key"] for t in s3.get_object_tagging(Bucket=bucket, Key="obj")["TagSet"]]
    assert got == ["Beta", "alpha", "mid", "zeta"]


def test_upload_part_copy_invalid_range(s3, bucket):
    key = uniq("upc")
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    expect("InvalidRange", 416, s3.upload_part_copy, Bucket=bucket, Key=key, UploadId=uid,
           PartNumber=1, CopySource={"Bucket": bucket, "Key": "obj"},
           CopySourceRange="bytes=0-100")
    s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=uid)


def test_listing_cli(server, aws_cli, bucket, owner_id):
    rc, out, err = server.aws(aws_cli, ["s3api", "list-objects-v2", "--bucket", bucket,
                                        "--fetch-owner", "--max-items", "1"], profile=True)
    assert rc == 0, err
    assert json.loads(out)["Contents"][0]["Owner"]["ID"] == owner_id
