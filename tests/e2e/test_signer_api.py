"""The remote signer's HTTP API (docs/signer.md) end to end: a real
`cloister signer serve` on a free port with EIP-2335 keystores made here (known
secret keys), driven with raw HTTP as validator clients drive Web3Signer.

Signatures are checked against @noble/curves (tests/e2e/js/signer_sign.mjs)
over signing roots computed independently (tests/e2e/js/signer_roots.mjs when
present, else the published roots of Web3Signer's OpenAPI examples)."""
import hashlib
import json
import os
import secrets
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from conftest import BIN, REPO, free_port, meta_args

VECTORS = Path(os.environ.get("CLOISTER_VECTORS", REPO.parent / "shared" / "vectors"))
JS = REPO / "tests" / "e2e" / "js"
BLS_R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFFFFFFFF00000001
GVR = "0x04700007fabc8282644aed6d1c7c9e21d38a03a0c4ba193f3afe428824b3a673"
FORK = {"previous_version": "0x00000001", "current_version": "0x00000001", "epoch": "1"}
FORK_INFO = {"fork": FORK, "genesis_validators_root": GVR}
JSON_H = {"Accept": "application/json", "Content-Type": "application/json"}


# --------------------------------------------------------------------------- helpers
def js(script, payload):
    out = subprocess.run(["node", str(JS / script)], input=json.dumps(payload), text=True,
                         capture_output=True, cwd=JS, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def noble(items):
    """[(sk hex, root hex, sig hex or None)] -> [{pk, sig, verifies}] by @noble/curves."""
    return js("signer_sign.mjs", [{"sk": sk, "root": root, "sig": sig} for sk, root, sig in items])


def new_sk():
    return "0x%064x" % (secrets.randbelow(BLS_R - 1) + 1)


def keystore(sk, pk, password, kdf="pbkdf2", cost=None):
    """An EIP-2335 keystore (version 4) of sk, written here independently of Cloister."""
    pw = password.encode()
    salt = os.urandom(32)
    if kdf == "pbkdf2":
        c = cost or 16
        dk = hashlib.pbkdf2_hmac("sha256", pw, salt, c, 32)
        params = {"dklen": 32, "c": c, "prf": "hmac-sha256", "salt": salt.hex()}
    else:
        n = cost or 2 ** 14
        dk = hashlib.scrypt(pw, salt=salt, n=n, r=8, p=1, dklen=32, maxmem=256 * 1024 * 1024)
        params = {"dklen": 32, "n": n, "r": 8, "p": 1, "salt": salt.hex()}
    iv = os.urandom(16)
    enc = Cipher(algorithms.AES(dk[:16]), modes.CTR(iv)).encryptor()
    ct = enc.update(bytes.fromhex(sk[2:])) + enc.finalize()
    return {
        "crypto": {
            "kdf": {"function": kdf, "params": params, "message": ""},
            "checksum": {"function": "sha256", "params": {},
                         "message": hashlib.sha256(dk[16:32] + ct).hexdigest()},
            "cipher": {"function": "aes-128-ctr", "params": {"iv": iv.hex()}, "message": ct.hex()},
        },
        "description": "cloister e2e", "pubkey": pk[2:], "path": "", "uuid": str(os.urandom(16).hex()),
        "version": 4,
    }


def make_keys(n):
    sks = [new_sk() for _ in range(n)]
    pks = [r["pk"] for r in noble([(sk, "0x" + "00" * 32, None) for sk in sks])]
    return list(zip(sks, pks))


def write_keystore(kdir, pdir, sk, pk, name=None, **kw):
    name = name or pk[2:18]
    pw = "pw-" + secrets.token_hex(8)
    (kdir / f"{name}.json").write_text(json.dumps(keystore(sk, pk, pw, **kw)))
    (pdir / f"{name}.txt").write_text(pw + "\n")
    return name


class Signer:
    """One `cloister signer serve` over one data dir (restartable)."""

    def __init__(self, base, keys=(), extra=()):
        self.base = Path(base)
        self.data = self.base / "data"
        self.kdir, self.pdir = self.base / "keystores", self.base / "passwords"
        self.kdir.mkdir(parents=True, exist_ok=True)
        self.pdir.mkdir(parents=True, exist_ok=True)
        for sk, pk in keys:
            write_keystore(self.kdir, self.pdir, sk, pk)
        self.extra = list(extra)
        self.proc, self.starts, self.scheme = None, 0, "http"
        self.verify = True

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def args(self):
        return [str(BIN), "signer", "serve", "--listen", f"127.0.0.1:{self.port}", "--data",
                str(self.data), "--keystores-path", str(self.kdir), "--keystores-passwords-path",
                str(self.pdir), *([] if "--meta" in self.extra else meta_args(self.data)),
                *self.extra]

    def start(self, wait_healthy=True, timeout=60):
        self.port = free_port()
        self.starts += 1
        self.err_path = self.base / f"signer-{self.starts}.stderr"
        self.proc = subprocess.Popen(self.args(), stdout=subprocess.DEVNULL,
                                     stderr=open(self.err_path, "wb"), stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"signer exited: {self.stderr()}"
            try:
                if self.get("/upcheck", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.05)
        else:
            pytest.fail(f"signer did not listen: {self.stderr()}")
        if wait_healthy:
            self.wait_healthy(deadline - time.monotonic())
        return self

    def wait_healthy(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.get("/healthcheck").status_code == 200:
                return
            time.sleep(0.05)
        pytest.fail(f"signer not healthy: {self.stderr()}")

    def stop(self):
        if not self.proc:
            return None
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        self.proc = None
        return rc

    def restart(self, **kw):
        assert self.stop() == 0, self.stderr()
        return self.start(**kw)

    def stderr(self):
        try:
            return self.err_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def get(self, path, **kw):
        kw.setdefault("timeout", 10)
        return requests.get(self.url + path, verify=self.verify, **kw)

    def post(self, path, body=None, headers=None, data=None, **kw):
        kw.setdefault("timeout", 30)
        if data is None and body is not None:
            data = json.dumps(body)
        return requests.post(self.url + path, data=data, headers=headers or JSON_H,
                             verify=self.verify, **kw)

    def sign(self, pk, body, headers=None):
        return self.post(f"/api/v1/eth2/sign/{pk}", body, headers)

    def token(self):
        return (self.data / "api-token.txt").read_text().strip()

    def km(self, method, body=None, token=True):
        h = {"Content-Type": "application/json"}
        if token is True:
            h["Authorization"] = "Bearer " + self.token()
        elif token:
            h["Authorization"] = token
        return requests.request(method, self.url + "/eth/v1/keystores", headers=h, timeout=60,
                                data=json.dumps(body) if body is not None else None,
                                verify=self.verify)


def att(source, target, root_byte="11", slot=None):
    return {"type": "ATTESTATION", "fork_info": FORK_INFO,
            "attestation": {"slot": str(slot if slot is not None else target * 32), "index": "0",
                            "beacon_block_root": "0x" + root_byte * 32,
                            "source": {"epoch": str(source), "root": "0x" + "00" * 32},
                            "target": {"epoch": str(target), "root": "0x" + root_byte * 32}}}


def block(slot, body_byte="22"):
    return {"type": "BLOCK_V2", "fork_info": FORK_INFO,
            "beacon_block": {"version": "DENEB", "block_header": {
                "slot": str(slot), "proposer_index": "5", "parent_root": "0x" + "33" * 32,
                "state_root": "0x" + "44" * 32, "body_root": "0x" + body_byte * 32}}}


def randao(epoch):
    return {"type": "RANDAO_REVEAL", "fork_info": FORK_INFO, "randao_reveal": {"epoch": str(epoch)}}


# --------------------------------------------------------------------------- fixtures
N_KEYS = 12


@pytest.fixture(scope="module")
def keys():
    return make_keys(N_KEYS)


@pytest.fixture(scope="module")
def signer(tmp_path_factory, keys):
    s = Signer(tmp_path_factory.mktemp("signer"), keys)
    s.start()
    yield s
    rc = s.stop()
    assert rc == 0, s.stderr()


# --------------------------------------------------------------------------- tests
def test_upcheck_health_public_keys(signer, keys):
    r = signer.get("/upcheck")
    assert (r.status_code, r.text) == (200, "OK")
    assert r.headers["Content-Type"].startswith("text/plain")
    h = signer.get("/healthcheck")
    assert h.status_code == 200
    doc = h.json()
    assert doc["status"] == "UP" and doc["outcome"] == "UP"
    kc = next(c for c in doc["checks"] if c["id"] == "keys-check")
    assert kc["status"] == "UP"
    data = kc["checks"][0]["data"]
    assert data["keys-check-total-count"] >= N_KEYS and data["keys-check-error-count"] == 0
    pks = signer.get("/api/v1/eth2/publicKeys").json()
    assert set(pks) >= {pk for _, pk in keys} and len(pks) == data["keys-check-active-count"]
    assert "development mode" in signer.stderr().lower()


def js_roots(requests_):
    """Signing roots computed by tests/e2e/js/signer_roots.mjs (@lodestar/types)."""
    roots = js("signer_roots.mjs", [{"network": "mainnet", "request": r} for r in requests_])
    assert all(isinstance(r, str) for r in roots), roots
    return roots


def test_every_type_and_fork_matches_noble(signer):
    """Every sign type for every fork it applies to (the roots helper's generated
    requests), each signed by its own key through HTTP: the signature equals
    @noble/curves' over the root @lodestar/types computes, and verifies."""
    from test_signer_roots import requests_for
    items = requests_for(1)
    reqs = []
    for _, req in items:
        req = json.loads(json.dumps(req))
        if "fork_info" in req:  # one network per slashing database: its root is pinned
            req["fork_info"]["genesis_validators_root"] = GVR
        if req["type"] == "ATTESTATION":
            req["attestation"]["source"]["epoch"], req["attestation"]["target"]["epoch"] = "1", "2"
        reqs.append(req)
    assert len({r["type"] for r in reqs}) == 14
    roots = js_roots(reqs)
    extra = make_keys(len(reqs))
    for sk, pk in extra:
        write_keystore(signer.kdir, signer.pdir, sk, pk)
    assert signer.post("/reload").status_code == 202
    deadline = time.monotonic() + 60
    while set(pk for _, pk in extra) - set(signer.get("/api/v1/eth2/publicKeys").json()):
        assert time.monotonic() < deadline, signer.stderr()
        time.sleep(0.1)
    got = []
    for (sk, pk), req, (name, _) in zip(extra, reqs, items):
        r = signer.sign(pk, req)
        assert r.status_code == 200, (name, r.text)
        got.append(r.json()["signature"])
    want = noble([(sk, root, sig) for (sk, _), root, sig in zip(extra, roots, got)])
    for (name, _), g, w in zip(items, got, want):
        assert g == w["sig"] and w["verifies"], name
    # a request carrying its (correct) signingRoot is signed the same
    r = signer.sign(extra[9][1], {**reqs[9], "signingRoot": roots[9]})
    assert r.status_code == 200 and r.json()["signature"] == got[9]


def test_web3signer_example_signature():
    """The key of Web3Signer's OpenAPI examples over its (checked) RANDAO_REVEAL root
    gives the published signature: signer_sign.mjs itself is right."""
    v = json.loads((VECTORS / "web3signer-sign-examples.json").read_text())
    rr = next(e for e in v["examples"] if e["name"] == "RANDAO_REVEAL")
    assert noble([(v["identifier_secret_key"], rr["request"]["signingRoot"], None)])[0]["sig"] == \
        rr["expected_signature"]


def test_accept_json_text_and_any(signer, keys):
    pk = keys[0][1]
    j = signer.sign(pk, randao(1), {"Accept": "application/json"})
    assert j.status_code == 200 and j.headers["Content-Type"].startswith("application/json")
    sig = j.json()["signature"]
    t = signer.sign(pk, randao(1), {"Accept": "text/plain"})
    assert t.status_code == 200 and t.headers["Content-Type"].startswith("text/plain")
    assert t.text == sig
    a = signer.sign(pk, randao(1), {"Accept": "*/*"})
    assert a.json()["signature"] == sig
    q = signer.sign(pk, randao(1), {"Accept": "text/html;q=0.9, application/json;q=0.8"})
    assert q.json()["signature"] == sig
    n = signer.sign(pk, randao(1), {"Content-Type": "application/json", "Accept": None})
    assert n.status_code == 200 and n.text == sig


def test_errors_and_the_server_keeps_serving(signer, keys):
    pk = keys[1][1]
    good = randao(2)
    cases = [
        (signer.sign("0x" + "ab" * 48, good), 404),
        (signer.sign("0x1234", good), 404),
        (signer.post(f"/api/v1/eth2/sign/{pk}", data="{not json"), 400),
        (signer.sign(pk, {"type": "NOT_A_TYPE", "fork_info": FORK_INFO}), 400),
        (signer.sign(pk, {"type": "RANDAO_REVEAL", "randao_reveal": {"epoch": "2"}}), 400),
        (signer.sign(pk, {**good, "fork_info": {**FORK_INFO, "genesis_validators_root": "0x1234"}}),
         400),
        (signer.sign(pk, {**good, "signingRoot": "0x" + "00" * 32}), 400),
        (signer.post(f"/api/v1/eth2/sign/{pk}", data=b"{" + b" " * (3 << 20) + b"}"), 413),
        (signer.post(f"/api/v1/eth2/sign/{pk}", data=b"[]"), 400),
        (signer.post(f"/api/v1/eth2/sign/{pk}", data=b""), 400),
    ]
    for i, (r, want) in enumerate(cases):
        assert r.status_code == want, (i, r.status_code, r.text)
        if want == 400:
            assert r.json()["message"], i
        assert signer.get("/upcheck").status_code == 200
    assert signer.sign(pk, good).status_code == 200


def test_slashing_through_http(signer, keys):
    pk = keys[2][1]
    assert signer.sign(pk, att(1, 2)).status_code == 200
    assert signer.sign(pk, att(1, 2)).status_code == 200  # identical re-sign
    assert signer.sign(pk, att(1, 2, root_byte="99")).status_code == 412  # double vote
    assert signer.sign(pk, att(0, 3)).status_code == 412  # surrounds (1, 2)
    assert signer.sign(pk, att(5, 10)).status_code == 200
    assert signer.sign(pk, att(6, 9)).status_code == 412  # surrounded by (5, 10)
    assert signer.sign(pk, att(4, 3)).status_code == 412  # source > target
    assert signer.sign(pk, block(100)).status_code == 200
    assert signer.sign(pk, block(100)).status_code == 200
    assert signer.sign(pk, block(100, body_byte="77")).status_code == 412  # double proposal
    other = {**FORK_INFO, "genesis_validators_root": "0x" + "ee" * 32}
    assert signer.sign(pk, {**att(20, 21), "fork_info": other}).status_code == 412
    # Web3Signer's global high watermark: none set, then set by the operator's CLI
    hw = signer.get("/api/v1/eth2/highWatermark")
    assert (hw.status_code, hw.json()) == (200, {})
    cli = [str(BIN), "signer", "slashing"]
    p = subprocess.run(cli + ["set-high-watermark", "--slot", "1000", "--epoch", "40", "--data",
                              str(signer.data), *meta_args(signer.data)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert signer.get("/api/v1/eth2/highWatermark").json() == {"slot": "1000", "epoch": "40"}
    assert signer.sign(pk, block(1000)).status_code == 412
    assert signer.sign(pk, att(40, 41)).status_code == 412
    p = subprocess.run(cli + ["remove-high-watermark", "--data", str(signer.data),
                              *meta_args(signer.data)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert signer.get("/api/v1/eth2/highWatermark").json() == {}
    assert signer.sign(pk, block(1000)).status_code == 200
    m = signer.get("/metrics").text
    assert 'cloister_signer_signings_total{type="ATTESTATION",outcome="slashing_refused"}' in m
    assert "cloister_signer_slashing_refusals_total" in m
    assert 'cloister_signer_keys{state="active"}' in m
    assert "cloister_signer_signing_duration_seconds_bucket" in m
    for sk, _ in keys:
        assert sk[2:] not in m


def test_64_parallel_conflicting_attestations(signer, keys):
    pk = keys[3][1]
    bodies = [att(7, 8, root_byte="%02x" % (i + 1)) for i in range(64)]
    barrier = threading.Barrier(64)

    def one(b):
        barrier.wait()
        return signer.sign(pk, b).status_code

    with ThreadPoolExecutor(64) as ex:
        codes = list(ex.map(one, bodies))
    assert codes.count(200) == 1 and codes.count(412) == 63, codes


def test_keymanager_token_list_import_delete(signer, keys, tmp_path):
    assert signer.km("GET", token=False).status_code == 401
    assert signer.km("GET", token="Basic abc").status_code == 401
    assert signer.km("GET", token="Bearer " + "0" * 64).status_code == 403
    assert signer.km("POST", {"keystores": [], "passwords": []}, token="Bearer x").status_code == 403
    assert signer.km("DELETE", {"pubkeys": []}, token=False).status_code == 401
    listed = signer.km("GET").json()["data"]
    assert {k["validating_pubkey"] for k in listed} >= {pk for _, pk in keys}
    assert oct((signer.data / "api-token.txt").stat().st_mode & 0o777) == "0o600"

    (sk, pk), = make_keys(1)
    pw = "import-" + secrets.token_hex(4)
    ks = json.dumps(keystore(sk, pk, pw))
    interchange = {"metadata": {"interchange_format_version": "5", "genesis_validators_root": GVR},
                   "data": [{"pubkey": pk, "signed_blocks": [{"slot": "500"}],
                             "signed_attestations": [{"source_epoch": "30", "target_epoch": "31"}]}]}
    r = signer.km("POST", {"keystores": [ks], "passwords": [pw],
                           "slashing_protection": json.dumps(interchange)})
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["status"] == "imported", r.text
    r = signer.km("POST", {"keystores": [ks], "passwords": [pw]})
    assert r.json()["data"][0]["status"] == "duplicate"
    r = signer.km("POST", {"keystores": [ks], "passwords": ["wrong"]})
    assert r.json()["data"][0]["status"] in ("duplicate", "error")
    assert signer.km("POST", {"keystores": [ks]}).status_code == 400
    assert pk in signer.get("/api/v1/eth2/publicKeys").json()
    assert signer.sign(pk, att(30, 31, root_byte="55")).status_code == 412  # imported history
    assert signer.sign(pk, att(31, 32)).status_code == 200
    assert signer.sign(pk, block(400)).status_code == 412  # below the imported low watermark
    assert any(p.name.endswith(".json") and pk[2:] in p.name for p in signer.kdir.iterdir())

    r = signer.km("DELETE", {"pubkeys": [pk, "0x" + "cd" * 48]})
    assert r.status_code == 200, r.text
    assert [d["status"] for d in r.json()["data"]] == ["deleted", "not_found"]
    exported = json.loads(r.json()["slashing_protection"])
    assert [d["pubkey"] for d in exported["data"]] == [pk]
    assert signer.sign(pk, randao(5)).status_code == 412
    assert pk not in signer.get("/api/v1/eth2/publicKeys").json()
    r = signer.km("DELETE", {"pubkeys": [pk]})
    assert r.json()["data"][0]["status"] == "not_active"

    signer.restart()
    assert signer.sign(pk, randao(5)).status_code == 412
    assert signer.sign(keys[0][1], randao(5)).status_code == 200
    # importing it again re-enables it
    r = signer.km("POST", {"keystores": [ks], "passwords": [pw]})
    assert r.json()["data"][0]["status"] == "imported", r.text
    assert signer.sign(pk, randao(5)).status_code == 200


def test_keymanager_bad_bodies(signer):
    for body in ["{", "[]", '{"keystores": "x", "passwords": []}',
                 '{"keystores": [1], "passwords": ["a"]}', '{"keystores": [], "passwords": ["a"]}']:
        r = requests.post(signer.url + "/eth/v1/keystores", data=body, timeout=10,
                          headers={"Authorization": "Bearer " + signer.token()})
        assert r.status_code == 400, (body, r.text)
    for body in ["{", '{"pubkeys": "x"}', '{"pubkeys": ["0x12"]}']:
        r = requests.delete(signer.url + "/eth/v1/keystores", data=body, timeout=10,
                            headers={"Authorization": "Bearer " + signer.token()})
        assert r.status_code == 400, (body, r.text)
    assert signer.get("/upcheck").status_code == 200


def test_reload_adds_and_drops(signer, keys):
    (sk, pk), = make_keys(1)
    name = write_keystore(signer.kdir, signer.pdir, sk, pk, name="reload-me")
    assert pk not in signer.get("/api/v1/eth2/publicKeys").json()
    assert signer.post("/reload").status_code == 202
    deadline = time.monotonic() + 30
    while pk not in signer.get("/api/v1/eth2/publicKeys").json():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    st = signer.get("/reload")
    assert st.status_code == 200 and st.json()["status"] in ("running", "completed")
    assert signer.sign(pk, randao(1)).status_code == 200
    (signer.kdir / f"{name}.json").unlink()
    signer.post("/reload")
    while pk in signer.get("/api/v1/eth2/publicKeys").json():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert signer.sign(pk, randao(1)).status_code in (404, 412)
    assert signer.sign(keys[0][1], randao(1)).status_code == 200


def test_healthcheck_down_until_keys_load_then_cache(tmp_path):
    keys = make_keys(6)
    s = Signer(tmp_path)
    for sk, pk in keys:
        write_keystore(s.kdir, s.pdir, sk, pk, kdf="scrypt", cost=2 ** 16)
    s.extra = ["--load-threads", "1"]
    s.start(wait_healthy=False)
    try:
        h = s.get("/healthcheck")
        assert h.status_code == 503 and h.json()["status"] == "DOWN", h.text
        assert s.get("/upcheck").status_code == 200
        s.wait_healthy()
        assert sorted(s.get("/api/v1/eth2/publicKeys").json()) == sorted(pk for _, pk in keys)
        t0 = time.monotonic()
        s.restart()  # the sealed cache: no scrypt again
        assert time.monotonic() - t0 < 20
        assert (s.data / "keystore-cache.bin").exists()
        assert oct((s.data / "node.key").stat().st_mode & 0o777) == "0o600"
        for sk, _ in keys:
            assert bytes.fromhex(sk[2:]) not in (s.data / "keystore-cache.bin").read_bytes()
    finally:
        assert s.stop() == 0, s.stderr()


def test_tls(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    keys = make_keys(1)
    s = Signer(tmp_path / "s", keys, ["--tls-cert", str(cert), "--tls-key", str(key)])
    s.scheme, s.verify = "https", str(cert)
    s.start()
    try:
        assert s.get("/upcheck").text == "OK"
        assert s.sign(keys[0][1], randao(1)).status_code == 200
        with pytest.raises(requests.RequestException):
            requests.get(f"http://127.0.0.1:{s.port}/upcheck", timeout=3)
    finally:
        assert s.stop() == 0, s.stderr()


def test_production_refuses_plain_keystores(tmp_path):
    s = Signer(tmp_path, make_keys(1), ["--production"])
    s.port = free_port()
    out = subprocess.run(s.args(), capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "production" in out.stderr and "keystores" in out.stderr


def test_keys_generate_then_serve(tmp_path):
    """The quick start: `cloister signer keys generate`, then `signer serve` over its
    keystores; the generated keys are served and sign (verified by @noble/curves)."""
    s = Signer(tmp_path)
    p = subprocess.run([str(BIN), "signer", "keys", "generate", "--count", "2", "--kdf", "pbkdf2",
                        "--kdf-cost", "10",
                        "--keystores-path", str(s.kdir), "--keystores-passwords-path", str(s.pdir)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    pks = json.loads(p.stdout)
    s.start()
    try:
        assert sorted(s.get("/api/v1/eth2/publicKeys").json()) == sorted(pks)
        r = s.sign(pks[0], randao(3))
        assert r.status_code == 200
        root = js_roots([randao(3)])[0]
        out = js("signer_verify.mjs", [{"pk": pks[0], "root": root, "sig": r.json()["signature"]}])
        assert out == [True]
    finally:
        assert s.stop() == 0, s.stderr()
