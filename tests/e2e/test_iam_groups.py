"""IAM groups and the small IAM items of issue 16, with boto3 and both aws CLIs:
groups (membership, inline and managed group policies counting in evaluation,
allow and deny, seen at once), DeleteGroup/DeleteUser conflicts as AWS,
UpdateUser (keys and policies follow a rename), GetAccountSummary,
ListEntitiesForPolicy, the file:// hint for a bare path as a policy document,
and that group operations are same-account only."""
import json

import pytest
from botocore.exceptions import ClientError

from conftest import aws_error_code, client_error, uniq

S3_ALL = {"Version": "2012-10-17",
          "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}
S3_DENY = {"Version": "2012-10-17",
           "Statement": [{"Effect": "Deny", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}


def expect(code, status, fn, *a, **kw):
    with pytest.raises(ClientError) as ei:
        fn(*a, **kw)
    got = client_error(ei.value)
    assert got[0] == code and (status is None or got[1] == status), got
    return got


class Acct:
    def __init__(self, srv, name):
        rc, d, out, err = srv.account_create(name)
        assert rc == 0 and d, out + err
        self.srv, self.id = srv, d["AccountId"]
        self.creds = {"AccessKeyId": d["AccessKeyId"], "SecretAccessKey": d["SecretAccessKey"]}
        self.iam = srv.boto3_client("iam", self.creds)

    def user_with_key(self, name):
        self.iam.create_user(UserName=name)
        k = self.iam.create_access_key(UserName=name)["AccessKey"]
        return {"AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]}


@pytest.fixture(scope="module")
def acct(server):
    return Acct(server, uniq("grp"))


def test_group_lifecycle_and_conflicts(acct):
    iam = acct.iam
    g = iam.create_group(GroupName="devs", Path="/team/")["Group"]
    assert g["Arn"] == f"arn:aws:iam::{acct.id}:group/team/devs" and g["GroupId"].startswith("AGPA")
    expect("EntityAlreadyExists", 409, iam.create_group, GroupName="DEVS")
    iam.create_user(UserName="gina")
    iam.add_user_to_group(GroupName="devs", UserName="gina")
    iam.add_user_to_group(GroupName="devs", UserName="gina")  # idempotent, as AWS
    got = iam.get_group(GroupName="devs")
    assert got["Group"]["GroupName"] == "devs" and [u["UserName"] for u in got["Users"]] == ["gina"]
    assert "devs" in [x["GroupName"] for x in iam.list_groups()["Groups"]]
    assert [x["GroupName"] for x in iam.list_groups(PathPrefix="/team/")["Groups"]] == ["devs"]
    assert [x["GroupName"] for x in iam.list_groups_for_user(UserName="gina")["Groups"]] == ["devs"]
    expect("NoSuchEntity", 404, iam.add_user_to_group, GroupName="devs", UserName="nobody")
    expect("NoSuchEntity", 404, iam.get_group, GroupName="nogroup")
    # AWS refuses DeleteUser while the user is in a group, DeleteGroup while it has users/policies
    e = expect("DeleteConflict", 409, iam.delete_user, UserName="gina")
    assert "group" in e[2]
    expect("DeleteConflict", 409, iam.delete_group, GroupName="devs")
    iam.remove_user_from_group(GroupName="devs", UserName="gina")
    assert iam.get_group(GroupName="devs")["Users"] == []
    iam.put_group_policy(GroupName="devs", PolicyName="p", PolicyDocument=json.dumps(S3_ALL))
    assert iam.list_group_policies(GroupName="devs")["PolicyNames"] == ["p"]
    assert iam.get_group_policy(GroupName="devs", PolicyName="p")["PolicyDocument"] == S3_ALL
    expect("DeleteConflict", 409, iam.delete_group, GroupName="devs")
    iam.delete_group_policy(GroupName="devs", PolicyName="p")
    arn = "arn:aws:iam::aws:policy/AdministratorAccess"
    iam.attach_group_policy(GroupName="devs", PolicyArn=arn)
    att = iam.list_attached_group_policies(GroupName="devs")["AttachedPolicies"]
    assert [a["PolicyArn"] for a in att] == [arn]
    e = expect("DeleteConflict", 409, iam.delete_group, GroupName="devs")
    assert "detach" in e[2]
    iam.detach_group_policy(GroupName="devs", PolicyArn=arn)
    iam.delete_group(GroupName="devs")
    iam.delete_user(UserName="gina")
    expect("NoSuchEntity", 404, iam.get_group, GroupName="devs")


def test_group_policies_count_in_evaluation(acct):
    iam, grp = acct.iam, uniq("g")
    creds = acct.user_with_key("evan")
    s3 = acct.srv.boto3_client("s3", creds)
    expect("AccessDenied", 403, s3.list_buckets)
    iam.create_group(GroupName=grp)
    iam.put_group_policy(GroupName=grp, PolicyName="s3", PolicyDocument=json.dumps(S3_ALL))
    expect("AccessDenied", 403, s3.list_buckets)  # not a member yet
    iam.add_user_to_group(GroupName=grp, UserName="evan")
    s3.list_buckets()  # inline group policy allows, at once
    iam.delete_group_policy(GroupName=grp, PolicyName="s3")
    expect("AccessDenied", 403, s3.list_buckets)
    # a managed policy attached to the group
    pol = iam.create_policy(PolicyName=uniq("p"), PolicyDocument=json.dumps(S3_ALL))["Policy"]
    iam.attach_group_policy(GroupName=grp, PolicyArn=pol["Arn"])
    s3.list_buckets()
    ents = iam.list_entities_for_policy(PolicyArn=pol["Arn"])
    assert [x["GroupName"] for x in ents["PolicyGroups"]] == [grp]
    assert ents["PolicyUsers"] == [] and ents["PolicyRoles"] == []
    # a group's Deny beats the user's own Allow
    iam.put_user_policy(UserName="evan", PolicyName="own", PolicyDocument=json.dumps(S3_ALL))
    iam.put_group_policy(GroupName=grp, PolicyName="no", PolicyDocument=json.dumps(S3_DENY))
    expect("AccessDenied", 403, s3.list_buckets)
    iam.remove_user_from_group(GroupName=grp, UserName="evan")
    s3.list_buckets()  # own allow again, the group's deny gone at once


def test_update_user_rename_keeps_keys_and_policies(acct):
    iam = acct.iam
    creds = acct.user_with_key("olduser")
    iam.put_user_policy(UserName="olduser", PolicyName="s3", PolicyDocument=json.dumps(S3_ALL))
    grp = uniq("g")
    iam.create_group(GroupName=grp)
    iam.add_user_to_group(GroupName=grp, UserName="olduser")
    iam.update_user(UserName="olduser", NewUserName="newuser", NewPath="/moved/")
    expect("NoSuchEntity", 404, iam.get_user, UserName="olduser")
    u = iam.get_user(UserName="newuser")["User"]
    assert u["Arn"] == f"arn:aws:iam::{acct.id}:user/moved/newuser"
    keys = iam.list_access_keys(UserName="newuser")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [creds["AccessKeyId"]]
    assert keys[0]["UserName"] == "newuser"
    assert iam.list_user_policies(UserName="newuser")["PolicyNames"] == ["s3"]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="newuser")["Groups"]] == [grp]
    assert [x["UserName"] for x in iam.get_group(GroupName=grp)["Users"]] == ["newuser"]
    me = acct.srv.boto3_client("sts", creds).get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{acct.id}:user/moved/newuser"
    acct.srv.boto3_client("s3", creds).list_buckets()  # its policy followed it
    iam.create_user(UserName="taken")
    expect("EntityAlreadyExists", 409, iam.update_user, UserName="newuser", NewUserName="TAKEN")
    expect("NoSuchEntity", 404, iam.update_user, UserName="ghost", NewUserName="ghost2")


def test_account_summary(acct):
    before = acct.iam.get_account_summary()["SummaryMap"]
    for k in ("Users", "Groups", "Roles", "Policies", "UsersQuota", "GroupsQuota", "RolesQuota",
              "PoliciesQuota", "AccessKeysPerUserQuota", "GroupsPerUserQuota"):
        assert k in before, k
    assert before["AccessKeysPerUserQuota"] == 2
    acct.iam.create_group(GroupName=uniq("cnt"))
    acct.iam.create_user(UserName=uniq("cnt"))
    after = acct.iam.get_account_summary()["SummaryMap"]
    assert after["Groups"] == before["Groups"] + 1 and after["Users"] == before["Users"] + 1


def test_entities_for_policy_users_roles_and_filter(acct):
    iam = acct.iam
    arn = iam.create_policy(PolicyName=uniq("p"), PolicyDocument=json.dumps(S3_ALL))["Policy"]["Arn"]
    user, role = uniq("u"), uniq("r")
    iam.create_user(UserName=user)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": f"arn:aws:iam::{acct.id}:root"}}]}
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    e = iam.list_entities_for_policy(PolicyArn=arn)
    assert [x["UserName"] for x in e["PolicyUsers"]] == [user]
    assert [x["RoleName"] for x in e["PolicyRoles"]] == [role]
    assert e["PolicyUsers"][0]["UserId"].startswith("AIDA")
    only = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role")
    assert only["PolicyUsers"] == [] and [x["RoleName"] for x in only["PolicyRoles"]] == [role]
    expect("NoSuchEntity", 404, iam.list_entities_for_policy,
           PolicyArn=f"arn:aws:iam::{acct.id}:policy/none")


@pytest.mark.parametrize("path", ["./prover_policy.json", "policy.json", "/tmp/x.json"])
def test_bare_path_policy_says_file_url(acct, path):
    e = expect("MalformedPolicyDocument", 400, acct.iam.create_policy, PolicyName=uniq("p"),
               PolicyDocument=path)
    assert f"did you mean file://{path}?" in e[2], e


def test_groups_are_same_account_only(server, acct):
    other = Acct(server, uniq("grpo"))
    grp = uniq("g")
    acct.iam.create_group(GroupName=grp)
    # another account's admin cannot see or change it: its ARN is in its own account
    expect("NoSuchEntity", 404, other.iam.get_group, GroupName=grp)
    # a user without iam:* in the owning account is denied, with the IAM action AWS uses
    creds = acct.user_with_key(uniq("nop"))
    e = expect("AccessDenied", 403, server.boto3_client("iam", creds).add_user_to_group,
               GroupName=grp, UserName="admin")
    assert "iam:AddUserToGroup" in e[2] and f":group/{grp}" in e[2]
    e = expect("AccessDenied", 403, server.boto3_client("iam", creds).create_group,
               GroupName=uniq("g"))
    assert "iam:CreateGroup" in e[2]


def test_groups_with_aws_cli(server, acct, aws_cli):
    """Few CLI calls (each costs seconds); the rest is covered with boto3 above."""
    grp, user = uniq("cli"), uniq("cliu")
    acct.iam.create_user(UserName=user)
    run = lambda *a: server.aws(aws_cli, list(a), creds=acct.creds)  # noqa: E731
    rc, out, err = run("iam", "create-group", "--group-name", grp)
    assert rc == 0 and json.loads(out)["Group"]["GroupName"] == grp, err
    acct.iam.add_user_to_group(GroupName=grp, UserName=user)
    rc, out, err = run("iam", "get-group", "--group-name", grp)
    assert rc == 0 and [u["UserName"] for u in json.loads(out)["Users"]] == [user], err
    rc, out, err = run("iam", "put-group-policy", "--group-name", grp, "--policy-name", "p",
                       "--policy-document", "./prover_policy.json")
    assert rc != 0 and aws_error_code(err) == "MalformedPolicyDocument", err
    assert "file://./prover_policy.json" in err
    acct.iam.remove_user_from_group(GroupName=grp, UserName=user)
    acct.iam.delete_group(GroupName=grp)
