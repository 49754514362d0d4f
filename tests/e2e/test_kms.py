"""KMS end to end: the stock aws CLI (v2, and v1 when installed) and boto3
against a real server — keys, Encrypt/Decrypt with encryption context,
data keys, key states, rotation, asymmetric Sign/Verify checked by an
independent library, key policies with KMS's rule, grants, the policy lockout
check, tampered ciphertexts, the passphrase-derived root key, and Decrypt for an
attested Recipient (documents minted with `cloister attest sign`, the
CiphertextForRecipient opened with `openssl cms`)."""
import base64
import json
import os
import subprocess
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import BIN, PG_MODE, REGION, aws_error_code, client_error, meta_query, new_user, uniq


def admin_kms(server):
    return server.boto3_client("kms")


def allow(actions, resource="*"):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}


def account_of(server):
    return server.boto3_client("sts").get_caller_identity()["Account"]


# --------------------------------------------------------------------------- aws CLI
def test_cli_create_encrypt_decrypt_datakey_policy(server, aws_cli, tmp_path):
    def aws(*args):
        rc, out, err = server.aws(aws_cli, [*args, "--output", "json"], profile=True, cwd=tmp_path)
        assert rc == 0, f"aws {' '.join(args)}: {err}"
        return json.loads(out) if out.strip() else {}

    meta = aws("kms", "create-key", "--description", "cli test")["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert meta["Arn"] == f"arn:aws:kms:{REGION}:{meta['AWSAccountId']}:key/{meta['KeyId']}"
    secret = os.urandom(300)
    (tmp_path / "input.bin").write_bytes(secret)
    enc = aws("kms", "encrypt", "--key-id", meta["KeyId"], "--plaintext", "fileb://input.bin",
              "--encryption-context", "purpose=test,run=1")
    assert enc["KeyId"] == meta["Arn"]
    blob = base64.b64decode(enc["CiphertextBlob"])
    assert secret not in blob
    (tmp_path / "ct.bin").write_bytes(blob)
    dec = aws("kms", "decrypt", "--ciphertext-blob", "fileb://ct.bin",
              "--encryption-context", "purpose=test,run=1")
    assert base64.b64decode(dec["Plaintext"]) == secret and dec["KeyId"] == meta["Arn"]
    rc, _, err = server.aws(aws_cli, ["kms", "decrypt", "--ciphertext-blob", "fileb://ct.bin",
                                      "--encryption-context", "purpose=other,run=1"],
                            profile=True, cwd=tmp_path)
    assert rc != 0 and aws_error_code(err) == "InvalidCiphertextException", err
    alias = "alias/" + uniq("cli")
    aws("kms", "create-alias", "--alias-name", alias, "--target-key-id", meta["KeyId"])
    dk = aws("kms", "generate-data-key", "--key-id", alias, "--key-spec", "AES_256")
    assert len(base64.b64decode(dk["Plaintext"])) == 32
    (tmp_path / "dk.bin").write_bytes(base64.b64decode(dk["CiphertextBlob"]))
    back = aws("kms", "decrypt", "--ciphertext-blob", "fileb://dk.bin")
    assert back["Plaintext"] == dk["Plaintext"]
    acct = meta["AWSAccountId"]
    pol = {"Version": "2012-10-17", "Statement": [
        {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "deny-decrypt", "Effect": "Deny", "Principal": {"AWS": "*"},
         "Action": "kms:Decrypt", "Resource": "*"}]}
    (tmp_path / "policy.json").write_text(json.dumps(pol))
    aws("kms", "put-key-policy", "--key-id", meta["KeyId"], "--policy-name", "default",
        "--policy", "file://policy.json")
    got = aws("kms", "get-key-policy", "--key-id", meta["KeyId"], "--policy-name", "default")
    assert json.loads(got["Policy"]) == pol
    rc, _, err = server.aws(aws_cli, ["kms", "decrypt", "--ciphertext-blob", "fileb://dk.bin"],
                            profile=True, cwd=tmp_path)
    assert rc != 0 and aws_error_code(err) == "AccessDeniedException", err
    keys = aws("kms", "list-keys")["Keys"]
    assert meta["KeyId"] in [k["KeyId"] for k in keys]
    aliases = aws("kms", "list-aliases", "--key-id", meta["KeyId"])["Aliases"]
    assert [a["AliasName"] for a in aliases] == [alias]


# --------------------------------------------------------------------------- boto3
def test_encryption_context_and_tampering(server):
    kms = admin_kms(server)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    ctx = {"bucket": "b", "key": "p/input.json"}
    blob = kms.encrypt(KeyId=key, Plaintext=b"hello", EncryptionContext=ctx)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)["Plaintext"] == b"hello"
    for bad in ({}, {"bucket": "b"}, {**ctx, "x": "y"}, {"bucket": "b", "key": "p/other"}):
        with pytest.raises(ClientError) as e:
            kms.decrypt(CiphertextBlob=blob, EncryptionContext=bad)
        assert client_error(e.value)[0] == "InvalidCiphertextException"
    tampered = [blob[:i] + bytes([blob[i] ^ 1]) + blob[i + 1:] for i in (0, 5, 40, 60, len(blob) - 1)]
    tampered += [blob[:n] for n in (1, 40, 69, 84, len(blob) - 1)] + [blob + b"x"]
    for t in tampered:
        with pytest.raises(ClientError) as e:
            kms.decrypt(CiphertextBlob=t, EncryptionContext=ctx)
        code = client_error(e.value)[0]
        assert code in ("InvalidCiphertextException", "NotFoundException"), code
    # a blob from another key named explicitly: IncorrectKeyException
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as e:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx, KeyId=other)
    assert client_error(e.value)[0] == "IncorrectKeyException"


def test_key_states_and_deletion_window(server):
    kms = admin_kms(server)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"
    for call in (lambda: kms.encrypt(KeyId=key, Plaintext=b"x"),
                 lambda: kms.decrypt(CiphertextBlob=blob)):
        with pytest.raises(ClientError) as e:
            call()
        assert client_error(e.value)[0] == "DisabledException"
    kms.enable_key(KeyId=key)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    for days in (6, 31):
        with pytest.raises(ClientError) as e:
            kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=days)
        assert client_error(e.value)[0] == "ValidationException"
    r = kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert r["KeyState"] == "PendingDeletion" and r["PendingWindowInDays"] == 7
    for call in (lambda: kms.encrypt(KeyId=key, Plaintext=b"x"),
                 lambda: kms.decrypt(CiphertextBlob=blob),
                 lambda: kms.enable_key(KeyId=key)):
        with pytest.raises(ClientError) as e:
            call()
        assert client_error(e.value)[0] == "KMSInvalidStateException"
    kms.cancel_key_deletion(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"


class _ShiftedClock:
    """botocore.auth's view of `datetime`, moved by `offset` seconds, so requests
    are signed in the future a server started with CLOISTER_FAKE_NOW_OFFSET lives in."""

    def __init__(self, offset):
        import datetime as real

        class Shifted(real.datetime):
            @classmethod
            def utcnow(cls):
                return real.datetime.utcnow() + real.timedelta(seconds=offset)

            @classmethod
            def now(cls, tz=None):
                return real.datetime.now(tz) + real.timedelta(seconds=offset)
        self._real, self.datetime = real, Shifted

    def __getattr__(self, name):
        return getattr(self._real, name)


def shift_signing_clock(monkeypatch, offset):
    """Both of botocore's SigV4 signers (pure Python, and awscrt's when installed)."""
    import importlib
    for name in ("botocore.auth", "botocore.crt.auth"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(mod, "datetime"):
            monkeypatch.setattr(mod, "datetime", _ShiftedClock(offset))


def test_deleted_after_window(make_server, monkeypatch):
    srv = make_server("kmsdel")
    kms = srv.boto3_client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    keep = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    srv.restart(fake_now_offset=6 * 86400)  # housekeeping runs at start
    shift_signing_clock(monkeypatch, 6 * 86400)
    kms = srv.boto3_client("kms")
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    srv.restart(fake_now_offset=8 * 86400)
    shift_signing_clock(monkeypatch, 8 * 86400)
    kms = srv.boto3_client("kms")
    with pytest.raises(ClientError) as e:
        kms.describe_key(KeyId=key)
    assert client_error(e.value)[0] == "NotFoundException"
    assert kms.describe_key(KeyId=keep)["KeyMetadata"]["KeyState"] == "Enabled"


def test_rotation_keeps_old_ciphertexts(server):
    kms = admin_kms(server)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    old = kms.encrypt(KeyId=key, Plaintext=b"before")["CiphertextBlob"]
    # RotationPeriodInDays and RotateKeyOnDemand are newer than Debian's botocore: raw calls
    c = server.admin_creds()
    status, out = raw_kms(server, c, "TrentService.EnableKeyRotation",
                          json.dumps({"KeyId": key, "RotationPeriodInDays": 90}).encode())
    assert status == 200, out
    status, st = raw_kms(server, c, "TrentService.GetKeyRotationStatus", json.dumps({"KeyId": key}).encode())
    assert st["KeyRotationEnabled"] is True and st["RotationPeriodInDays"] == 90, st
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True
    status, out = raw_kms(server, c, "TrentService.RotateKeyOnDemand", json.dumps({"KeyId": key}).encode())
    assert status == 200 and out["KeyId"] == key, out
    new = kms.encrypt(KeyId=key, Plaintext=b"after")["CiphertextBlob"]
    assert old[37:41] == b"\0\0\0\1" and new[37:41] == b"\0\0\0\2"  # material version in the blob
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"before"
    assert kms.decrypt(CiphertextBlob=new)["Plaintext"] == b"after"
    re = kms.re_encrypt(CiphertextBlob=old, DestinationKeyId=key,
                        DestinationEncryptionContext={"a": "b"})
    assert kms.decrypt(CiphertextBlob=re["CiphertextBlob"], EncryptionContext={"a": "b"})["Plaintext"] == b"before"
    kms.disable_key_rotation(KeyId=key)
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False


def test_data_keys_and_random(server):
    kms = admin_kms(server)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    d = kms.generate_data_key(KeyId=key, KeySpec="AES_128", EncryptionContext={"k": "v"})
    assert len(d["Plaintext"]) == 16
    assert kms.decrypt(CiphertextBlob=d["CiphertextBlob"], EncryptionContext={"k": "v"})["Plaintext"] == d["Plaintext"]
    w = kms.generate_data_key_without_plaintext(KeyId=key, NumberOfBytes=64)
    assert "Plaintext" not in w and len(kms.decrypt(CiphertextBlob=w["CiphertextBlob"])["Plaintext"]) == 64
    with pytest.raises(ClientError) as e:
        kms.generate_data_key(KeyId=key)
    assert client_error(e.value)[0] == "ValidationException"
    r1, r2 = (kms.generate_random(NumberOfBytes=32)["Plaintext"] for _ in range(2))
    assert len(r1) == 32 and r1 != r2
    with pytest.raises(ClientError) as e:
        kms.generate_random(NumberOfBytes=1025)
    assert client_error(e.value)[0] == "ValidationException"


@pytest.mark.parametrize("spec,alg", [("ECC_NIST_P256", "ECDSA_SHA_256"),
                                      ("ECC_NIST_P384", "ECDSA_SHA_384"),
                                      ("RSA_2048", "RSASSA_PSS_SHA_256"),
                                      ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256")])
def test_sign_verify_checked_independently(server, spec, alg):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    kms = admin_kms(server)
    meta = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert alg in meta["SigningAlgorithms"]
    msg = b"attest me " + os.urandom(16)
    sig = kms.sign(KeyId=meta["KeyId"], Message=msg, SigningAlgorithm=alg)["Signature"]
    assert kms.verify(KeyId=meta["KeyId"], Message=msg, Signature=sig, SigningAlgorithm=alg)["SignatureValid"]
    with pytest.raises(ClientError) as e:
        kms.verify(KeyId=meta["KeyId"], Message=msg + b"!", Signature=sig, SigningAlgorithm=alg)
    assert client_error(e.value)[0] == "KMSInvalidSignatureException"
    pub = serialization.load_der_public_key(kms.get_public_key(KeyId=meta["KeyId"])["PublicKey"])
    h = hashes.SHA384() if alg.endswith("384") else hashes.SHA256()
    if alg.startswith("ECDSA"):
        pub.verify(sig, msg, ec.ECDSA(h))
    elif "PSS" in alg:
        pub.verify(sig, msg, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
    else:
        pub.verify(sig, msg, padding.PKCS1v15(), h)
    with pytest.raises(ClientError) as e:
        kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"x")
    assert client_error(e.value)[0] == "InvalidKeyUsageException"


def test_rsa_encrypt_decrypt(server):
    kms = admin_kms(server)
    key = kms.create_key(KeySpec="RSA_3072", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    ct = kms.encrypt(KeyId=key, Plaintext=b"rsa secret", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    assert kms.decrypt(KeyId=key, CiphertextBlob=ct, EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"rsa secret"


# --------------------------------------------------------------------------- policies
def test_key_policy_rules(server):
    kms = admin_kms(server)
    acct = account_of(server)
    key = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"p")["CiphertextBlob"]
    # default key policy delegates to IAM: a user without an IAM allow is denied, with one allowed
    none_creds, none_arn = new_user(server, uniq("kmsnone"))
    with pytest.raises(ClientError) as e:
        server.boto3_client("kms", none_creds).decrypt(CiphertextBlob=blob)
    code, status, msg = client_error(e.value)
    assert code == "AccessDeniedException" and status == 400 and none_arn in msg and "kms:Decrypt" in msg
    iam_creds, iam_arn = new_user(server, uniq("kmsiam"), allow("kms:Decrypt"))
    assert server.boto3_client("kms", iam_creds).decrypt(CiphertextBlob=blob)["Plaintext"] == b"p"
    # a key policy naming only the admin: the IAM allow no longer suffices (KMS's rule)
    admin_arn = server.boto3_client("sts").get_caller_identity()["Arn"]
    only_admin = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "kms:*", "Resource": "*"}]}
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(only_admin))
    with pytest.raises(ClientError) as e:
        server.boto3_client("kms", iam_creds).decrypt(CiphertextBlob=blob)
    assert client_error(e.value)[0] == "AccessDeniedException"
    # naming the user directly allows it without any IAM policy
    direct = json.loads(json.dumps(only_admin))
    direct["Statement"].append({"Effect": "Allow", "Principal": {"AWS": none_arn},
                                "Action": "kms:Decrypt", "Resource": "*"})
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(direct))
    assert server.boto3_client("kms", none_creds).decrypt(CiphertextBlob=blob)["Plaintext"] == b"p"
    # lockout safety check
    lockout = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": none_arn}, "Action": "kms:Decrypt", "Resource": "*"}]}
    with pytest.raises(ClientError) as e:
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(lockout))
    assert client_error(e.value)[0] == "MalformedPolicyDocumentException"
    with pytest.raises(ClientError) as e:
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy="{not json")
    assert client_error(e.value)[0] == "MalformedPolicyDocumentException"
    # encryption-context condition in the key policy
    cond = json.loads(json.dumps(only_admin))
    cond["Statement"].append({"Effect": "Allow", "Principal": {"AWS": none_arn}, "Action": "kms:Decrypt",
                              "Resource": "*",
                              "Condition": {"StringEquals": {"kms:EncryptionContext:project": "alpha"}}})
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(cond))
    alpha = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"a", EncryptionContext={"project": "alpha"})["CiphertextBlob"]
    beta = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"b", EncryptionContext={"project": "beta"})["CiphertextBlob"]
    user = server.boto3_client("kms", none_creds)
    assert user.decrypt(CiphertextBlob=alpha, EncryptionContext={"project": "alpha"})["Plaintext"] == b"a"
    with pytest.raises(ClientError) as e:
        user.decrypt(CiphertextBlob=beta, EncryptionContext={"project": "beta"})
    assert client_error(e.value)[0] == "AccessDeniedException"
    assert acct in key["Arn"]


def test_cross_account_needs_key_policy_and_iam(server):
    kms = admin_kms(server)
    rc, b, _, err = server.account_create(uniq("kmsB"))
    assert rc == 0, err
    b_creds = {"AccessKeyId": b["AccessKeyId"], "SecretAccessKey": b["SecretAccessKey"]}
    key = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"cross")["CiphertextBlob"]
    b_kms = server.boto3_client("kms", b_creds)
    with pytest.raises(ClientError) as e:
        b_kms.decrypt(CiphertextBlob=blob)
    assert client_error(e.value)[0] == "AccessDeniedException"
    pol = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    pol["Statement"].append({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b['AccountId']}:root"},
                             "Action": "kms:Decrypt", "Resource": "*"})
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(pol))
    # B's admin has AdministratorAccess in B: key policy + identity policy -> allowed
    assert b_kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"cross"
    # a key id (not ARN) from another account is not found in B
    with pytest.raises(ClientError) as e:
        b_kms.describe_key(KeyId=key["KeyId"])
    assert client_error(e.value)[0] == "NotFoundException"


def test_grants_add_and_retire(server):
    kms = admin_kms(server)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    creds, arn = new_user(server, uniq("kmsgrant"))
    user = server.boto3_client("kms", creds)
    blob = kms.encrypt(KeyId=key, Plaintext=b"g", EncryptionContext={"team": "a"})["CiphertextBlob"]
    with pytest.raises(ClientError):
        user.decrypt(CiphertextBlob=blob, EncryptionContext={"team": "a"})
    g = kms.create_grant(KeyId=key, GranteePrincipal=arn, Operations=["Decrypt"],
                         Constraints={"EncryptionContextSubset": {"team": "a"}}, RetiringPrincipal=arn)
    assert user.decrypt(CiphertextBlob=blob, EncryptionContext={"team": "a"})["Plaintext"] == b"g"
    with pytest.raises(ClientError) as e:  # the grant does not give Encrypt
        user.encrypt(KeyId=key, Plaintext=b"x")
    assert client_error(e.value)[0] == "AccessDeniedException"
    other = kms.encrypt(KeyId=key, Plaintext=b"o", EncryptionContext={"team": "b"})["CiphertextBlob"]
    with pytest.raises(ClientError):  # constraint
        user.decrypt(CiphertextBlob=other, EncryptionContext={"team": "b"})
    grants = kms.list_grants(KeyId=key)["Grants"]
    assert [x["GrantId"] for x in grants] == [g["GrantId"]] and grants[0]["Operations"] == ["Decrypt"]
    user.retire_grant(GrantToken=g["GrantToken"])
    assert kms.list_grants(KeyId=key)["Grants"] == []
    with pytest.raises(ClientError):
        user.decrypt(CiphertextBlob=blob, EncryptionContext={"team": "a"})
    g2 = kms.create_grant(KeyId=key, GranteePrincipal=arn, Operations=["Decrypt"])
    kms.revoke_grant(KeyId=key, GrantId=g2["GrantId"])
    with pytest.raises(ClientError):
        user.decrypt(CiphertextBlob=blob, EncryptionContext={"team": "a"})


def test_aliases(server):
    kms = admin_kms(server)
    k1 = kms.create_key()["KeyMetadata"]["KeyId"]
    k2 = kms.create_key()["KeyMetadata"]["KeyId"]
    name = "alias/" + uniq("a")
    kms.create_alias(AliasName=name, TargetKeyId=k1)
    with pytest.raises(ClientError) as e:
        kms.create_alias(AliasName=name, TargetKeyId=k2)
    assert client_error(e.value)[0] == "AlreadyExistsException"
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == k1
    kms.update_alias(AliasName=name, TargetKeyId=k2)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == k2
    arn = f"arn:aws:kms:{REGION}:{account_of(server)}:{name}"
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyId"] == k2
    with pytest.raises(ClientError) as e:
        kms.create_alias(AliasName="alias/aws/mine", TargetKeyId=k1)
    assert client_error(e.value)[0] == "NotAuthorizedException"
    kms.delete_alias(AliasName=name)
    with pytest.raises(ClientError) as e:
        kms.describe_key(KeyId=name)
    assert client_error(e.value)[0] == "NotFoundException"


def test_unknown_operation_and_bad_json(server):
    c = server.admin_creds()
    for target, body in (("TrentService.Nope", b"{}"), ("TrentService.Encrypt", b"[1,2]"),
                         ("TrentService.Encrypt", b"{\"KeyId\": 5, \"Plaintext\": \"AA==\"}")):
        status, doc = raw_kms(server, c, target, body)
        assert status == 400 and doc["__type"] in ("UnknownOperationException", "SerializationException"), doc


def raw_kms(server, creds, target, body):
    """A SigV4-signed JSON 1.1 call (for members older botocore lacks, e.g. Recipient)."""
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    req = botocore.awsrequest.AWSRequest(method="POST", url=server.endpoint + "/", data=body,
                                         headers={"Content-Type": "application/x-amz-json-1.1",
                                                  "X-Amz-Target": target})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(
        creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken")), "kms", REGION).add_auth(req)
    r = urllib.request.Request(req.url, data=body, headers=dict(req.headers), method="POST")
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


# --------------------------------------------------------------------------- Recipient
PCR0 = "ab" * 48
OTHER = "cd" * 48


def mint(data_dir, out, pubkey_pem, pcr0=PCR0, timestamp_ms=None):
    args = [str(BIN), "attest", "sign", "--data", str(data_dir), "--out", str(out),
            "--pcr", f"0={pcr0}", "--public-key", str(pubkey_pem), "--module-id", "test-enclave"]
    if timestamp_ms is not None:
        args += ["--timestamp-ms", str(timestamp_ms)]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return base64.b64encode(out.read_bytes()).decode()


def test_decrypt_for_attested_recipient(server, tmp_path):
    import time
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(tmp_path / "enclave.pem")], check=True, capture_output=True)
    kms = admin_kms(server)
    admin_arn = server.boto3_client("sts").get_caller_identity()["Arn"]
    creds, user_arn = new_user(server, uniq("enclave"))
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    pol = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEqualsIgnoreCase": {"kms:RecipientAttestation:ImageSha384": PCR0}}}]}
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(pol))
    secret = b"validator keystore password " + os.urandom(8)
    blob = kms.encrypt(KeyId=key, Plaintext=secret)["CiphertextBlob"]
    b64 = base64.b64encode(blob).decode()

    def decrypt(doc=None):
        body = {"CiphertextBlob": b64}
        if doc:
            body["Recipient"] = {"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256", "AttestationDocument": doc}
        return raw_kms(server, creds, "TrentService.Decrypt", json.dumps(body).encode())

    good = mint(server.data_dir, tmp_path / "good.doc", tmp_path / "enclave.pem")
    status, out = decrypt(good)
    assert status == 200, out
    assert "Plaintext" not in out and "CiphertextForRecipient" in out
    (tmp_path / "env.der").write_bytes(base64.b64decode(out["CiphertextForRecipient"]))
    p = subprocess.run(["openssl", "cms", "-decrypt", "-inform", "DER", "-in", str(tmp_path / "env.der"),
                        "-inkey", str(tmp_path / "enclave.pem")], capture_output=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout == secret
    # another image, no Recipient, an expired document, a forged document: AccessDeniedException
    other = mint(server.data_dir, tmp_path / "other.doc", tmp_path / "enclave.pem", pcr0=OTHER)
    old = mint(server.data_dir, tmp_path / "old.doc", tmp_path / "enclave.pem",
               timestamp_ms=int((time.time() - 3600) * 1000))
    forge_dir = tmp_path / "forger"
    forged = mint(forge_dir, tmp_path / "forged.doc", tmp_path / "enclave.pem")
    raw = bytearray(base64.b64decode(good))
    raw[-5] ^= 0x55  # flip a signature byte
    flipped = base64.b64encode(bytes(raw)).decode()
    for name, doc in (("other image", other), ("no recipient", None), ("expired", old),
                      ("forged", forged), ("bit flip", flipped)):
        status, out = decrypt(doc)
        assert status == 400 and out["__type"] == "AccessDeniedException", (name, out)
        assert "Plaintext" not in out

    def cms_open(b64, name):
        (tmp_path / name).write_bytes(base64.b64decode(b64))
        p = subprocess.run(["openssl", "cms", "-decrypt", "-inform", "DER", "-in", str(tmp_path / name),
                            "-inkey", str(tmp_path / "enclave.pem")], capture_output=True)
        assert p.returncode == 0, p.stderr
        return p.stdout

    # GenerateDataKey and GenerateRandom for a Recipient (the admin's key policy allows them)
    admin = server.admin_creds()
    recipient = {"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256", "AttestationDocument": good}
    status, out = raw_kms(server, admin, "TrentService.GenerateDataKey", json.dumps(
        {"KeyId": key, "KeySpec": "AES_256", "Recipient": recipient}).encode())
    assert status == 200 and "Plaintext" not in out, out
    data_key = cms_open(out["CiphertextForRecipient"], "dk.der")
    assert len(data_key) == 32
    assert kms.decrypt(CiphertextBlob=base64.b64decode(out["CiphertextBlob"]))["Plaintext"] == data_key
    status, out = raw_kms(server, admin, "TrentService.GenerateRandom", json.dumps(
        {"NumberOfBytes": 48, "Recipient": recipient}).encode())
    assert status == 200 and "Plaintext" not in out, out
    assert len(cms_open(out["CiphertextForRecipient"], "rnd.der")) == 48


def test_passphrase_root_key(make_server, tmp_path):
    pw = tmp_path / "pass"
    pw.write_text("correct horse battery staple\n")
    srv = make_server("kmspass", extra_args=["--root-key-passphrase-file", str(pw)])
    keys = srv.data_dir / "keys"
    assert (keys / "kms-root.json").exists() and not (keys / "kms-root.key").exists()
    assert oct((keys / "kms-root.json").stat().st_mode & 0o777) == "0o600"
    kms = srv.boto3_client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"under passphrase")["CiphertextBlob"]
    srv.restart()
    assert srv.boto3_client("kms").decrypt(CiphertextBlob=blob)["Plaintext"] == b"under passphrase"
    assert srv.stop() == 0
    pw.write_text("wrong\n")
    p = subprocess.run([str(BIN), "serve", "--data", str(srv.data_dir), "--listen", "127.0.0.1:0",
                        "--root-key-passphrase-file", str(pw)], capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "passphrase" in p.stderr.lower(), p.stderr
    p = subprocess.run([str(BIN), "serve", "--data", str(srv.data_dir), "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "passphrase" in p.stderr.lower(), p.stderr


def test_root_key_file_mode(server):
    f = server.data_dir / "keys" / "kms-root.key"
    assert f.exists() and oct(f.stat().st_mode & 0o777) == "0o600"
    assert oct((server.data_dir / "keys").stat().st_mode & 0o777) == "0o700"


def test_iam_secrets_sealed_at_rest(make_server):
    """Secret access keys and session secrets are stored sealed under a key
    derived from the KMS root key: none is in the meta store's files, and they
    still verify signatures after a restart."""
    srv = make_server("sealed")
    admin = srv.admin_creds()
    iam = srv.boto3_client("iam")
    iam.create_user(UserName="sealed-user")
    k = iam.create_access_key(UserName="sealed-user")["AccessKey"]
    sess = srv.boto3_client("sts").get_session_token()["Credentials"]
    secrets = [admin["SecretAccessKey"], k["SecretAccessKey"], sess["SecretAccessKey"]]
    for name in ("meta.db", "meta.db-wal"):
        p = srv.data_dir / name
        if p.exists():
            raw = p.read_bytes()
            for secret in secrets:
                assert secret.encode() not in raw, f"a secret is stored in the clear in {name}"
    if PG_MODE:  # the database's items, as PostgreSQL returns them
        raw = repr(meta_query(srv.data_dir, "SELECT kind, scope, name, doc FROM items")).encode()
        for secret in secrets:
            assert secret.encode() not in raw, "a secret is stored in the clear in PostgreSQL"
    srv.restart()
    assert srv.boto3_client("sts").get_caller_identity()["Arn"].endswith(":user/admin")
    user = {"AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]}
    assert srv.boto3_client("sts", user).get_caller_identity()["Arn"].endswith(":user/sealed-user")
    temp = {k2: sess[k2] for k2 in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
    assert srv.boto3_client("sts", temp).get_caller_identity()["Account"]
