"""The foundation issue's must-holds, with the real aws CLI (v2, and v1 when
installed): three accounts, a role in A trusted by account B, a user in B that
may assume it, and every way the flow must fail.

Account A is the bootstrap account (keys in DIR/credentials, profile cloister);
B and C are made with `cloister account create`. Each CLI runs the whole flow
with its own B and C; the role lives in A and is deleted between CLIs.

Restart tests (persistence, ExpiredToken) use their own server and data dir so
the shared server is never restarted or time-shifted.
"""
import datetime as dt
import json
import re

import pytest

from conftest import AWS_CLIS, aws_error_code, client_error

ROLE = "ProverInputDownloadRole"
SESSION = "testProverSession"
ASIA_RE = re.compile(r"\bASIA[A-Z0-9]{16}\b")
AKIA_RE = re.compile(r"^AKIA[A-Z0-9]{16}$")


def trust_policy(account):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                           "Action": "sts:AssumeRole"}]}


def allow(action, resource="*"):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}


def parse_time(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


class Flow:
    """State shared by the ordered steps of one CLI's run."""

    def __init__(self, srv, cli, work):
        self.srv, self.cli, self.work = srv, cli, work
        self.suffix = cli[0].replace("awscli-", "").replace("-", "")
        self.a_creds = srv.admin_creds()
        self.A = self.B = self.C = None
        self.b_admin = self.c_admin = None
        self.prover = self.noassume = None
        self.session = None

    @property
    def role_arn(self):
        return f"arn:aws:iam::{self.A}:role/{ROLE}"

    def aws(self, args, creds=None, profile=False):
        return self.srv.aws(self.cli, args, creds=creds, profile=profile, cwd=self.work)

    def aws_json(self, args, creds=None, profile=False):
        rc, out, err = self.aws([*args, "--output", "json"], creds=creds, profile=profile)
        assert rc == 0, f"aws {' '.join(args)} failed (rc={rc}):\n{err}"
        return json.loads(out) if out.strip() else {}

    def write(self, name, doc):
        p = self.work / name
        p.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2))
        return f"file://{name}"

    def need(self, *attrs):
        for a in attrs:
            if getattr(self, a) is None:
                pytest.skip(f"an earlier step of this flow failed ({a} not set)")

    def delete_role_in_a(self):
        """Removes ProverInputDownloadRole from A (so the next CLI can create it)."""
        from botocore.exceptions import ClientError
        iam = self.srv.boto3_client("iam", self.a_creds)
        try:
            for name in iam.list_role_policies(RoleName=ROLE).get("PolicyNames", []):
                iam.delete_role_policy(RoleName=ROLE, PolicyName=name)
            iam.delete_role(RoleName=ROLE)
        except ClientError:
            pass


@pytest.fixture(scope="module", params=AWS_CLIS, ids=[c[0] for c in AWS_CLIS])
def flow(request, server, tmp_path_factory):
    f = Flow(server, request.param, tmp_path_factory.mktemp("flow-" + request.param[0]))
    f.delete_role_in_a()
    yield f
    f.delete_role_in_a()


# --------------------------------------------------------------------------- setup steps
def test_01_accounts_a_b_c(flow):
    ident = flow.aws_json(["sts", "get-caller-identity"], profile=True)
    flow_a = ident["Account"]
    assert re.fullmatch(r"\d{12}", flow_a), ident
    assert ident["Arn"] == f"arn:aws:iam::{flow_a}:user/admin", ident
    flow.A = flow_a
    made = {}
    for which in ("B", "C"):
        name = f"account{which}{flow.suffix}"
        rc, doc, out, err = flow.srv.account_create(name)
        assert rc == 0, f"cloister account create {name}: rc={rc}\nstdout:{out}\nstderr:{err}"
        assert doc is not None, f"cloister account create printed no JSON: {out!r}"
        assert set(doc) >= {"AccountId", "AccountName", "UserName", "AccessKeyId", "SecretAccessKey"}, doc
        assert re.fullmatch(r"\d{12}", doc["AccountId"]), doc
        assert doc["AccountName"] == name and doc["UserName"] == "admin", doc
        assert AKIA_RE.match(doc["AccessKeyId"]), doc
        assert len(doc["SecretAccessKey"]) == 40, "AWS secrets are 40 characters"
        made[which] = doc
    ids = {flow.A, made["B"]["AccountId"], made["C"]["AccountId"]}
    assert len(ids) == 3, f"account IDs must differ: {ids}"
    for which, doc in made.items():
        creds = {"AccessKeyId": doc["AccessKeyId"], "SecretAccessKey": doc["SecretAccessKey"]}
        ident = flow.aws_json(["sts", "get-caller-identity"], creds=creds)
        assert ident["Account"] == doc["AccountId"], ident
        assert ident["Arn"] == f"arn:aws:iam::{doc['AccountId']}:user/admin", ident
    flow.B, flow.b_admin = made["B"]["AccountId"], {k: made["B"][k] for k in ("AccessKeyId", "SecretAccessKey")}
    flow.C, flow.c_admin = made["C"]["AccountId"], {k: made["C"][k] for k in ("AccessKeyId", "SecretAccessKey")}


def test_02_account_create_only_by_first_admin(flow):
    flow.need("b_admin")
    rc, doc, out, err = flow.srv.account_create("notAllowed" + flow.suffix, creds=flow.b_admin)
    assert rc != 0, f"account B's admin must not create accounts, got rc=0: {out}"
    assert "AccessDenied" in (out + err), f"want AccessDenied in the CLI message, got:\n{out}{err}"


def test_03_create_role_in_a(flow):
    flow.need("A", "B")
    doc_url = flow.write("prover-trust-policy.json", trust_policy(flow.B))
    assert doc_url == "file://prover-trust-policy.json"
    out = flow.aws_json(["iam", "create-role", "--role-name", ROLE,
                         "--assume-role-policy-document", doc_url], profile=True)
    role = out["Role"]
    assert role["Arn"] == flow.role_arn, role
    assert role["RoleName"] == ROLE and role["Path"] == "/", role
    assert role["RoleId"].startswith("AROA"), role
    assert role["AssumeRolePolicyDocument"] == trust_policy(flow.B), role
    # what the session may do: read roles (used to show the session works and is narrowed)
    flow.aws_json(["iam", "put-role-policy", "--role-name", ROLE, "--policy-name", "ReadRoles",
                   "--policy-document", flow.write("read-roles.json", allow(["iam:GetRole", "iam:ListRoles"]))],
                  profile=True)
    got = flow.aws_json(["iam", "get-role", "--role-name", ROLE], profile=True)
    assert got["Role"]["Arn"] == flow.role_arn


def test_04_prover_user_in_b(flow):
    flow.need("A", "b_admin")
    u = flow.aws_json(["iam", "create-user", "--user-name", "prover"], creds=flow.b_admin)
    assert u["User"]["Arn"] == f"arn:aws:iam::{flow.B}:user/prover", u
    flow.aws_json(["iam", "put-user-policy", "--user-name", "prover", "--policy-name", "AssumeProverRole",
                   "--policy-document", flow.write("prover-assume.json", allow("sts:AssumeRole", flow.role_arn))],
                  creds=flow.b_admin)
    k = flow.aws_json(["iam", "create-access-key", "--user-name", "prover"], creds=flow.b_admin)["AccessKey"]
    assert AKIA_RE.match(k["AccessKeyId"]) and k["Status"] == "Active" and k["UserName"] == "prover", k
    flow.prover = {"AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]}
    # a second user in B with no policy at all
    flow.aws_json(["iam", "create-user", "--user-name", "noassume"], creds=flow.b_admin)
    k2 = flow.aws_json(["iam", "create-access-key", "--user-name", "noassume"], creds=flow.b_admin)["AccessKey"]
    flow.noassume = {"AccessKeyId": k2["AccessKeyId"], "SecretAccessKey": k2["SecretAccessKey"]}


# --------------------------------------------------------------------------- must-holds
def test_05_assume_role_table_shows_asia_key(flow):
    flow.need("prover", "A")
    rc, out, err = flow.aws(["sts", "assume-role", "--role-arn", flow.role_arn,
                             "--role-session-name", SESSION,
                             "--query", "Credentials.[AccessKeyId,Expiration]", "--output", "table"],
                            creds=flow.prover)
    assert rc == 0, f"assume-role failed rc={rc}:\n{err}"
    assert ASIA_RE.search(out), f"no ASIA access key in the table:\n{out}"
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", out), f"no Expiration in the table:\n{out}"
    full = flow.aws_json(["sts", "assume-role", "--role-arn", flow.role_arn,
                          "--role-session-name", SESSION], creds=flow.prover)
    c = full["Credentials"]
    assert ASIA_RE.fullmatch(c["AccessKeyId"]), c
    assert c["SecretAccessKey"] and c["SessionToken"], c
    exp = parse_time(c["Expiration"])
    now = dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(minutes=55) < exp - now <= dt.timedelta(minutes=61), \
        f"default DurationSeconds is 3600; Expiration {c['Expiration']}"
    aru = full["AssumedRoleUser"]
    assert aru["Arn"] == f"arn:aws:sts::{flow.A}:assumed-role/{ROLE}/{SESSION}", aru
    assert aru["AssumedRoleId"].startswith("AROA") and aru["AssumedRoleId"].endswith(":" + SESSION), aru
    flow.session = {k: c[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}


def test_06_caller_identity_is_assumed_role(flow):
    flow.need("session")
    ident = flow.aws_json(["sts", "get-caller-identity"], creds=flow.session)
    assert ident["Arn"] == f"arn:aws:sts::{flow.A}:assumed-role/{ROLE}/{SESSION}", ident
    assert ident["Account"] == flow.A, ident
    assert ident["UserId"].startswith("AROA") and ident["UserId"].endswith(":" + SESSION), ident


def test_07_session_has_role_permissions(flow):
    flow.need("session")
    got = flow.aws_json(["iam", "get-role", "--role-name", ROLE], creds=flow.session)
    assert got["Role"]["Arn"] == flow.role_arn
    # and nothing more: the role has no iam:ListUsers
    rc, out, err = flow.aws(["iam", "list-users"], creds=flow.session)
    assert rc != 0 and aws_error_code(err) == "AccessDenied", (rc, out, err)


def test_08_account_c_admin_denied(flow):
    flow.need("c_admin", "A")
    rc, out, err = flow.aws(["sts", "assume-role", "--role-arn", flow.role_arn,
                             "--role-session-name", SESSION], creds=flow.c_admin)
    assert rc != 0, f"account C must not assume the role:\n{out}"
    assert aws_error_code(err) == "AccessDenied", err
    assert "when calling the AssumeRole operation" in err, err


def test_09_b_user_without_assume_permission_denied(flow):
    flow.need("noassume", "A")
    rc, out, err = flow.aws(["sts", "assume-role", "--role-arn", flow.role_arn,
                             "--role-session-name", SESSION], creds=flow.noassume)
    assert rc != 0, f"a B user without sts:AssumeRole must be denied:\n{out}"
    assert aws_error_code(err) == "AccessDenied", err
    assert "when calling the AssumeRole operation" in err, err


def test_10_b_admin_allowed_through_root_trust(flow):
    """The trust policy names B's root: any B principal B's own policies allow may assume."""
    flow.need("b_admin", "A")
    out = flow.aws_json(["sts", "assume-role", "--role-arn", flow.role_arn,
                         "--role-session-name", "adminSession"], creds=flow.b_admin)
    assert ASIA_RE.fullmatch(out["Credentials"]["AccessKeyId"]), out


def test_11_wrong_secret_signature_mismatch(flow):
    flow.need("prover")
    bad = dict(flow.prover, SecretAccessKey=flow.prover["SecretAccessKey"][:-4] + "XXXX")
    for args, op in ((["sts", "get-caller-identity"], "GetCallerIdentity"),
                     (["iam", "list-users"], "ListUsers")):
        rc, out, err = flow.aws(args, creds=bad)
        assert rc != 0, out
        assert aws_error_code(err) == "SignatureDoesNotMatch", err
        assert f"when calling the {op} operation" in err, err


def test_12_unknown_key_invalid_client_token(flow):
    creds = {"AccessKeyId": "AKIAZZZZZZZZZZZZZZZZ", "SecretAccessKey": "x" * 40}
    for args in (["sts", "get-caller-identity"], ["iam", "list-users"]):
        rc, out, err = flow.aws(args, creds=creds)
        assert rc != 0, out
        assert aws_error_code(err) == "InvalidClientTokenId", err


def test_13_unknown_session_token_denied(flow):
    flow.need("session")
    forged = dict(flow.session, SessionToken=flow.session["SessionToken"][:-8] + "AAAAAAAA")
    rc, out, err = flow.aws(["sts", "get-caller-identity"], creds=forged)
    assert rc != 0, f"a tampered session token must not authenticate:\n{out}"
    assert aws_error_code(err) in ("InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken",
                                   "AccessDenied"), err


MALFORMED = [
    # (id, target: user|trust, document, words of which one must appear in the message)
    ("invalid-json", "user", '{"Version": "2012-10-17", "Statement": [', ["syntax", "json", "parse"]),
    ("missing-effect", "user",
     {"Version": "2012-10-17", "Statement": [{"Action": "sts:AssumeRole", "Resource": "*"}]}, ["effect"]),
    ("bad-effect", "user",
     {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}]},
     ["effect", "maybe"]),
    ("principal-in-identity-policy", "user",
     {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                                              "Resource": "*"}]}, ["principal"]),
    ("no-action", "user",
     {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}, ["action"]),
    ("bad-version", "user",
     {"Version": "2099-01-01", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
     ["version", "syntax"]),
    ("trust-without-principal", "trust",
     {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}, ["principal"]),
    ("trust-with-resource", "trust",
     {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                              "Action": "sts:AssumeRole", "Resource": "*"}]}, ["resource"]),
]


@pytest.mark.parametrize("case", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_14_malformed_policy_document(flow, case):
    flow.need("b_admin")
    ident, target, doc, words = case
    url = flow.write(f"malformed-{ident}.json", doc)
    if target == "user":
        args = ["iam", "put-user-policy", "--user-name", "prover", "--policy-name", "Broken",
                "--policy-document", url]
    else:
        args = ["iam", "create-role", "--role-name", "BrokenTrust", "--assume-role-policy-document", url]
    rc, out, err = flow.aws(args, creds=flow.b_admin)
    assert rc != 0, f"malformed document accepted:\n{out}"
    assert aws_error_code(err) == "MalformedPolicyDocument", err
    msg = err.split("operation:", 1)[-1].lower()
    assert any(w in msg for w in words), f"message should name the fault ({' or '.join(words)}): {err.strip()}"


def test_15_session_policy_narrows(flow):
    flow.need("prover", "A")
    narrow = json.dumps(allow("s3:ListBucket"))
    out = flow.aws_json(["sts", "assume-role", "--role-arn", flow.role_arn, "--role-session-name", "narrowed",
                         "--policy", narrow], creds=flow.prover)
    c = out["Credentials"]
    narrowed = {k: c[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
    ident = flow.aws_json(["sts", "get-caller-identity"], creds=narrowed)
    assert ident["Arn"] == f"arn:aws:sts::{flow.A}:assumed-role/{ROLE}/narrowed", ident
    rc, out, err = flow.aws(["iam", "get-role", "--role-name", ROLE], creds=narrowed)
    assert rc != 0, f"the session policy allows no IAM call, yet GetRole worked:\n{out}"
    assert aws_error_code(err) == "AccessDenied", err
    assert "when calling the GetRole operation" in err, err


def test_16_duration_bounds(flow):
    flow.need("prover", "A")
    out = flow.aws_json(["sts", "assume-role", "--role-arn", flow.role_arn, "--role-session-name", "short",
                         "--duration-seconds", "900"], creds=flow.prover)
    exp = parse_time(out["Credentials"]["Expiration"])
    left = exp - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(minutes=13) < left <= dt.timedelta(minutes=16), out["Credentials"]["Expiration"]
    rc, out, err = flow.aws(["sts", "assume-role", "--role-arn", flow.role_arn, "--role-session-name", "long",
                             "--duration-seconds", "43201"], creds=flow.prover)
    assert rc != 0 and aws_error_code(err) == "ValidationError", (rc, err)


# --------------------------------------------------------------------------- restart: persistence and expiry
class RestartWorld:
    """A private server with accounts, users, keys, a role and 900-second
    sessions; `goto(phase)` restarts it (same --data) into a phase:
    'fresh' (first start), 'restarted' (no time shift), 'shifted' (+1000 s)."""

    def __init__(self, srv):
        self.srv = srv
        self.phase = "fresh"
        self.a_creds = srv.admin_creds()

    def goto(self, phase):
        if self.phase == phase:
            return
        self.srv.restart(fake_now_offset=1000 if phase == "shifted" else None)
        self.phase = phase

    def setup(self):
        s = self.srv
        sts_a = s.boto3_client("sts", self.a_creds)
        self.A = sts_a.get_caller_identity()["Account"]
        rc, doc, out, err = s.account_create("restartB")
        assert rc == 0 and doc, f"account create: {out}{err}"
        self.B = doc["AccountId"]
        self.b_admin = {"AccessKeyId": doc["AccessKeyId"], "SecretAccessKey": doc["SecretAccessKey"]}
        iam_a = s.boto3_client("iam", self.a_creds)
        iam_a.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust_policy(self.B)))
        iam_a.create_user(UserName="alice")
        iam_b = s.boto3_client("iam", self.b_admin)
        iam_b.create_user(UserName="prover")
        iam_b.put_user_policy(UserName="prover", PolicyName="AssumeProverRole",
                              PolicyDocument=json.dumps(allow("sts:AssumeRole",
                                                              f"arn:aws:iam::{self.A}:role/{ROLE}")))
        k = iam_b.create_access_key(UserName="prover")["AccessKey"]
        self.prover = {"AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]}
        sts_p = s.boto3_client("sts", self.prover)
        c = sts_p.assume_role(RoleArn=f"arn:aws:iam::{self.A}:role/{ROLE}", RoleSessionName=SESSION,
                              DurationSeconds=900)["Credentials"]
        self.session = {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
                        "SessionToken": c["SessionToken"]}
        t = sts_p.get_session_token(DurationSeconds=900)["Credentials"]
        self.session_token_creds = {"AccessKeyId": t["AccessKeyId"], "SecretAccessKey": t["SecretAccessKey"],
                                    "SessionToken": t["SessionToken"]}
        self.before = self.snapshot()

    def snapshot(self):
        s = self.srv
        iam_a, iam_b = s.boto3_client("iam", self.a_creds), s.boto3_client("iam", self.b_admin)
        return {
            "A.users": sorted((u["UserName"], u["Arn"], u["UserId"]) for u in iam_a.list_users()["Users"]),
            "A.roles": sorted((r["RoleName"], r["Arn"], r["RoleId"]) for r in iam_a.list_roles()["Roles"]),
            "B.users": sorted((u["UserName"], u["Arn"], u["UserId"]) for u in iam_b.list_users()["Users"]),
            "B.prover.keys": sorted(k["AccessKeyId"] for k in
                                    iam_b.list_access_keys(UserName="prover")["AccessKeyMetadata"]),
            "B.prover.policies": iam_b.list_user_policies(UserName="prover")["PolicyNames"],
            "A.admin.keys": sorted(k["AccessKeyId"] for k in iam_a.list_access_keys()["AccessKeyMetadata"]),
        }


@pytest.fixture(scope="module")
def restart_world(make_server):
    w = RestartWorld(make_server("restart"))
    w.setup()
    return w


def test_20_restart_keeps_everything(restart_world, aws_cli):
    w = restart_world
    w.goto("restarted")
    after = w.snapshot()
    assert after == w.before, "state changed across a restart"
    cred_file = w.srv.credentials_path
    # the old keys, through the CLI
    for creds, arn in ((None, f"arn:aws:iam::{w.A}:user/admin"),
                       (w.b_admin, f"arn:aws:iam::{w.B}:user/admin"),
                       (w.prover, f"arn:aws:iam::{w.B}:user/prover"),
                       (w.session, f"arn:aws:sts::{w.A}:assumed-role/{ROLE}/{SESSION}")):
        rc, out, err = w.srv.aws(aws_cli, ["sts", "get-caller-identity", "--output", "json"],
                                 creds=creds, profile=creds is None)
        assert rc == 0, f"old credentials ({arn}) fail after restart:\n{err}"
        assert json.loads(out)["Arn"] == arn
    assert cred_file.exists()
    # listing through the CLI too
    rc, out, err = w.srv.aws(aws_cli, ["iam", "list-roles", "--output", "json"], profile=True)
    assert rc == 0, err
    assert ROLE in [r["RoleName"] for r in json.loads(out)["Roles"]]
    rc, out, err = w.srv.aws(aws_cli, ["iam", "list-users", "--output", "json"], creds=w.b_admin)
    assert rc == 0, err
    assert {"admin", "prover"} <= {u["UserName"] for u in json.loads(out)["Users"]}
    # the role can still be assumed with the old key after the restart
    rc, out, err = w.srv.aws(aws_cli, ["sts", "assume-role", "--role-arn", f"arn:aws:iam::{w.A}:role/{ROLE}",
                                       "--role-session-name", "afterRestart", "--output", "json"],
                             creds=w.prover)
    assert rc == 0, err


def test_21_expired_temporary_credentials(restart_world, aws_cli):
    w = restart_world
    w.goto("shifted")  # server clock now 1000 s ahead: the 900 s sessions are over
    for creds in (w.session, w.session_token_creds):
        rc, out, err = w.srv.aws(aws_cli, ["sts", "get-caller-identity"], creds=creds)
        assert rc != 0, f"expired credentials still work:\n{out}"
        assert aws_error_code(err) == "ExpiredToken", err
        assert "when calling the GetCallerIdentity operation" in err, err
    rc, out, err = w.srv.aws(aws_cli, ["iam", "get-role", "--role-name", ROLE], creds=w.session)
    assert rc != 0 and aws_error_code(err) == "ExpiredToken", err


def test_22_expired_token_boto3(restart_world):
    from botocore.exceptions import ClientError
    w = restart_world
    w.goto("shifted")
    with pytest.raises(ClientError) as ei:
        w.srv.boto3_client("sts", w.session).get_caller_identity()
    code, status, msg = client_error(ei.value)
    assert code == "ExpiredToken" and status in (400, 403), (code, status, msg)
