"""Issue 16: `cloister creds assume-role` as an AWS credential_process.

A config profile whose credential_process is `cloister creds assume-role
--role-arn ARN --profile SRC --endpoint-url URL` gives the role's credentials
to the aws CLI v2 (Debian's 2.9 cannot send STS to a custom endpoint for role
profiles) and to boto3; both read an object only the role may read."""
import json
import os
import subprocess

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import AWS_V2, BIN, REGION, _clean_env, client_error, new_user, uniq


@pytest.fixture(scope="module")
def setup(server, tmp_path_factory):
    """A bucket object the role may read and the source user may not; the files."""
    d = tmp_path_factory.mktemp("credproc")
    bucket, key = uniq("credproc"), "secret.txt"
    s3 = server.boto3_client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=b"only the role reads this")
    user, user_arn = new_user(server, uniq("src"), {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})
    iam = server.boto3_client("iam")
    role = uniq("reader")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    creds = d / "credentials"
    creds.write_text(f"[src]\naws_access_key_id = {user['AccessKeyId']}\n"
                     f"aws_secret_access_key = {user['SecretAccessKey']}\n")
    config = d / "config"
    config.write_text(
        f"[profile reader]\nregion = {REGION}\n"
        f"credential_process = {BIN} creds assume-role --role-arn {arn} "
        f"--role-session-name e2e --profile src --endpoint-url {server.endpoint}\n")
    env = _clean_env()
    env.update({"AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_CONFIG_FILE": str(config),
                "AWS_PAGER": "", "AWS_EC2_METADATA_DISABLED": "true", "HOME": str(d)})
    return {"bucket": bucket, "key": key, "arn": arn, "user": user, "env": env, "dir": d}


def test_prints_credential_process_json(server, setup):
    p = subprocess.run([str(BIN), "creds", "assume-role", "--role-arn", setup["arn"],
                        "--profile", "src", "--endpoint-url", server.endpoint,
                        "--duration-seconds", "900"],
                       capture_output=True, text=True, env=setup["env"], timeout=60)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["Version"] == 1
    assert doc["AccessKeyId"].startswith("ASIA") and doc["SecretAccessKey"]
    assert doc["SessionToken"] and doc["Expiration"].endswith("Z")
    ident = boto3.client("sts", endpoint_url=server.endpoint, region_name=REGION,
                         aws_access_key_id=doc["AccessKeyId"],
                         aws_secret_access_key=doc["SecretAccessKey"],
                         aws_session_token=doc["SessionToken"]).get_caller_identity()
    # no --role-session-name: the default session name
    assert ident["Arn"].endswith(":assumed-role/" + setup["arn"].split("/")[-1] + "/cloister-creds")


def test_aws_cli_v2_role_profile(server, setup):
    env = dict(setup["env"])
    # the source user alone may not read the object
    s3 = server.boto3_client("s3", setup["user"])
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=setup["bucket"], Key=setup["key"])
    assert client_error(ei.value)[0] == "AccessDenied"
    p = subprocess.run([AWS_V2, "--profile", "reader", "--endpoint-url", server.endpoint,
                        "s3", "cp", f"s3://{setup['bucket']}/{setup['key']}", "-"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "only the role reads this"
    p = subprocess.run([AWS_V2, "--profile", "reader", "--endpoint-url", server.endpoint,
                        "sts", "get-caller-identity"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert ":assumed-role/" in json.loads(p.stdout)["Arn"]
    assert json.loads(p.stdout)["Arn"].endswith("/e2e")


def test_boto3_role_profile(server, setup, monkeypatch):
    for k, v in setup["env"].items():
        if k.startswith("AWS_"):
            monkeypatch.setenv(k, v)
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    s3 = boto3.session.Session(profile_name="reader").client("s3", endpoint_url=server.endpoint)
    body = s3.get_object(Bucket=setup["bucket"], Key=setup["key"])["Body"].read()
    assert body == b"only the role reads this"


def test_errors_name_the_problem(server, setup):
    env = dict(setup["env"])
    p = subprocess.run([str(BIN), "creds", "assume-role", "--role-arn", setup["arn"] + "-gone",
                        "--profile", "src", "--endpoint-url", server.endpoint],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 1 and p.stdout == ""
    assert "AccessDenied" in p.stderr or "NoSuchEntity" in p.stderr, p.stderr
    p = subprocess.run([str(BIN), "creds", "assume-role", "--role-arn", setup["arn"],
                        "--profile", "missing", "--endpoint-url", server.endpoint],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 1 and "profile 'missing'" in p.stderr
    p = subprocess.run([str(BIN), "creds", "assume-role"], capture_output=True, text=True,
                       env=env, timeout=60)
    assert p.returncode == 2 and "--role-arn" in p.stderr
