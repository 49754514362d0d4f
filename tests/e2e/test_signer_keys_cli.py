"""`cloister signer keys generate|list` checked against independent code: the
keystores are decrypted here with Python's hashlib (scrypt, pbkdf2) and
cryptography's AES-128-CTR (EIP-2335, NFKD passwords), the secret keys are
re-derived with an EIP-2333 written here from the EIP's text (checked against
the EIP's own vectors first), and the public keys come from @noble/curves.
No server is needed; keystores use --kdf-cost 12 to stay fast."""
import hashlib
import hmac
import json
import os
import stat
import subprocess
import unicodedata
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from conftest import BIN, REPO

VECTORS = Path(os.environ.get("CLOISTER_VECTORS") or REPO.parent / "shared" / "vectors")
JS = REPO / "tests" / "e2e" / "js"
R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001


# ---- EIP-2333, from the EIP's text ----
def _hkdf(salt, ikm, info, n):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


def _hkdf_mod_r(ikm, key_info=b""):
    salt, sk = b"BLS-SIG-KEYGEN-SALT-", 0
    while sk == 0:
        salt = hashlib.sha256(salt).digest()
        okm = _hkdf(salt, ikm + b"\x00", key_info + (48).to_bytes(2, "big"), 48)
        sk = int.from_bytes(okm, "big") % R
    return sk


def _lamport_pk(parent, index):
    salt = index.to_bytes(4, "big")
    chunks = []
    for ikm in (parent.to_bytes(32, "big"), (parent ^ (2**256 - 1)).to_bytes(32, "big")):
        okm = _hkdf(salt, ikm, b"", 32 * 255)
        chunks += [hashlib.sha256(okm[i * 32:(i + 1) * 32]).digest() for i in range(255)]
    return hashlib.sha256(b"".join(chunks)).digest()


def derive_path(seed, path):
    sk = _hkdf_mod_r(seed)
    for part in path.split("/")[1:]:
        sk = _hkdf_mod_r(_lamport_pk(sk, int(part)))
    return sk


def test_own_eip2333_matches_the_eip():
    cases = json.loads((VECTORS / "eip2333-derivation.json").read_text())["cases"][:2]
    for c in cases:
        seed = bytes.fromhex(c["seed"])
        assert derive_path(seed, "m") == int(c["master_SK"])
        assert derive_path(seed, "m/%d" % c["child_index"]) == int(c["child_SK"])


# ---- EIP-2335, from the EIP's text ----
def decrypt_keystore(ks, password):
    pw = "".join(ch for ch in unicodedata.normalize("NFKD", password)
                 if not (ord(ch) <= 0x1F or 0x7F <= ord(ch) <= 0x9F)).encode()
    kdf = ks["crypto"]["kdf"]
    p = kdf["params"]
    salt = bytes.fromhex(p["salt"])
    if kdf["function"] == "scrypt":
        dk = hashlib.scrypt(pw, salt=salt, n=p["n"], r=p["r"], p=p["p"], dklen=p["dklen"],
                            maxmem=2**28)
    else:
        assert p["prf"] == "hmac-sha256"
        dk = hashlib.pbkdf2_hmac("sha256", pw, salt, p["c"], p["dklen"])
    cipher = bytes.fromhex(ks["crypto"]["cipher"]["message"])
    assert hashlib.sha256(dk[16:32] + cipher).hexdigest() == ks["crypto"]["checksum"]["message"]
    iv = bytes.fromhex(ks["crypto"]["cipher"]["params"]["iv"])
    d = Cipher(algorithms.AES(dk[:16]), modes.CTR(iv)).decryptor()
    return d.update(cipher) + d.finalize()


def noble_pubkeys(sks):
    out = subprocess.run(["node", "signer_pubkeys.mjs"] + [sk.hex() for sk in sks], cwd=JS,
                         capture_output=True, text=True, timeout=60, check=True)
    return ["0x" + line for line in out.stdout.split()]


def run(*args, check=True):
    p = subprocess.run([str(BIN), "signer", "keys", *args], capture_output=True, text=True,
                       timeout=120)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_generate_then_check_independently(tmp_path):
    ks, pw = tmp_path / "ks", tmp_path / "pw"
    p = run("generate", "--count", "3", "--keystores-path", str(ks), "--keystores-passwords-path",
            str(pw), "--kdf-cost", "12")
    pks = json.loads(p.stdout)
    assert len(pks) == 3 and len(set(pks)) == 3
    assert "seed.hex" in p.stderr and "only backup" in p.stderr
    seed_file = ks / "seed.hex"
    assert stat.S_IMODE(seed_file.stat().st_mode) == 0o600
    seed = bytes.fromhex(seed_file.read_text().strip())
    assert len(seed) == 32
    # more keys from the same seed, pbkdf2, at another index
    p = run("generate", "--count", "2", "--start-index", "3", "--seed-file", str(seed_file),
            "--keystores-path", str(ks), "--keystores-passwords-path", str(pw), "--kdf", "pbkdf2",
            "--kdf-cost", "12")
    pks += json.loads(p.stdout)
    files = sorted(ks.glob("keystore-m_12381_3600_*_0_0-*.json"))
    assert len(files) == 5
    sks, want = [], []
    for f in files:
        ksj = json.loads(f.read_text())
        assert ksj["version"] == 4
        i = int(f.name.split("_")[3])
        assert ksj["path"] == "m/12381/3600/%d/0/0" % i
        assert ksj["crypto"]["kdf"]["function"] == ("scrypt" if i < 3 else "pbkdf2")
        pwf = pw / (f.name[:-5] + ".txt")
        assert stat.S_IMODE(pwf.stat().st_mode) == 0o600
        sk = decrypt_keystore(ksj, pwf.read_text())
        assert int.from_bytes(sk, "big") == derive_path(seed, ksj["path"])
        sks.append(sk)
        want.append("0x" + ksj["pubkey"])
    assert noble_pubkeys(sks) == want
    assert sorted(want) == sorted(pks)
    # list loads them back (pk order)
    p = run("list", "--keystores-path", str(ks), "--keystores-passwords-path", str(pw))
    assert json.loads(p.stdout) == sorted(pks)
    # the seed is never overwritten
    p = run("generate", "--count", "1", "--keystores-path", str(ks), "--keystores-passwords-path",
            str(pw), "--kdf-cost", "12", check=False)
    assert p.returncode != 0 and "seed.hex" in p.stderr
    assert bytes.fromhex(seed_file.read_text().strip()) == seed
    # a wrong password: list says so (by file name, never the password) and fails
    victim = sorted(pw.glob("*.txt"))[0]
    secret = victim.read_text()
    victim.write_text("wrong password\n")
    p = run("list", "--keystores-path", str(ks), "--keystores-passwords-path", str(pw),
            check=False)
    assert p.returncode == 1
    assert victim.name[:-4] + ".json" in p.stderr
    assert "wrong password" in p.stderr and "wrong password\n" not in p.stderr
    assert secret not in p.stderr + p.stdout
    assert len(json.loads(p.stdout)) == 4


@pytest.mark.parametrize("args", [
    [],
    ["generate"],
    ["generate", "--count", "0", "--keystores-path", "x", "--keystores-passwords-path", "y"],
    ["generate", "--count", "2", "--keystores-path", "x", "--keystores-passwords-path", "y",
     "--kdf", "argon2"],
    ["generate", "--count", "2", "--keystores-path", "x", "--keystores-passwords-path", "y",
     "--kdf-cost", "30"],
    ["generate", "--count", "1", "--keystores-path", "x", "--keystores-passwords-path", "y",
     "--start-index", "-1"],
    ["list", "--keystores-path", "x"],
    ["frob", "--keystores-path", "x", "--keystores-passwords-path", "y"],
])
def test_bad_usage(args, tmp_path):
    p = subprocess.run([str(BIN), "signer", "keys", *args], capture_output=True, text=True,
                       timeout=30, cwd=tmp_path)
    assert p.returncode == 2
    assert "usage" in p.stderr
    assert not (tmp_path / "x").exists()


def test_bad_seed_file(tmp_path):
    bad = tmp_path / "seed.hex"
    bad.write_text("abcd\n")
    p = run("generate", "--count", "1", "--seed-file", str(bad), "--keystores-path",
            str(tmp_path / "ks"), "--keystores-passwords-path", str(tmp_path / "pw"), check=False)
    assert p.returncode == 1 and "not a seed" in p.stderr
    assert not list((tmp_path / "ks").glob("*.json"))
