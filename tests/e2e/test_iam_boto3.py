"""IAM and STS through boto3: every operation of the foundation issue, response
shapes and ARNs as AWS writes them, AWS's error codes, and that identity
policies really gate actions.

The tests run in their own account (made with `cloister account create`) so
names never collide with the CLI flow."""
import json
import re
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import REGION, client_error

ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
IAM_NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"
STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(action, resource="*"):
    return {"Effect": "Deny", "Action": action, "Resource": resource}


TRUST_ANY_IN = lambda acct: doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},  # noqa: E731
                                 "Action": "sts:AssumeRole"})


def expect_error(code, status, fn, *args, **kwargs):
    with pytest.raises(ClientError) as ei:
        fn(*args, **kwargs)
    got = client_error(ei.value)
    assert got[0] == code, f"want {code}, got {got}"
    if status is not None:
        assert got[1] == status, f"want HTTP {status} for {code}, got {got}"
    return got


class Acct:
    def __init__(self, srv, doc_):
        self.srv = srv
        self.id = doc_["AccountId"]
        self.creds = {"AccessKeyId": doc_["AccessKeyId"], "SecretAccessKey": doc_["SecretAccessKey"]}
        self.iam = srv.boto3_client("iam", self.creds)
        self.sts = srv.boto3_client("sts", self.creds)

    def client(self, service, creds, **cfg):
        return self.srv.boto3_client(service, creds, **cfg)

    def user_with_key(self, name):
        self.iam.create_user(UserName=name)
        k = self.iam.create_access_key(UserName=name)["AccessKey"]
        return {"AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]}


def _new_account(srv, name):
    rc, d, out, err = srv.account_create(name)
    if rc != 0 or not d:
        pytest.fail(f"cloister account create {name} failed rc={rc}: {out}{err}")
    return Acct(srv, d)


@pytest.fixture(scope="module")
def acct(server):
    return _new_account(server, "boto3iam")


@pytest.fixture(scope="module")
def other(server):
    return _new_account(server, "boto3other")


def wait_for_key(client_fn, tries=20):
    """New keys work at once on Cloister; retry briefly only to report clearly."""
    last = None
    for _ in range(tries):
        try:
            return client_fn()
        except ClientError as e:
            last = e
            time.sleep(0.05)
    raise last


# --------------------------------------------------------------------------- users
def test_get_user_self(acct):
    u = acct.iam.get_user()["User"]
    assert u["UserName"] == "admin"
    assert u["Arn"] == f"arn:aws:iam::{acct.id}:user/admin"
    assert re.fullmatch(r"AIDA[A-Z0-9]{17}", u["UserId"]), u["UserId"]
    assert u["Path"] == "/"
    assert u["CreateDate"].tzinfo is not None


def test_user_lifecycle(acct):
    u = acct.iam.create_user(UserName="alice")["User"]
    assert u["Arn"] == f"arn:aws:iam::{acct.id}:user/alice"
    assert u["UserName"] == "alice" and u["Path"] == "/"
    assert re.fullmatch(r"AIDA[A-Z0-9]{17}", u["UserId"]), u["UserId"]
    g = acct.iam.get_user(UserName="alice")["User"]
    assert (g["Arn"], g["UserId"]) == (u["Arn"], u["UserId"])
    lst = acct.iam.list_users()
    assert lst["IsTruncated"] is False and "Marker" not in lst
    assert "alice" in [x["UserName"] for x in lst["Users"]]
    expect_error("EntityAlreadyExists", 409, acct.iam.create_user, UserName="alice")
    acct.iam.delete_user(UserName="alice")
    expect_error("NoSuchEntity", 404, acct.iam.get_user, UserName="alice")
    expect_error("NoSuchEntity", 404, acct.iam.delete_user, UserName="alice")
    assert "alice" not in [x["UserName"] for x in acct.iam.list_users()["Users"]]


def test_user_with_path(acct):
    u = acct.iam.create_user(UserName="pathuser", Path="/division/team/")["User"]
    assert u["Path"] == "/division/team/"
    assert u["Arn"] == f"arn:aws:iam::{acct.id}:user/division/team/pathuser"
    acct.iam.delete_user(UserName="pathuser")


@pytest.mark.parametrize("name", ["bad name", "x" * 65, "semi;colon", ""])
def test_create_user_invalid_name(acct, name):
    iam = acct.client("iam", acct.creds, parameter_validation=False)
    expect_error("ValidationError", 400, iam.create_user, UserName=name)


def test_same_user_name_in_two_accounts(acct, other):
    a = acct.iam.create_user(UserName="twin")["User"]
    b = other.iam.create_user(UserName="twin")["User"]
    assert a["Arn"] == f"arn:aws:iam::{acct.id}:user/twin"
    assert b["Arn"] == f"arn:aws:iam::{other.id}:user/twin"
    assert a["UserId"] != b["UserId"]
    other.iam.delete_user(UserName="twin")
    assert acct.iam.get_user(UserName="twin")["User"]["Arn"] == a["Arn"]
    acct.iam.delete_user(UserName="twin")


def test_accounts_are_isolated(acct, other):
    acct.iam.create_user(UserName="onlyinacct")
    expect_error("NoSuchEntity", 404, other.iam.get_user, UserName="onlyinacct")
    assert "onlyinacct" not in [u["UserName"] for u in other.iam.list_users()["Users"]]
    acct.iam.delete_user(UserName="onlyinacct")


def test_list_users_pagination(acct):
    for n in ("page1", "page2", "page3"):
        acct.iam.create_user(UserName=n)
    try:
        first = acct.iam.list_users(MaxItems=1)
        assert len(first["Users"]) == 1
        assert first["IsTruncated"] is True and first.get("Marker"), first
        names = [u["UserName"] for u in first["Users"]]
        marker = first["Marker"]
        for _ in range(20):
            page = acct.iam.list_users(MaxItems=1, Marker=marker)
            names += [u["UserName"] for u in page["Users"]]
            if not page["IsTruncated"]:
                assert "Marker" not in page
                break
            marker = page["Marker"]
        assert {"admin", "page1", "page2", "page3"} <= set(names)
        assert len(names) == len(set(names)), f"pages overlap: {names}"
        via_paginator = [u["UserName"] for p in acct.iam.get_paginator("list_users").paginate(
            PaginationConfig={"PageSize": 2}) for u in p["Users"]]
        assert sorted(via_paginator) == sorted(names)
    finally:
        for n in ("page1", "page2", "page3"):
            acct.iam.delete_user(UserName=n)


# --------------------------------------------------------------------------- access keys
def test_access_key_lifecycle(acct):
    acct.iam.create_user(UserName="keyuser")
    k = acct.iam.create_access_key(UserName="keyuser")["AccessKey"]
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", k["AccessKeyId"]), k
    assert len(k["SecretAccessKey"]) == 40
    assert k["Status"] == "Active" and k["UserName"] == "keyuser"
    lst = acct.iam.list_access_keys(UserName="keyuser")
    assert lst["IsTruncated"] is False
    meta = lst["AccessKeyMetadata"]
    assert [m["AccessKeyId"] for m in meta] == [k["AccessKeyId"]]
    assert "SecretAccessKey" not in meta[0]
    assert meta[0]["UserName"] == "keyuser" and meta[0]["Status"] == "Active"
    creds = {"AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]}
    sts = acct.client("sts", creds)
    ident = wait_for_key(sts.get_caller_identity)
    assert ident["Arn"] == f"arn:aws:iam::{acct.id}:user/keyuser"
    assert ident["Account"] == acct.id
    assert ident["UserId"] == acct.iam.get_user(UserName="keyuser")["User"]["UserId"]
    # a deactivated key stops working at once (the server caches keys), and comes back
    acct.iam.update_access_key(UserName="keyuser", AccessKeyId=k["AccessKeyId"], Status="Inactive")
    expect_error("InvalidClientTokenId", 403, sts.get_caller_identity)
    acct.iam.update_access_key(UserName="keyuser", AccessKeyId=k["AccessKeyId"], Status="Active")
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{acct.id}:user/keyuser"
    # a user with a key cannot be deleted
    expect_error("DeleteConflict", 409, acct.iam.delete_user, UserName="keyuser")
    acct.iam.delete_access_key(UserName="keyuser", AccessKeyId=k["AccessKeyId"])
    expect_error("InvalidClientTokenId", 403, sts.get_caller_identity)
    expect_error("NoSuchEntity", 404, acct.iam.delete_access_key, UserName="keyuser",
                 AccessKeyId=k["AccessKeyId"])
    assert acct.iam.list_access_keys(UserName="keyuser")["AccessKeyMetadata"] == []
    acct.iam.delete_user(UserName="keyuser")


def test_access_key_of_unknown_user(acct):
    expect_error("NoSuchEntity", 404, acct.iam.create_access_key, UserName="nobody")
    expect_error("NoSuchEntity", 404, acct.iam.list_access_keys, UserName="nobody")


def test_list_own_access_keys(acct):
    meta = acct.iam.list_access_keys()["AccessKeyMetadata"]
    assert acct.creds["AccessKeyId"] in [m["AccessKeyId"] for m in meta]


# --------------------------------------------------------------------------- inline user policies
def test_user_inline_policy_lifecycle(acct):
    acct.iam.create_user(UserName="inl")
    pol = {"Version": "2012-10-17", "Statement": [allow("iam:GetUser")]}
    acct.iam.put_user_policy(UserName="inl", PolicyName="p1", PolicyDocument=json.dumps(pol))
    got = acct.iam.get_user_policy(UserName="inl", PolicyName="p1")
    assert got["UserName"] == "inl" and got["PolicyName"] == "p1"
    assert got["PolicyDocument"] == pol, "botocore URL-decodes and parses the document AWS returns"
    lst = acct.iam.list_user_policies(UserName="inl")
    assert lst["PolicyNames"] == ["p1"] and lst["IsTruncated"] is False
    # put again replaces
    pol2 = {"Version": "2012-10-17", "Statement": [allow("iam:ListUsers")]}
    acct.iam.put_user_policy(UserName="inl", PolicyName="p1", PolicyDocument=json.dumps(pol2))
    assert acct.iam.get_user_policy(UserName="inl", PolicyName="p1")["PolicyDocument"] == pol2
    expect_error("DeleteConflict", 409, acct.iam.delete_user, UserName="inl")
    acct.iam.delete_user_policy(UserName="inl", PolicyName="p1")
    expect_error("NoSuchEntity", 404, acct.iam.get_user_policy, UserName="inl", PolicyName="p1")
    expect_error("NoSuchEntity", 404, acct.iam.delete_user_policy, UserName="inl", PolicyName="p1")
    assert acct.iam.list_user_policies(UserName="inl")["PolicyNames"] == []
    acct.iam.delete_user(UserName="inl")


def test_put_user_policy_unknown_user(acct):
    expect_error("NoSuchEntity", 404, acct.iam.put_user_policy, UserName="nobody", PolicyName="p",
                 PolicyDocument=doc(allow("s3:*")))


def test_put_user_policy_malformed(acct):
    acct.iam.create_user(UserName="malf")
    try:
        for bad in ("not json", doc({"Effect": "Allow", "Resource": "*"}),
                    doc({"Effect": "Permit", "Action": "s3:*", "Resource": "*"}),
                    json.dumps({"Version": "2012-10-17"})):
            expect_error("MalformedPolicyDocument", 400, acct.iam.put_user_policy, UserName="malf",
                         PolicyName="bad", PolicyDocument=bad)
    finally:
        acct.iam.delete_user(UserName="malf")


# --------------------------------------------------------------------------- roles
def test_role_lifecycle(acct, other):
    trust = json.loads(TRUST_ANY_IN(other.id))
    r = acct.iam.create_role(RoleName="r1", AssumeRolePolicyDocument=json.dumps(trust),
                             Description="test role")["Role"]
    assert r["Arn"] == f"arn:aws:iam::{acct.id}:role/r1"
    assert re.fullmatch(r"AROA[A-Z0-9]{17}", r["RoleId"]), r["RoleId"]
    assert r["Path"] == "/" and r["RoleName"] == "r1"
    assert r["AssumeRolePolicyDocument"] == trust
    g = acct.iam.get_role(RoleName="r1")["Role"]
    assert g["Arn"] == r["Arn"] and g["RoleId"] == r["RoleId"]
    assert g["AssumeRolePolicyDocument"] == trust
    assert g.get("MaxSessionDuration", 3600) == 3600
    lst = acct.iam.list_roles()
    assert lst["IsTruncated"] is False and "Marker" not in lst
    assert "r1" in [x["RoleName"] for x in lst["Roles"]]
    expect_error("EntityAlreadyExists", 409, acct.iam.create_role, RoleName="r1",
                 AssumeRolePolicyDocument=json.dumps(trust))
    trust2 = json.loads(TRUST_ANY_IN(acct.id))
    acct.iam.update_assume_role_policy(RoleName="r1", PolicyDocument=json.dumps(trust2))
    assert acct.iam.get_role(RoleName="r1")["Role"]["AssumeRolePolicyDocument"] == trust2
    expect_error("MalformedPolicyDocument", 400, acct.iam.update_assume_role_policy, RoleName="r1",
                 PolicyDocument="{")
    acct.iam.delete_role(RoleName="r1")
    expect_error("NoSuchEntity", 404, acct.iam.get_role, RoleName="r1")
    expect_error("NoSuchEntity", 404, acct.iam.delete_role, RoleName="r1")
    expect_error("NoSuchEntity", 404, acct.iam.update_assume_role_policy, RoleName="r1",
                 PolicyDocument=json.dumps(trust2))


def test_role_with_path(acct):
    r = acct.iam.create_role(RoleName="pathrole", Path="/service/",
                             AssumeRolePolicyDocument=TRUST_ANY_IN(acct.id))["Role"]
    assert r["Arn"] == f"arn:aws:iam::{acct.id}:role/service/pathrole"
    acct.iam.delete_role(RoleName="pathrole")


def test_role_inline_policy_lifecycle(acct):
    acct.iam.create_role(RoleName="r2", AssumeRolePolicyDocument=TRUST_ANY_IN(acct.id))
    pol = {"Version": "2012-10-17", "Statement": [allow(["iam:GetRole", "iam:ListRoles"])]}
    acct.iam.put_role_policy(RoleName="r2", PolicyName="read", PolicyDocument=json.dumps(pol))
    got = acct.iam.get_role_policy(RoleName="r2", PolicyName="read")
    assert got["RoleName"] == "r2" and got["PolicyName"] == "read" and got["PolicyDocument"] == pol
    lst = acct.iam.list_role_policies(RoleName="r2")
    assert lst["PolicyNames"] == ["read"] and lst["IsTruncated"] is False
    expect_error("DeleteConflict", 409, acct.iam.delete_role, RoleName="r2")
    acct.iam.delete_role_policy(RoleName="r2", PolicyName="read")
    expect_error("NoSuchEntity", 404, acct.iam.get_role_policy, RoleName="r2", PolicyName="read")
    assert acct.iam.list_role_policies(RoleName="r2")["PolicyNames"] == []
    acct.iam.delete_role(RoleName="r2")


def test_role_description_control_chars_rejected(acct):
    """AWS accepts only tab, LF, CR and printable characters in Description; a
    stored control character would make every later ListRoles/GetRole answer
    invalid XML for the whole account."""
    try:
        expect_error("ValidationError", 400, acct.iam.create_role, RoleName="ctlrole",
                     AssumeRolePolicyDocument=TRUST_ANY_IN(acct.id), Description="a\x01b")
    finally:
        try:
            acct.iam.list_roles()
            listing_ok = True
        except Exception as e:  # botocore.parsers.ResponseParserError: invalid XML
            listing_ok = repr(e)[:300]
        try:
            acct.iam.delete_role(RoleName="ctlrole")
        except Exception:
            pass
    assert listing_ok is True, f"ListRoles no longer parses: {listing_ok}"
    r = acct.iam.create_role(RoleName="descrole", AssumeRolePolicyDocument=TRUST_ANY_IN(acct.id),
                             Description="tab\tok <&> é")["Role"]
    assert r.get("Description") == "tab\tok <&> é"
    assert acct.iam.get_role(RoleName="descrole")["Role"].get("Description") == "tab\tok <&> é"
    acct.iam.delete_role(RoleName="descrole")


def test_create_role_malformed_trust(acct):
    expect_error("MalformedPolicyDocument", 400, acct.iam.create_role, RoleName="bad",
                 AssumeRolePolicyDocument="[1,2")
    expect_error("NoSuchEntity", 404, acct.iam.get_role, RoleName="bad")


# --------------------------------------------------------------------------- managed policies
def test_create_policy_and_attach_detach(acct):
    pdoc = {"Version": "2012-10-17", "Statement": [allow("iam:ListRoles")]}
    p = acct.iam.create_policy(PolicyName="ListRolesOnly", PolicyDocument=json.dumps(pdoc))["Policy"]
    assert p["Arn"] == f"arn:aws:iam::{acct.id}:policy/ListRolesOnly"
    assert p["PolicyName"] == "ListRolesOnly"
    assert re.fullmatch(r"ANPA[A-Z0-9]{17}", p["PolicyId"]), p["PolicyId"]
    assert p["DefaultVersionId"] == "v1" and p["Path"] == "/"
    assert p.get("AttachmentCount", 0) == 0
    expect_error("EntityAlreadyExists", 409, acct.iam.create_policy, PolicyName="ListRolesOnly",
                 PolicyDocument=json.dumps(pdoc))
    expect_error("MalformedPolicyDocument", 400, acct.iam.create_policy, PolicyName="Broken",
                 PolicyDocument="{]")

    creds = acct.user_with_key("mgd")
    iam_u = acct.client("iam", creds)
    expect_error("AccessDenied", 403, iam_u.list_roles)
    acct.iam.attach_user_policy(UserName="mgd", PolicyArn=p["Arn"])
    assert "Roles" in iam_u.list_roles()
    expect_error("DeleteConflict", 409, acct.iam.delete_user, UserName="mgd")
    acct.iam.detach_user_policy(UserName="mgd", PolicyArn=p["Arn"])
    expect_error("AccessDenied", 403, iam_u.list_roles)
    expect_error("NoSuchEntity", 404, acct.iam.detach_user_policy, UserName="mgd", PolicyArn=p["Arn"])
    expect_error("NoSuchEntity", 404, acct.iam.attach_user_policy, UserName="mgd",
                 PolicyArn=f"arn:aws:iam::{acct.id}:policy/DoesNotExist")
    expect_error("NoSuchEntity", 404, acct.iam.attach_user_policy, UserName="nobody", PolicyArn=p["Arn"])

    # roles
    acct.iam.create_role(RoleName="mgdrole", AssumeRolePolicyDocument=TRUST_ANY_IN(acct.id))
    acct.iam.attach_role_policy(RoleName="mgdrole", PolicyArn=p["Arn"])
    expect_error("DeleteConflict", 409, acct.iam.delete_role, RoleName="mgdrole")
    acct.iam.detach_role_policy(RoleName="mgdrole", PolicyArn=p["Arn"])
    expect_error("NoSuchEntity", 404, acct.iam.detach_role_policy, RoleName="mgdrole", PolicyArn=p["Arn"])
    acct.iam.delete_role(RoleName="mgdrole")

    for k in acct.iam.list_access_keys(UserName="mgd")["AccessKeyMetadata"]:
        acct.iam.delete_access_key(UserName="mgd", AccessKeyId=k["AccessKeyId"])
    acct.iam.delete_user(UserName="mgd")


def test_policy_of_another_account_cannot_be_attached(acct, other):
    p = other.iam.create_policy(PolicyName="OtherPolicy", PolicyDocument=doc(allow("iam:*")))["Policy"]
    acct.iam.create_user(UserName="xattach")
    try:
        with pytest.raises(ClientError) as ei:
            acct.iam.attach_user_policy(UserName="xattach", PolicyArn=p["Arn"])
        assert client_error(ei.value)[0] in ("NoSuchEntity", "AccessDenied", "InvalidInput"), client_error(ei.value)
    finally:
        acct.iam.delete_user(UserName="xattach")


def test_aws_managed_administrator_access(acct):
    creds = acct.user_with_key("poweruser")
    iam_u = acct.client("iam", creds)
    expect_error("AccessDenied", 403, iam_u.list_users)
    acct.iam.attach_user_policy(UserName="poweruser", PolicyArn=ADMIN_ARN)
    assert "Users" in iam_u.list_users()
    iam_u.create_user(UserName="madebypower")
    iam_u.delete_user(UserName="madebypower")
    acct.iam.detach_user_policy(UserName="poweruser", PolicyArn=ADMIN_ARN)
    expect_error("AccessDenied", 403, iam_u.list_users)


# --------------------------------------------------------------------------- policies gate actions
def test_identity_policies_gate_actions(acct):
    creds = acct.user_with_key("gated")
    iam_u = acct.client("iam", creds)
    code, status, msg = expect_error("AccessDenied", 403, iam_u.list_users)
    assert f"arn:aws:iam::{acct.id}:user/gated" in msg and "iam:ListUsers" in msg, msg
    # inline allow
    acct.iam.put_user_policy(UserName="gated", PolicyName="list", PolicyDocument=doc(allow("iam:ListUsers")))
    assert "gated" in [u["UserName"] for u in iam_u.list_users()["Users"]]
    # but only that action
    expect_error("AccessDenied", 403, iam_u.list_roles)
    expect_error("AccessDenied", 403, iam_u.create_user, UserName="sneaky")
    # an explicit Deny wins, even over AdministratorAccess
    acct.iam.attach_user_policy(UserName="gated", PolicyArn=ADMIN_ARN)
    assert "Roles" in iam_u.list_roles()
    dp = acct.iam.create_policy(PolicyName="DenyListUsers", PolicyDocument=doc(deny("iam:ListUsers")))["Policy"]
    acct.iam.attach_user_policy(UserName="gated", PolicyArn=dp["Arn"])
    expect_error("AccessDenied", 403, iam_u.list_users)
    assert "Roles" in iam_u.list_roles()
    acct.iam.detach_user_policy(UserName="gated", PolicyArn=dp["Arn"])
    assert "Users" in iam_u.list_users()
    # inline deny with a wildcard action
    acct.iam.put_user_policy(UserName="gated", PolicyName="denyall", PolicyDocument=doc(deny("iam:List*")))
    expect_error("AccessDenied", 403, iam_u.list_users)
    expect_error("AccessDenied", 403, iam_u.list_roles)
    # resource-scoped allow: GetUser only on self
    acct.iam.delete_user_policy(UserName="gated", PolicyName="denyall")
    acct.iam.detach_user_policy(UserName="gated", PolicyArn=ADMIN_ARN)
    acct.iam.delete_user_policy(UserName="gated", PolicyName="list")
    acct.iam.put_user_policy(UserName="gated", PolicyName="self",
                             PolicyDocument=doc(allow("iam:GetUser", f"arn:aws:iam::{acct.id}:user/gated")))
    assert iam_u.get_user(UserName="gated")["User"]["UserName"] == "gated"
    expect_error("AccessDenied", 403, iam_u.get_user, UserName="admin")


def test_cross_account_admin_cannot_touch_other_account(acct, other):
    # other's admin acts in its own account only: names resolve in the caller's account
    acct.iam.create_user(UserName="victim")
    expect_error("NoSuchEntity", 404, other.iam.delete_user, UserName="victim")
    assert acct.iam.get_user(UserName="victim")["User"]["UserName"] == "victim"
    acct.iam.delete_user(UserName="victim")


# --------------------------------------------------------------------------- STS
def test_get_caller_identity(acct):
    ident = acct.sts.get_caller_identity()
    assert ident["Account"] == acct.id
    assert ident["Arn"] == f"arn:aws:iam::{acct.id}:user/admin"
    assert ident["UserId"] == acct.iam.get_user()["User"]["UserId"]


def test_get_session_token(acct):
    t = acct.sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", t["AccessKeyId"]), t
    assert t["SecretAccessKey"] and t["SessionToken"]
    left = t["Expiration"].timestamp() - time.time()
    assert 800 < left <= 960, t["Expiration"]
    creds = {"AccessKeyId": t["AccessKeyId"], "SecretAccessKey": t["SecretAccessKey"],
             "SessionToken": t["SessionToken"]}
    ident = acct.client("sts", creds).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:iam::{acct.id}:user/admin", ident
    assert ident["Account"] == acct.id
    # default duration is 43200 s (12 h)
    t2 = acct.sts.get_session_token()["Credentials"]
    assert 43000 < t2["Expiration"].timestamp() - time.time() <= 43300, t2["Expiration"]
    # without the token, the temporary key is not a key
    no_tok = {"AccessKeyId": t["AccessKeyId"], "SecretAccessKey": t["SecretAccessKey"]}
    with pytest.raises(ClientError) as ei:
        acct.client("sts", no_tok).get_caller_identity()
    assert client_error(ei.value)[0] in ("InvalidClientTokenId", "SignatureDoesNotMatch", "AccessDenied")


@pytest.fixture(scope="module")
def boto3role(acct, other):
    """A role in `acct` that only `other` is trusted to assume; it may GetRole."""
    acct.iam.create_role(RoleName="boto3role", AssumeRolePolicyDocument=TRUST_ANY_IN(other.id))
    acct.iam.put_role_policy(RoleName="boto3role", PolicyName="r", PolicyDocument=doc(allow("iam:GetRole")))
    yield f"arn:aws:iam::{acct.id}:role/boto3role"
    acct.iam.delete_role_policy(RoleName="boto3role", PolicyName="r")
    acct.iam.delete_role(RoleName="boto3role")


def _session(c):
    return {k: c["Credentials"][k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}


def test_assume_role_boto3(acct, other, boto3role):
    c = other.sts.assume_role(RoleArn=boto3role, RoleSessionName="s1", DurationSeconds=900)
    assert c["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{acct.id}:assumed-role/boto3role/s1"
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", c["Credentials"]["AccessKeyId"])
    assert acct.client("iam", _session(c)).get_role(RoleName="boto3role")["Role"]["Arn"] == boto3role


def test_assume_role_session_policy_narrows(acct, other, boto3role):
    c = other.sts.assume_role(RoleArn=boto3role, RoleSessionName="s2", Policy=doc(allow("s3:GetObject")))
    expect_error("AccessDenied", 403, acct.client("iam", _session(c)).get_role, RoleName="boto3role")
    # a session policy that allows the action leaves it allowed (intersection)
    c = other.sts.assume_role(RoleArn=boto3role, RoleSessionName="s2b", Policy=doc(allow("iam:*")))
    assert acct.client("iam", _session(c)).get_role(RoleName="boto3role")
    # and it never adds what the role lacks
    expect_error("AccessDenied", 403, acct.client("iam", _session(c)).list_users)


def test_assume_role_malformed_session_policy(other, boto3role):
    expect_error("MalformedPolicyDocument", 400, other.sts.assume_role, RoleArn=boto3role,
                 RoleSessionName="s3", Policy="{nope")


def test_assume_role_same_account_needs_trust(acct, boto3role):
    """Role trust policies must allow the principal explicitly, even in the role's
    own account: an admin of `acct` whose account the trust does not name is denied."""
    expect_error("AccessDenied", 403, acct.sts.assume_role, RoleArn=boto3role, RoleSessionName="s4")


def test_assume_role_unknown_role(acct, other):
    # AWS answers AccessDenied for a role that does not exist (no existence oracle)
    expect_error("AccessDenied", 403, other.sts.assume_role,
                 RoleArn=f"arn:aws:iam::{acct.id}:role/nope", RoleSessionName="s5")


@pytest.mark.parametrize("kwargs", [
    {"DurationSeconds": 899}, {"DurationSeconds": 43201}, {"DurationSeconds": 0}, {"DurationSeconds": -5},
    {"RoleSessionName": "has space"}, {"RoleSessionName": "x" * 65}, {"RoleSessionName": "a"},
    {"RoleArn": "not-an-arn"},
], ids=lambda k: "-".join(f"{a}={str(v)[:12]}" for a, v in k.items()))
def test_assume_role_validation(other, boto3role, kwargs):
    sts_nv = other.client("sts", other.creds, parameter_validation=False)
    args = {"RoleArn": boto3role, "RoleSessionName": "s6", **kwargs}
    expect_error("ValidationError", 400, sts_nv.assume_role, **args)


def test_role_chaining_from_assumed_role(acct, other):
    """An assumed-role session may assume another role when the trust allows it."""
    acct.iam.create_role(RoleName="hop1", AssumeRolePolicyDocument=TRUST_ANY_IN(other.id))
    acct.iam.create_role(RoleName="hop2", AssumeRolePolicyDocument=TRUST_ANY_IN(acct.id))
    acct.iam.put_role_policy(RoleName="hop1", PolicyName="a",
                             PolicyDocument=doc(allow("sts:AssumeRole", f"arn:aws:iam::{acct.id}:role/hop2")))
    try:
        c = other.sts.assume_role(RoleArn=f"arn:aws:iam::{acct.id}:role/hop1", RoleSessionName="h1")["Credentials"]
        creds = {k: c[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
        c2 = acct.client("sts", creds).assume_role(RoleArn=f"arn:aws:iam::{acct.id}:role/hop2",
                                                   RoleSessionName="h2")
        assert c2["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{acct.id}:assumed-role/hop2/h2"
    finally:
        acct.iam.delete_role_policy(RoleName="hop1", PolicyName="a")
        acct.iam.delete_role(RoleName="hop1")
        acct.iam.delete_role(RoleName="hop2")


# --------------------------------------------------------------------------- wire shapes
def _signed_post(endpoint, service, creds, params):
    body = urllib.parse.urlencode(params)
    req = AWSRequest(method="POST", url=endpoint + "/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken")),
              service, REGION).add_auth(req)
    r = urllib.request.Request(endpoint + "/", data=body.encode(), method="POST", headers=dict(req.headers.items()))
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_query_xml_shape_success(server, acct):
    status, headers, body = _signed_post(server.endpoint, "iam", acct.creds,
                                         {"Action": "GetUser", "Version": "2010-05-08"})
    assert status == 200, body
    assert headers.get("Content-Type", "").startswith("text/xml"), headers
    root = ET.fromstring(body)
    assert root.tag == IAM_NS + "GetUserResponse", root.tag
    user = root.find(f"{IAM_NS}GetUserResult/{IAM_NS}User")
    assert user is not None, body
    assert user.findtext(IAM_NS + "Arn") == f"arn:aws:iam::{acct.id}:user/admin"
    rid = root.findtext(f"{IAM_NS}ResponseMetadata/{IAM_NS}RequestId")
    assert rid, body
    status, headers, body = _signed_post(server.endpoint, "sts", acct.creds,
                                         {"Action": "GetCallerIdentity", "Version": "2011-06-15"})
    root = ET.fromstring(body)
    assert root.tag == STS_NS + "GetCallerIdentityResponse", body
    assert root.findtext(f"{STS_NS}GetCallerIdentityResult/{STS_NS}Account") == acct.id


def test_query_xml_shape_error(server, acct):
    status, headers, body = _signed_post(server.endpoint, "iam", acct.creds,
                                         {"Action": "GetUser", "UserName": "nobody", "Version": "2010-05-08"})
    assert status == 404, body
    root = ET.fromstring(body)
    assert root.tag == IAM_NS + "ErrorResponse", body
    err = root.find(IAM_NS + "Error")
    assert err.findtext(IAM_NS + "Type") == "Sender"
    assert err.findtext(IAM_NS + "Code") == "NoSuchEntity"
    assert "nobody" in err.findtext(IAM_NS + "Message")
    assert root.findtext(IAM_NS + "RequestId"), body


def test_unknown_action(server, acct):
    status, _, body = _signed_post(server.endpoint, "iam", acct.creds, {"Action": "FlyToTheMoon",
                                                                         "Version": "2010-05-08"})
    assert status == 400 and b"InvalidAction" in body, (status, body)


def test_profile_chain_with_credentials_file(server, monkeypatch, tmp_path):
    """boto3's own credential chain reads DIR/credentials, profile cloister."""
    import boto3
    for k in [k for k in __import__("os").environ if k.startswith("AWS_")]:
        monkeypatch.delenv(k)
    (tmp_path / "config").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(server.credentials_path))
    monkeypatch.setenv("AWS_PROFILE", "cloister")
    sess = boto3.session.Session(region_name=REGION)
    ident = sess.client("sts", endpoint_url=server.endpoint).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:iam::{ident['Account']}:user/admin"


# --------------------------------------------------------------------------- concurrency
def test_concurrent_creates(acct):
    """8 clients creating users at once: every create succeeds once, none is lost."""
    import concurrent.futures as cf
    clients = [acct.client("iam", acct.creds) for _ in range(8)]
    batches = [[f"conc{t}x{i}" for i in range(10)] for t in range(8)]
    names = [n for b in batches for n in b]

    def create(t):
        for n in batches[t]:
            clients[t].create_user(UserName=n)
        return batches[t]

    with cf.ThreadPoolExecutor(8) as ex:
        done = [n for b in ex.map(create, range(8)) for n in b]
    assert sorted(done) == sorted(names)
    listed = {u["UserName"] for p in acct.iam.get_paginator("list_users").paginate() for u in p["Users"]}
    assert set(names) <= listed

    def delete(t):
        for n in batches[t]:
            clients[t].delete_user(UserName=n)

    with cf.ThreadPoolExecutor(8) as ex:
        list(ex.map(delete, range(8)))
    listed = {u["UserName"] for p in acct.iam.get_paginator("list_users").paginate() for u in p["Users"]}
    assert not set(names) & listed


def test_concurrent_same_name(acct):
    """8 clients racing to create one name: exactly one wins, the rest get EntityAlreadyExists."""
    import concurrent.futures as cf
    import threading
    clients = [acct.client("iam", acct.creds) for _ in range(8)]
    barrier = threading.Barrier(8)

    def create(t):
        barrier.wait()
        try:
            clients[t].create_user(UserName="racer")
            return "ok"
        except ClientError as e:
            return client_error(e)[0]

    with cf.ThreadPoolExecutor(8) as ex:
        results = list(ex.map(create, range(8)))
    assert results.count("ok") == 1 and results.count("EntityAlreadyExists") == 7, results
    acct.iam.delete_user(UserName="racer")
