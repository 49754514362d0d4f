"""S3 versioning (issue 16) with boto3 and both aws CLIs: Put/GetBucketVersioning
(Enabled, Suspended, never back to unversioned, MfaDelete refused), version ids on
PUT, copy and multipart completion, delete markers (404 with x-amz-delete-marker,
405 by id), ListObjectVersions (prefix, delimiter, markers, max-keys), reads,
deletes, tags and attributes by versionId, DeleteObjects with versions, the `null`
version of never-versioned and suspended buckets, BucketNotEmpty while versions
remain, per-version encryption, version-level permissions, and the bytes of a
deleted version leaving the disk while a non-current one stays."""
import json

import pytest

from conftest import blobs_contain, expect_error as expect, meta_query, new_user, uniq


@pytest.fixture(scope="module")
def s3(server):
    return server.boto3_client("s3", server.admin_creds())


def versioned_bucket(s3, status="Enabled"):
    b = uniq("ver")
    s3.create_bucket(Bucket=b)
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": status})
    return b


def headers(resp):
    return resp["ResponseMetadata"]["HTTPHeaders"]


def body(s3, b, k, **kw):
    return s3.get_object(Bucket=b, Key=k, **kw)["Body"].read()


def test_versioning_configuration(s3):
    b = uniq("vcfg")
    s3.create_bucket(Bucket=b)
    r = s3.get_bucket_versioning(Bucket=b)
    assert "Status" not in r and "MFADelete" not in r  # never versioned: empty
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Suspended"
    expect("MalformedXML", 400, s3.put_bucket_versioning, Bucket=b,
           VersioningConfiguration={"Status": "Disabled"})  # never back to unversioned
    expect("NotImplemented", 501, s3.put_bucket_versioning, Bucket=b,
           VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"}, MFA="123 456")
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Suspended"
    expect("NoSuchBucket", 404, s3.get_bucket_versioning, Bucket=uniq("none"))


def test_versions_and_delete_markers(s3):
    b = versioned_bucket(s3)
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"two")["VersionId"]
    assert len(v1) == 32 and len(v2) == 32 and v1 != v2
    assert body(s3, b, "k") == b"two"
    g = s3.get_object(Bucket=b, Key="k", VersionId=v1)
    assert g["Body"].read() == b"one" and g["VersionId"] == v1
    h = s3.head_object(Bucket=b, Key="k", VersionId=v2)
    assert h["VersionId"] == v2 and h["ContentLength"] == 3
    assert s3.head_object(Bucket=b, Key="k")["VersionId"] == v2
    d = s3.delete_object(Bucket=b, Key="k")  # a delete marker on top
    assert d["DeleteMarker"] is True and len(d["VersionId"]) == 32
    marker = d["VersionId"]
    r = expect("NoSuchKey", 404, s3.get_object, Bucket=b, Key="k")
    assert headers(r)["x-amz-delete-marker"] == "true"
    assert headers(r)["x-amz-version-id"] == marker
    r = expect("MethodNotAllowed", 405, s3.get_object, Bucket=b, Key="k", VersionId=marker)
    assert headers(r)["x-amz-delete-marker"] == "true"
    expect("405", 405, s3.head_object, Bucket=b, Key="k", VersionId=marker)
    assert s3.list_objects_v2(Bucket=b).get("KeyCount") == 0  # only latest, non-deleted
    lv = s3.list_object_versions(Bucket=b)
    assert [(v["VersionId"], v["IsLatest"]) for v in lv["Versions"]] == [(v2, False), (v1, False)]
    assert [(m["VersionId"], m["IsLatest"]) for m in lv["DeleteMarkers"]] == [(marker, True)]
    # the older versions are still readable by id
    assert body(s3, b, "k", VersionId=v1) == b"one"
    # deleting the marker by id brings the object back
    d = s3.delete_object(Bucket=b, Key="k", VersionId=marker)
    assert d["DeleteMarker"] is True and d["VersionId"] == marker
    assert body(s3, b, "k") == b"two"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]] == ["k"]
    # deleting the current version by id: the previous one becomes current
    d = s3.delete_object(Bucket=b, Key="k", VersionId=v2)
    assert d["VersionId"] == v2 and "DeleteMarker" not in d
    assert body(s3, b, "k") == b"one"
    expect("NoSuchVersion", 404, s3.get_object, Bucket=b, Key="k", VersionId=v2)
    lv = s3.list_object_versions(Bucket=b)
    assert [(v["VersionId"], v["IsLatest"]) for v in lv["Versions"]] == [(v1, True)]
    # the bucket is not empty while a version or a delete marker remains
    s3.delete_object(Bucket=b, Key="k", VersionId=v1)
    s3.delete_object(Bucket=b, Key="k")
    assert s3.list_objects_v2(Bucket=b)["KeyCount"] == 0
    expect("BucketNotEmpty", 409, s3.delete_bucket, Bucket=b)
    for m in s3.list_object_versions(Bucket=b)["DeleteMarkers"]:
        s3.delete_object(Bucket=b, Key="k", VersionId=m["VersionId"])
    s3.delete_bucket(Bucket=b)


def test_invalid_and_unknown_version_ids(s3):
    b = versioned_bucket(s3)
    v = s3.put_object(Bucket=b, Key="k", Body=b"x")["VersionId"]
    for bad in ("abc", "v1", v + "x"):
        r = expect("InvalidArgument", 400, s3.get_object, Bucket=b, Key="k", VersionId=bad)
        assert r["Error"]["Message"] == "Invalid version id specified"
        expect("InvalidArgument", 400, s3.delete_object, Bucket=b, Key="k", VersionId=bad)
    unknown = ("A" + v[1:]) if v[0] != "A" else ("B" + v[1:])
    expect("NoSuchVersion", 404, s3.get_object, Bucket=b, Key="k", VersionId=unknown)
    expect("NoSuchVersion", 404, s3.get_object, Bucket=b, Key="k", VersionId="null")
    expect("NoSuchVersion", 404, s3.get_object_tagging, Bucket=b, Key="k", VersionId=unknown)
    expect("InvalidArgument", 400, s3.list_object_versions, Bucket=b, VersionIdMarker=v)


def test_null_version_unversioned_and_suspended(s3):
    b = uniq("vnull")
    s3.create_bucket(Bucket=b)
    r = s3.put_object(Bucket=b, Key="k", Body=b"orig")
    assert "VersionId" not in r and "x-amz-version-id" not in headers(r)  # never versioned
    assert "x-amz-version-id" not in headers(s3.head_object(Bucket=b, Key="k"))
    lv = s3.list_object_versions(Bucket=b)
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in lv["Versions"]] == [("k", "null", True)]
    assert body(s3, b, "k", VersionId="null") == b"orig"
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    assert s3.head_object(Bucket=b, Key="k")["VersionId"] == "null"
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"v1")["VersionId"]
    assert body(s3, b, "k", VersionId="null") == b"orig"  # the object from before is kept
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Suspended"})
    r = s3.put_object(Bucket=b, Key="k", Body=b"susp")
    assert "VersionId" not in r  # AWS: no id for a suspended write; replaces the null version
    assert body(s3, b, "k", VersionId="null") == b"susp"
    vs = s3.list_object_versions(Bucket=b)["Versions"]
    assert [(v["VersionId"], v["IsLatest"]) for v in vs] == [("null", True), (v1, False)]
    d = s3.delete_object(Bucket=b, Key="k")  # suspended: a null delete marker
    assert d["DeleteMarker"] is True and d["VersionId"] == "null"
    lv = s3.list_object_versions(Bucket=b)
    assert [v["VersionId"] for v in lv["Versions"]] == [v1]
    assert [(m["VersionId"], m["IsLatest"]) for m in lv["DeleteMarkers"]] == [("null", True)]
    s3.delete_object(Bucket=b, Key="k", VersionId="null")
    assert body(s3, b, "k") == b"v1"


def test_list_object_versions_paging_prefix_delimiter(s3):
    b = versioned_bucket(s3)
    want = []
    for k in ("a", "b/1", "b/2", "c"):
        ids = [s3.put_object(Bucket=b, Key=k, Body=k.encode() * n)["VersionId"] for n in (1, 2)]
        want += [(k, ids[1]), (k, ids[0])]  # newest first within a key
    got, kw = [], {}
    while True:
        r = s3.list_object_versions(Bucket=b, MaxKeys=3, **kw)
        got += [(v["Key"], v["VersionId"]) for v in r.get("Versions", [])]
        assert len(r.get("Versions", [])) <= 3
        if not r["IsTruncated"]:
            break
        kw = {"KeyMarker": r["NextKeyMarker"], "VersionIdMarker": r["NextVersionIdMarker"]}
    assert got == want
    r = s3.list_object_versions(Bucket=b, Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["b/"]
    assert [v["Key"] for v in r["Versions"]] == ["a", "a", "c", "c"]
    r = s3.list_object_versions(Bucket=b, Prefix="b/", KeyMarker="b/1")
    assert [v["Key"] for v in r["Versions"]] == ["b/2", "b/2"]
    assert [v["IsLatest"] for v in r["Versions"]] == [True, False]
    r = s3.list_object_versions(Bucket=b, KeyMarker="a", VersionIdMarker=want[0][1])
    assert [(v["Key"], v["IsLatest"]) for v in r["Versions"]][0] == ("a", False)
    r = s3.list_object_versions(Bucket=b, Prefix="b/", Delimiter="/", MaxKeys=1)
    assert "CommonPrefixes" not in r  # Prefix b/ with "/": the keys themselves
    assert len(r["Versions"]) == 1 and r["IsTruncated"]
    r = s3.list_object_versions(Bucket=b, Delimiter="/", MaxKeys=3)
    assert [p["Prefix"] for p in r.get("CommonPrefixes", [])] == ["b/"] and r["IsTruncated"]
    assert r["NextKeyMarker"] == "b/"
    r = s3.list_object_versions(Bucket=b, Delimiter="/", KeyMarker="b/")
    assert [v["Key"] for v in r["Versions"]] == ["c", "c"] and "CommonPrefixes" not in r
    # keys with bytes around the separator still list in key order
    for k in ("x\x01y", "x", "x y"):
        s3.put_object(Bucket=b, Key=k, Body=b"z")
    r = s3.list_object_versions(Bucket=b, Prefix="x")
    assert [v["Key"] for v in r["Versions"]] == ["x", "x\x01y", "x y"]


def test_copy_and_multipart_version_ids(s3):
    b = versioned_bucket(s3)
    v1 = s3.put_object(Bucket=b, Key="src", Body=b"first")["VersionId"]
    s3.put_object(Bucket=b, Key="src", Body=b"second")
    r = s3.copy_object(Bucket=b, Key="dst", CopySource={"Bucket": b, "Key": "src", "VersionId": v1})
    assert r["CopySourceVersionId"] == v1 and len(r["VersionId"]) == 32
    assert body(s3, b, "dst") == b"first"
    assert s3.head_object(Bucket=b, Key="dst")["VersionId"] == r["VersionId"]
    # copying an older version over its own key restores it as the newest
    r = s3.copy_object(Bucket=b, Key="src", CopySource={"Bucket": b, "Key": "src", "VersionId": v1})
    assert body(s3, b, "src") == b"first" and r["VersionId"] != v1
    assert len(s3.list_object_versions(Bucket=b, Prefix="src")["Versions"]) == 3
    marker = s3.delete_object(Bucket=b, Key="src")["VersionId"]
    expect("InvalidRequest", 400, s3.copy_object, Bucket=b, Key="d2",
           CopySource={"Bucket": b, "Key": "src", "VersionId": marker})
    expect("NoSuchKey", 404, s3.copy_object, Bucket=b, Key="d2", CopySource={"Bucket": b, "Key": "src"})
    expect("InvalidArgument", 400, s3.copy_object, Bucket=b, Key="d2",
           CopySource={"Bucket": b, "Key": "src", "VersionId": "v1"})
    up = s3.create_multipart_upload(Bucket=b, Key="mp")["UploadId"]
    e = s3.upload_part(Bucket=b, Key="mp", UploadId=up, PartNumber=1, Body=b"p" * 10)["ETag"]
    r = s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
    assert len(r["VersionId"]) == 32
    assert s3.head_object(Bucket=b, Key="mp")["VersionId"] == r["VersionId"]


def test_delete_objects_with_versions(s3):
    b = versioned_bucket(s3)
    v1 = s3.put_object(Bucket=b, Key="a", Body=b"1")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="a", Body=b"2")["VersionId"]
    s3.put_object(Bucket=b, Key="b", Body=b"b")
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [
        {"Key": "a", "VersionId": v1}, {"Key": "b"}, {"Key": "a", "VersionId": "bad"}]})
    deleted = {(d["Key"], d.get("VersionId")): d for d in r["Deleted"]}
    assert deleted[("a", v1)].get("DeleteMarker") is None
    mk = deleted[("b", None)]
    assert mk["DeleteMarker"] is True and len(mk["DeleteMarkerVersionId"]) == 32
    assert [(e["Key"], e["Code"]) for e in r["Errors"]] == [("a", "NoSuchVersion")]
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [
        {"Key": "b", "VersionId": mk["DeleteMarkerVersionId"]}]})
    d = r["Deleted"][0]
    assert d["DeleteMarker"] is True and d["DeleteMarkerVersionId"] == mk["DeleteMarkerVersionId"]
    assert body(s3, b, "b") == b"b" and body(s3, b, "a") == b"2"
    assert [v["VersionId"] for v in s3.list_object_versions(Bucket=b, Prefix="a")["Versions"]] == [v2]


def test_tagging_and_attributes_by_version(s3):
    b = versioned_bucket(s3)
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"one", Tagging="t=1")["VersionId"]
    v2 = s3.put_object(Bucket=b, Key="k", Body=b"second")["VersionId"]
    assert s3.get_object_tagging(Bucket=b, Key="k", VersionId=v1)["TagSet"] == [{"Key": "t", "Value": "1"}]
    assert s3.get_object_tagging(Bucket=b, Key="k")["TagSet"] == []
    r = s3.put_object_tagging(Bucket=b, Key="k", VersionId=v1,
                              Tagging={"TagSet": [{"Key": "t", "Value": "9"}]})
    assert r["VersionId"] == v1
    assert s3.get_object_tagging(Bucket=b, Key="k", VersionId=v1)["TagSet"] == [{"Key": "t", "Value": "9"}]
    s3.put_object_tagging(Bucket=b, Key="k", Tagging={"TagSet": [{"Key": "c", "Value": "2"}]})
    assert s3.get_object_tagging(Bucket=b, Key="k", VersionId=v2)["TagSet"] == [{"Key": "c", "Value": "2"}]
    assert s3.get_object(Bucket=b, Key="k")["TagCount"] == 1
    s3.delete_object_tagging(Bucket=b, Key="k", VersionId=v1)
    assert s3.get_object_tagging(Bucket=b, Key="k", VersionId=v1)["TagSet"] == []
    a = s3.get_object_attributes(Bucket=b, Key="k", VersionId=v1, ObjectAttributes=["ObjectSize", "ETag"])
    assert a["ObjectSize"] == 3 and a["VersionId"] == v1
    assert s3.get_object_attributes(Bucket=b, Key="k", ObjectAttributes=["ObjectSize"])["ObjectSize"] == 6


def test_sse_per_version(s3):
    b = versioned_bucket(s3)
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"sse-s3", ServerSideEncryption="AES256")["VersionId"]
    r = s3.put_object(Bucket=b, Key="k", Body=b"sse-kms", ServerSideEncryption="aws:kms")
    v2, kms_arn = r["VersionId"], r["SSEKMSKeyId"]
    v3 = s3.put_object(Bucket=b, Key="k", Body=b"plain")["VersionId"]
    h1, h2, h3 = (s3.head_object(Bucket=b, Key="k", VersionId=v) for v in (v1, v2, v3))
    assert h1["ServerSideEncryption"] == "AES256" and "SSEKMSKeyId" not in h1
    assert h2["ServerSideEncryption"] == "aws:kms" and h2["SSEKMSKeyId"] == kms_arn
    assert "ServerSideEncryption" not in h3
    assert [body(s3, b, "k", VersionId=v) for v in (v1, v2, v3)] == [b"sse-s3", b"sse-kms", b"plain"]


def test_version_permissions(server, s3):
    b = versioned_bucket(s3)
    v1 = s3.put_object(Bucket=b, Key="k", Body=b"1")["VersionId"]
    s3.put_object(Bucket=b, Key="k", Body=b"2")
    arn = f"arn:aws:s3:::{b}"
    creds, _ = new_user(server, uniq("vuser"), {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["s3:GetObject", "s3:DeleteObject", "s3:ListBucket",
                                      "s3:GetObjectTagging"],
        "Resource": [arn, arn + "/*"]}]})
    u = server.boto3_client("s3", creds)
    assert body(u, b, "k") == b"2"
    expect("AccessDenied", 403, u.get_object, Bucket=b, Key="k", VersionId=v1)
    expect("403", 403, u.head_object, Bucket=b, Key="k", VersionId=v1)  # HEAD: no body
    expect("AccessDenied", 403, u.delete_object, Bucket=b, Key="k", VersionId=v1)
    expect("AccessDenied", 403, u.get_object_tagging, Bucket=b, Key="k", VersionId=v1)
    expect("AccessDenied", 403, u.list_object_versions, Bucket=b)
    expect("AccessDenied", 403, u.get_bucket_versioning, Bucket=b)
    expect("AccessDenied", 403, u.put_bucket_versioning, Bucket=b,
           VersioningConfiguration={"Status": "Suspended"})
    r = u.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "k", "VersionId": v1}]})
    assert r["Errors"][0]["Code"] == "AccessDenied"
    u.delete_object(Bucket=b, Key="k")  # s3:DeleteObject: a marker, nothing lost
    assert body(s3, b, "k", VersionId=v1) == b"1"


def test_deleted_version_bytes_leave_the_disk(make_server):
    srv = make_server("vgc")
    s3 = srv.boto3_client("s3", srv.admin_creds())
    b = versioned_bucket(s3)
    old, kept = b"OLD-VERSION-" + b"o" * 64, b"NONCURRENT-" + b"n" * 64
    v1 = s3.put_object(Bucket=b, Key="k", Body=old)["VersionId"]
    s3.put_object(Bucket=b, Key="k", Body=kept)
    s3.put_object(Bucket=b, Key="k", Body=b"current")
    s3.delete_object(Bucket=b, Key="k")  # a marker frees nothing
    assert blobs_contain(srv.data_dir, old) and blobs_contain(srv.data_dir, kept)
    s3.delete_object(Bucket=b, Key="k", VersionId=v1)
    assert not blobs_contain(srv.data_dir, old)
    srv.restart()  # the blob GC runs at start: the non-current version's bytes stay
    s3 = srv.boto3_client("s3", srv.admin_creds())
    assert blobs_contain(srv.data_dir, kept)
    vs = s3.list_object_versions(Bucket=b)["Versions"]
    assert [body(s3, b, "k", VersionId=v["VersionId"]) for v in vs] == [b"current", kept]


def test_aws_cli_versioning(server, s3, aws_cli):
    b = uniq("vcli")
    s3.create_bucket(Bucket=b)
    creds = server.admin_creds()
    rc, out, err = server.aws(aws_cli, ["s3api", "put-bucket-versioning", "--bucket", b,
                                        "--versioning-configuration", "Status=Enabled"], creds=creds)
    assert rc == 0, err
    assert s3.get_bucket_versioning(Bucket=b)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=b, Key="f.txt", Body=b"version one")["VersionId"]
    s3.put_object(Bucket=b, Key="f.txt", Body=b"version two")
    rc, out, err = server.aws(aws_cli, ["s3api", "list-object-versions", "--bucket", b], creds=creds)
    assert rc == 0, err
    assert [v["VersionId"] for v in json.loads(out)["Versions"]][1] == v1
    import tempfile, os
    with tempfile.TemporaryDirectory() as d:
        dest = os.path.join(d, "out")
        rc, out, err = server.aws(aws_cli, ["s3api", "get-object", "--bucket", b, "--key", "f.txt",
                                            "--version-id", v1, dest], creds=creds)
        assert rc == 0, err
        assert open(dest, "rb").read() == b"version one" and json.loads(out)["VersionId"] == v1
    rc, out, err = server.aws(aws_cli, ["s3api", "delete-object", "--bucket", b, "--key", "f.txt",
                                        "--version-id", v1], creds=creds)
    assert rc == 0 and json.loads(out)["VersionId"] == v1, err
    assert [v["Key"] for v in s3.list_object_versions(Bucket=b)["Versions"]] == ["f.txt"]
    expect("NoSuchVersion", 404, s3.get_object, Bucket=b, Key="f.txt", VersionId=v1)


def test_delete_marker_event(make_server, monkeypatch):
    monkeypatch.setenv("CLOISTER_TEST_HOLD_EVENTS", "1")  # the outbox stays as S3 wrote it
    srv = make_server("vnotify")
    s3 = srv.boto3_client("s3", srv.admin_creds())
    b = versioned_bucket(s3)
    s3.put_bucket_notification_configuration(Bucket=b, SkipDestinationValidation=True,
                                             NotificationConfiguration={"QueueConfigurations": [{
                                                 "Id": "rm", "Events": ["s3:ObjectRemoved:*"],
                                                 "QueueArn": "arn:aws:sqs:us-east-1:111122223333:q"}]})
    v = s3.put_object(Bucket=b, Key="k", Body=b"x")["VersionId"]
    marker = s3.delete_object(Bucket=b, Key="k")["VersionId"]
    s3.delete_object(Bucket=b, Key="k", VersionId=v)
    rows = meta_query(srv.data_dir, "SELECT doc FROM items WHERE kind = 's3_event' ORDER BY name")
    recs = [json.loads(d)["Record"] for (d,) in rows]
    assert [(r["eventName"], r["s3"]["object"].get("versionId")) for r in recs] == [
        ("ObjectRemoved:DeleteMarkerCreated", marker), ("ObjectRemoved:Delete", v)]
