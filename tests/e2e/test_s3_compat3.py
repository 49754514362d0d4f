"""S3 compatibility (issue 16, third part): GetObjectAcl / PutObjectAcl with
versionId (that version's ACL, NoSuchVersion for an unknown one, authorized as
s3:GetObjectVersionAcl / s3:PutObjectVersionAcl) and ListBuckets paging as AWS
added it in 2024 (max-buckets, continuation-token, prefix, bucket-region;
ContinuationToken, Prefix, BucketRegion in the answer).

/usr/bin/python3's botocore (1.29) predates ListBuckets paging and refuses its
parameters client-side, so those requests are signed with botocore's SigV4Auth
and sent raw; the aws CLI v1 (a newer botocore) pages with --max-buckets."""
import json
import xml.etree.ElementTree as ET

import pytest
import requests

from conftest import expect_error as expect, new_user, uniq

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@pytest.fixture(scope="module")
def s3(server):
    return server.boto3_client("s3", server.admin_creds())


# ------------------------------------------------------------- object ACL by version
@pytest.fixture(scope="module")
def versioned(s3):
    b = uniq("aclv")
    s3.create_bucket(Bucket=b)
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    vids = [s3.put_object(Bucket=b, Key="xyz", Body=b"v%d" % i)["VersionId"] for i in range(3)]
    return b, vids


def test_get_object_acl_by_version(s3, versioned):
    b, vids = versioned
    owner = s3.get_bucket_acl(Bucket=b)["Owner"]["ID"]
    for vid in vids:
        r = s3.get_object_acl(Bucket=b, Key="xyz", VersionId=vid)
        assert r["Owner"]["ID"] == owner
        assert [(g["Grantee"]["ID"], g["Grantee"]["Type"], g["Permission"])
                for g in r["Grants"]] == [(owner, "CanonicalUser", "FULL_CONTROL")]
    # the current version's id, as ceph's test_versioned_object_acl_no_version_specified
    cur = s3.get_object(Bucket=b, Key="xyz")["VersionId"]
    assert s3.get_object_acl(Bucket=b, Key="xyz", VersionId=cur)["Owner"]["ID"] == owner
    unknown = vids[0][:11] + "A" * 21
    expect("NoSuchVersion", 404, s3.get_object_acl, Bucket=b, Key="xyz", VersionId=unknown)
    expect("NoSuchVersion", 404, s3.get_object_acl, Bucket=b, Key="other", VersionId=vids[0])
    expect("InvalidArgument", 400, s3.get_object_acl, Bucket=b, Key="xyz", VersionId="bogus")


def test_put_object_acl_by_version(s3, versioned):
    b, vids = versioned
    s3.put_object_acl(Bucket=b, Key="xyz", VersionId=vids[1], ACL="private")
    s3.put_object_acl(Bucket=b, Key="xyz", VersionId=vids[1], ACL="bucket-owner-full-control")
    # ACLs stay disabled (BucketOwnerEnforced): a grant to others is refused, by version too
    expect("AccessControlListNotSupported", 400, s3.put_object_acl, Bucket=b, Key="xyz",
           VersionId=vids[1], ACL="public-read")
    expect("NoSuchVersion", 404, s3.put_object_acl, Bucket=b, Key="xyz",
           VersionId=vids[0][:11] + "B" * 21, ACL="private")


def test_object_acl_null_version_unversioned(s3):
    b = uniq("acln")
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    assert s3.get_object_acl(Bucket=b, Key="k", VersionId="null")["Grants"]
    s3.put_object_acl(Bucket=b, Key="k", VersionId="null", ACL="private")
    expect("NoSuchVersion", 404, s3.get_object_acl, Bucket=b, Key="gone", VersionId="null")


def test_object_version_acl_actions(server, s3, versioned):
    b, vids = versioned
    plain = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["s3:GetObjectAcl", "s3:PutObjectAcl", "s3:ListBucket",
                                      "s3:ListBucketVersions"],
        "Resource": [f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*"]}]}
    creds, _ = new_user(server, uniq("aclplain"), plain)
    u = server.boto3_client("s3", creds)
    u.get_object_acl(Bucket=b, Key="xyz")
    expect("AccessDenied", 403, u.get_object_acl, Bucket=b, Key="xyz", VersionId=vids[0])
    expect("AccessDenied", 403, u.put_object_acl, Bucket=b, Key="xyz", VersionId=vids[0],
           ACL="private")
    ver = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["s3:GetObjectVersionAcl", "s3:PutObjectVersionAcl"],
        "Resource": f"arn:aws:s3:::{b}/*"}]}
    creds, _ = new_user(server, uniq("aclver"), ver)
    u = server.boto3_client("s3", creds)
    assert u.get_object_acl(Bucket=b, Key="xyz", VersionId=vids[0])["Grants"]
    u.put_object_acl(Bucket=b, Key="xyz", VersionId=vids[0], ACL="private")
    expect("AccessDenied", 403, u.get_object_acl, Bucket=b, Key="xyz")


def test_aws_cli_get_object_acl_version(server, aws_cli, versioned):
    b, vids = versioned
    rc, out, err = server.aws(aws_cli, ["s3api", "get-object-acl", "--bucket", b, "--key", "xyz",
                                        "--version-id", vids[2]], creds=server.admin_creds())
    assert rc == 0, err
    assert json.loads(out)["Grants"][0]["Permission"] == "FULL_CONTROL"


# ------------------------------------------------------------------ ListBuckets paging
@pytest.fixture(scope="module")
def account(server):
    """A fresh account (so its bucket list is known) with four buckets: three
    in us-east-1 and one in eu-west-1."""
    rc, doc, out, err = server.account_create(uniq("lbp"))
    assert rc == 0, err
    creds = {"AccessKeyId": doc["AccessKeyId"], "SecretAccessKey": doc["SecretAccessKey"]}
    c = server.boto3_client("s3", creds)
    tag = uniq("lb")
    names = [f"{tag}-a1", f"{tag}-a2", f"{tag}-b1"]
    for n in names:
        c.create_bucket(Bucket=n)
    eu = f"{tag}-eu"
    import boto3
    eu_client = boto3.session.Session().client(
        "s3", endpoint_url=server.endpoint, region_name="eu-west-1",
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
    eu_client.create_bucket(Bucket=eu, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return creds, tag, sorted(names + [eu])


def list_buckets(server, creds, **params):
    """GET / with the query params, signed -> (status, root element)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method="GET", url=server.endpoint + "/", params=params)
    req.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"]), "s3",
              "us-east-1").add_auth(req)
    prepared = req.prepare()
    r = requests.get(prepared.url, headers=dict(prepared.headers))
    return r.status_code, ET.fromstring(r.content)


def names(root):
    return [b.findtext(NS + "Name") for b in root.iter(NS + "Bucket")]


def test_list_buckets_unpaged_unchanged(server, account):
    creds, _, all_names = account
    st, root = list_buckets(server, creds)
    assert st == 200 and names(root) == all_names
    assert root.find(NS + "ContinuationToken") is None and root.find(NS + "Prefix") is None
    assert root.find(f"{NS}Buckets/{NS}Bucket/{NS}BucketRegion") is None


def test_list_buckets_max_buckets_and_token(server, account):
    creds, _, all_names = account
    seen, token = [], None
    for _ in range(len(all_names)):
        params = {"max-buckets": "1"}
        if token:
            params["continuation-token"] = token
        st, root = list_buckets(server, creds, **params)
        assert st == 200
        page = names(root)
        assert len(page) == 1
        seen += page
        token = root.findtext(NS + "ContinuationToken")
        if not token:
            break
    assert seen == all_names and not token  # no token on the last page
    st, root = list_buckets(server, creds, **{"max-buckets": "3"})
    assert names(root) == all_names[:3] and root.findtext(NS + "ContinuationToken")
    st, root = list_buckets(server, creds, **{"max-buckets": "4"})
    assert names(root) == all_names and root.find(NS + "ContinuationToken") is None
    regions = {b.findtext(NS + "Name"): b.findtext(NS + "BucketRegion")
               for b in root.iter(NS + "Bucket")}
    assert regions == {n: ("eu-west-1" if n.endswith("-eu") else "us-east-1") for n in all_names}


def test_list_buckets_prefix_and_region(server, account):
    creds, tag, all_names = account
    st, root = list_buckets(server, creds, prefix=f"{tag}-a")
    assert st == 200 and names(root) == [f"{tag}-a1", f"{tag}-a2"]
    assert root.findtext(NS + "Prefix") == f"{tag}-a"
    st, root = list_buckets(server, creds, **{"bucket-region": "eu-west-1"})
    assert names(root) == [f"{tag}-eu"]
    st, root = list_buckets(server, creds, **{"bucket-region": "us-east-1", "max-buckets": "2"})
    assert names(root) == [f"{tag}-a1", f"{tag}-a2"]
    st, root = list_buckets(server, creds, **{"bucket-region": "us-east-1", "max-buckets": "2",
                                             "continuation-token":
                                                 root.findtext(NS + "ContinuationToken")})
    assert names(root) == [f"{tag}-b1"] and root.find(NS + "ContinuationToken") is None
    st, root = list_buckets(server, creds, prefix="zzz-none")
    assert st == 200 and names(root) == [] and root.findtext(NS + "Prefix") == "zzz-none"


@pytest.mark.parametrize("bad", ["0", "10001", "-1", "x"])
def test_list_buckets_bad_max_buckets(server, account, bad):
    creds, _, _ = account
    st, root = list_buckets(server, creds, **{"max-buckets": bad})
    assert st == 400 and root.findtext("Code") == "InvalidArgument"


def test_list_buckets_bad_token(server, account):
    creds, _, _ = account
    for bad in ("!!!not-base64!!!", "QUJD_", "Zm9vL2Jhcg=="):  # bad, bad, "foo/bar"
        st, root = list_buckets(server, creds, **{"continuation-token": bad})
        assert st == 400 and root.findtext("Code") == "InvalidArgument", bad


def test_aws_cli_list_buckets_paged(server, aws_cli, account):
    creds, _, all_names = account
    rc, out, err = server.aws(aws_cli, ["s3api", "list-buckets", "--max-buckets", "1",
                                        "--no-paginate"], creds=creds)
    if rc != 0 and "Unknown options" in err:
        pytest.skip(f"{aws_cli[0]} predates ListBuckets paging")  # Debian's v2 2.9
    assert rc == 0, err
    doc = json.loads(out)
    assert [b["Name"] for b in doc["Buckets"]] == all_names[:1] and doc["ContinuationToken"]
    # the CLI's own paginator follows the tokens
    rc, out, err = server.aws(aws_cli, ["s3api", "list-buckets", "--page-size", "1"], creds=creds)
    assert rc == 0, err
    assert [b["Name"] for b in json.loads(out)["Buckets"]] == all_names
