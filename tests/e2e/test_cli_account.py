"""Issue 16, operator tools: `cloister account create|list|reset-admin-key`.

The account commands find the server's DATA/credentials (profile cloister) by
default, honour --endpoint-url, AWS_ENDPOINT_URL, --profile and
AWS_SHARED_CREDENTIALS_FILE, and say what to fix when they find no credentials
or no server. reset-admin-key gives an account's admin user a new key (printed
once) and deletes the old one; only the first account's admin may call it."""
import json
import os
import subprocess

import pytest
from botocore.exceptions import ClientError

from conftest import BIN, REGION, _clean_env, client_error, new_user, uniq


def run(args, cwd, env_extra=None, timeout=60):
    env = _clean_env()
    env["HOME"] = str(cwd)  # no ~/.aws of the machine
    env["AWS_DEFAULT_REGION"] = REGION
    if env_extra:
        env.update(env_extra)
    return subprocess.run([str(BIN), "account", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout)


@pytest.fixture(scope="module")
def srv(make_server):
    return make_server("acctcli")


def test_create_finds_data_credentials_by_default(srv, tmp_path):
    """From the directory that holds the data dir, `--data DIR` (or ./var) is enough:
    no AWS_* variable, no profile flag."""
    name = uniq("dflt")
    p = run(["create", name, "--endpoint-url", srv.endpoint, "--data", str(srv.data_dir)],
            tmp_path)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["AccountName"] == name and doc["AccessKeyId"].startswith("AKIA")
    # ./var is the server's default data dir: a symlink named var is found from cwd
    (tmp_path / "var").symlink_to(srv.data_dir)
    p = run(["list", "--endpoint-url", srv.endpoint], tmp_path)
    assert p.returncode == 0, p.stderr
    assert name in p.stdout and "ADMIN_USER" in p.stdout


def test_endpoint_from_aws_endpoint_url(srv, tmp_path):
    p = run(["list", "--json"], tmp_path,
            {"AWS_ENDPOINT_URL": srv.endpoint,
             "AWS_SHARED_CREDENTIALS_FILE": str(srv.credentials_path)})
    assert p.returncode == 0, p.stderr
    accts = json.loads(p.stdout)["Accounts"]
    assert {"AccountId", "AccountName", "AdminUser", "CreateDate"} <= set(accts[0])
    assert any(a["AccountName"] == "root" and a["AdminUser"] == "admin" for a in accts)


def test_profile_flag_and_shared_credentials_file(srv, tmp_path):
    creds = srv.admin_creds()
    f = tmp_path / "creds"
    f.write_text(f"[ops]\naws_access_key_id = {creds['AccessKeyId']}\n"
                 f"aws_secret_access_key = {creds['SecretAccessKey']}\n")
    p = run(["list", "--endpoint-url", srv.endpoint, "--profile", "ops"], tmp_path,
            {"AWS_SHARED_CREDENTIALS_FILE": str(f)})
    assert p.returncode == 0, p.stderr
    p = run(["list", "--endpoint-url", srv.endpoint, "--profile", "nope"], tmp_path,
            {"AWS_SHARED_CREDENTIALS_FILE": str(f)})
    assert p.returncode == 1
    assert "profile 'nope'" in p.stderr and str(f) in p.stderr


def test_clear_errors_without_credentials_or_server(srv, tmp_path):
    p = run(["list", "--endpoint-url", srv.endpoint], tmp_path)
    assert p.returncode == 1
    assert "no credentials" in p.stderr and "--data DIR" in p.stderr
    assert "var/credentials" in p.stderr and "AWS_SHARED_CREDENTIALS_FILE" in p.stderr
    p = run(["list", "--data", str(srv.data_dir)], tmp_path,
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert p.returncode == 1
    assert "cannot reach http://127.0.0.1:9" in p.stderr and "--endpoint-url" in p.stderr
    p = run(["list", "--data", str(srv.data_dir), "--endpoint-url", "localhost:1"], tmp_path)
    assert p.returncode == 1 and "http://" in p.stderr


def test_reset_admin_key(srv, tmp_path):
    name = uniq("lost")
    p = run(["create", name, "--endpoint-url", srv.endpoint, "--data", str(srv.data_dir)],
            tmp_path)
    assert p.returncode == 0, p.stderr
    old = json.loads(p.stdout)
    old_creds = {"AccessKeyId": old["AccessKeyId"], "SecretAccessKey": old["SecretAccessKey"]}
    assert srv.boto3_client("sts", old_creds).get_caller_identity()["Account"] == old["AccountId"]
    p = run(["reset-admin-key", name, "--endpoint-url", srv.endpoint, "--data",
             str(srv.data_dir)], tmp_path)
    assert p.returncode == 0, p.stderr
    new = json.loads(p.stdout)
    assert new["AccountId"] == old["AccountId"] and new["UserName"] == "admin"
    assert new["AccessKeyId"] != old["AccessKeyId"] and new["DeletedAccessKeys"] == 1
    new_creds = {"AccessKeyId": new["AccessKeyId"], "SecretAccessKey": new["SecretAccessKey"]}
    ident = srv.boto3_client("sts", new_creds).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:iam::{old['AccountId']}:user/admin"
    with pytest.raises(ClientError) as ei:
        srv.boto3_client("sts", old_creds).get_caller_identity()
    assert client_error(ei.value)[0] == "InvalidClientTokenId"
    # by account ID too; the admin user still has AdministratorAccess
    p = run(["reset-admin-key", old["AccountId"], "--endpoint-url", srv.endpoint, "--data",
             str(srv.data_dir)], tmp_path)
    assert p.returncode == 0, p.stderr
    c3 = json.loads(p.stdout)
    c3 = {"AccessKeyId": c3["AccessKeyId"], "SecretAccessKey": c3["SecretAccessKey"]}
    srv.boto3_client("s3", c3).create_bucket(Bucket=uniq("after-reset"))
    p = run(["reset-admin-key", "no-such-account", "--endpoint-url", srv.endpoint, "--data",
             str(srv.data_dir)], tmp_path)
    assert p.returncode == 1 and "ResourceNotFoundException" in p.stderr


def test_only_the_operator_may_reset_or_list(srv, tmp_path):
    """Another account's admin and a user of the first account without a policy
    are refused (the authorization matrix has the full table)."""
    name = uniq("other")
    p = run(["create", name, "--endpoint-url", srv.endpoint, "--data", str(srv.data_dir)],
            tmp_path)
    other = json.loads(p.stdout)
    user, _ = new_user(srv, uniq("nopol"))
    for creds in ({"AccessKeyId": other["AccessKeyId"],
                   "SecretAccessKey": other["SecretAccessKey"]}, user):
        env = {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
               "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"]}
        for args in (["reset-admin-key", "root"], ["reset-admin-key", name], ["list"]):
            p = run([*args, "--endpoint-url", srv.endpoint], tmp_path, env)
            assert p.returncode == 1, (args, p.stdout)
            assert "AccessDeniedException" in p.stderr, p.stderr
            assert "SecretAccessKey" not in p.stdout
