"""`cloister serve --tls-listen`: the CA made on first start is written to
DIR/tls/ca.pem and kept across restarts; the stock aws CLI and boto3 talk HTTPS
to it with that CA; aws:SecureTransport reaches the policy engine (a Deny on
insecure transport blocks plain HTTP but not HTTPS)."""
import json
import signal
import ssl
import subprocess
import time
import urllib.request

import botocore.session
import pytest

from conftest import BIN, boto3_client, free_port, read_credentials, run_aws

DENY_INSECURE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*",
                   "Condition": {"Bool": {"aws:SecureTransport": "false"}}}],
}


def start(data, log):
    port, tls_port = free_port(), free_port()
    proc = subprocess.Popen([str(BIN), "serve", "--data", str(data), "--listen", f"127.0.0.1:{port}",
                             "--tls-listen", f"127.0.0.1:{tls_port}"],
                            stdout=open(log / "out", "ab"), stderr=open(log / "err", "ab"),
                            stdin=subprocess.DEVNULL)
    ctx = None
    for _ in range(300):
        try:
            if ctx is None and (data / "tls" / "ca.pem").exists():
                ctx = ssl.create_default_context(cafile=str(data / "tls" / "ca.pem"))
            if ctx is not None:
                with urllib.request.urlopen(f"https://localhost:{tls_port}/_cloister/health",
                                            context=ctx, timeout=1) as r:
                    if r.status == 200:
                        return proc, port, tls_port
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    pytest.fail("TLS server did not become healthy: " + (log / "err").read_text()[-2000:])


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


def test_tls_listener(tmp_path, aws_cli):
    data = tmp_path / "data"
    proc, port, tls_port = start(data, tmp_path)
    try:
        ca = data / "tls" / "ca.pem"
        ca_bytes = ca.read_bytes()
        assert b"BEGIN CERTIFICATE" in ca_bytes
        creds = read_credentials(data / "credentials")
        https = f"https://localhost:{tls_port}"
        # the stock CLI over HTTPS, trusting only the generated CA
        rc, out, err = run_aws(aws_cli, https, ["sts", "get-caller-identity", "--ca-bundle", str(ca)],
                               creds=creds)
        assert rc == 0, err
        assert json.loads(out)["Arn"].endswith(":user/admin")
        # without the CA the certificate is (rightly) not trusted
        rc, _, err = run_aws(aws_cli, https, ["sts", "get-caller-identity"], creds=creds)
        assert rc != 0 and ("SSL" in err.upper() or "CERTIFICATE" in err.upper()), err

        # aws:SecureTransport: a user denied ListUsers over plain HTTP only
        plain = boto3_client(f"http://127.0.0.1:{port}", "iam", creds)
        plain.create_user(UserName="tlsuser")
        plain.attach_user_policy(UserName="tlsuser", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        plain.put_user_policy(UserName="tlsuser", PolicyName="deny-insecure",
                              PolicyDocument=json.dumps(DENY_INSECURE))
        k = plain.create_access_key(UserName="tlsuser")["AccessKey"]
        ucreds = {"AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]}
        with pytest.raises(Exception) as ei:
            boto3_client(f"http://127.0.0.1:{port}", "iam", ucreds).list_users()
        assert "AccessDenied" in str(ei.value) and "explicit deny" in str(ei.value)
        sess = botocore.session.get_session()  # verify= is a client argument, not a Config one
        secure = sess.create_client("iam", endpoint_url=https, region_name="us-east-1", verify=str(ca),
                                    aws_access_key_id=k["AccessKeyId"],
                                    aws_secret_access_key=k["SecretAccessKey"])
        names = [u["UserName"] for u in secure.list_users()["Users"]]
        assert "tlsuser" in names
    finally:
        stop(proc)
    # a restart keeps the CA (clients keep trusting the server)
    proc, _, _ = start(data, tmp_path)
    try:
        assert (data / "tls" / "ca.pem").read_bytes() == ca_bytes
    finally:
        stop(proc)
