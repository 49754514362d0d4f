"""End-to-end fixtures: a real `cloister serve` on a free local port, the real aws
CLI (v2 always, v1 too when one is installed) and boto3 pointed at it.

Run:  /usr/bin/python3 -m pytest -q tests/e2e
The binary is $CLOISTER_BIN, else <repo>/build/cloister.

A server instance is a `CloisterServer`: it owns a data dir, a port and the
process, and can be stopped (SIGTERM, exit code 0 asserted) and started again on
the same data dir, optionally with CLOISTER_FAKE_NOW_OFFSET. The session-wide
`server` fixture is shared by every test that does not restart a server; tests
that restart or may crash the server make their own with `make_server`.

PostgreSQL mode: with CLOISTER_TEST_META=postgres the session starts one
throwaway PostgreSQL cluster (tests/pgtmp.py; destroyed at session end, also on
Ctrl-C or failure) and every server a fixture starts gets `--meta URL` of a
database of its own (one per data dir: a restart finds the same database).
Tests that start a binary on a data dir themselves take the same URL from
`meta_args(data_dir)`; `pg_cluster` gives a test the cluster itself.
"""
import atexit
import base64
import configparser
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("CLOISTER_BIN") or REPO / "build" / "cloister")
REGION = "us-east-1"

AWS_V2 = "/usr/bin/aws"

# --------------------------------------------------------------------------- PostgreSQL mode
PG_MODE = os.environ.get("CLOISTER_TEST_META") == "postgres"
sqlite_only = pytest.mark.skipif(PG_MODE, reason="reads the SQLite meta.db itself "
                                 "(CLOISTER_TEST_META=postgres)")
_pg = {"cluster": None, "dbs": {}, "lock": threading.Lock()}


def pg_session():
    """The session's throwaway PostgreSQL cluster (started on first use)."""
    with _pg["lock"]:
        if _pg["cluster"] is None:
            sys.path.insert(0, str(REPO / "tests"))
            from pgtmp import PgCluster
            c = PgCluster()
            atexit.register(c.destroy)  # also when the session dies on Ctrl-C or an error
            c._init()  # make_server's servers all live until the session ends: room for them
            with open(os.path.join(c.data, "postgresql.conf"), "a") as f:
                f.write("max_connections = 1000\n")
            if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:  # SIGTERM: atexit too
                signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
            _pg["cluster"] = c.start()
        return _pg["cluster"]


def meta_url(data_dir):
    """PostgreSQL mode: the URL of the database of this data dir (made on first
    use, the same one afterwards); None on SQLite (the data dir's meta.db)."""
    if not PG_MODE:
        return None
    c = pg_session()
    key = os.path.realpath(str(data_dir))
    with _pg["lock"]:
        if key not in _pg["dbs"]:
            _pg["dbs"][key] = c.create_db(f"cl{len(_pg['dbs']) + 1}")
        return _pg["dbs"][key]


def meta_args(data_dir):
    """["--meta", URL] in PostgreSQL mode, [] on SQLite."""
    url = meta_url(data_dir)
    return ["--meta", url] if url else []


def meta_query(data_dir, sql, params=()):
    """Rows (tuples of text) of a read-only SQL query on the server's meta store
    (the items table: kind, scope, name, doc): DATA/meta.db on SQLite, the data
    dir's database in PostgreSQL mode. `params` fill `?` placeholders (quoted
    here for psql: test values only)."""
    url = meta_url(data_dir)
    if url is None:
        import sqlite3
        db = sqlite3.connect(f"file:{os.path.join(data_dir, 'meta.db')}?mode=ro", uri=True,
                             timeout=10)
        try:
            return [tuple(r) for r in db.execute(sql, params).fetchall()]
        finally:
            db.close()
    for v in params:
        sql = sql.replace("?", "'" + str(v).replace("'", "''") + "'", 1)
    c = pg_session()
    r = c._run(["psql", "-X", "-q", "-t", "-A", "-F", "\x1f", "-R", "\x1e", "-v", "ON_ERROR_STOP=1",
                "-h", "127.0.0.1", "-p", str(c.port), "-U", "postgres", "-d", url.rsplit("/", 1)[1],
                "-c", sql])
    return [tuple(row.split("\x1f")) for row in r.stdout.rstrip("\n").split("\x1e") if row]


def pytest_sessionfinish(session, exitstatus):
    if _pg["cluster"] is not None:
        _pg["cluster"].destroy()
        _pg["cluster"] = None


# --------------------------------------------------------------------------- aws CLIs
def _cli_version(path):
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout + out.stderr).strip()
    return text if text.startswith("aws-cli/") else None


def _find_clis():
    """[(id, path)]: v2 always (/usr/bin/aws), v1 only when one is installed.
    $CLOISTER_AWS_V1 names a v1 explicitly; otherwise every `aws` on PATH is asked."""
    clis = [("awscli-v2", AWS_V2)]
    candidates = []
    if os.environ.get("CLOISTER_AWS_V1"):
        candidates.append(os.environ["CLOISTER_AWS_V1"])
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d, "aws")
        if os.path.isfile(p) and os.access(p, os.X_OK):
            candidates.append(p)
    seen = set()
    for p in candidates:
        real = os.path.realpath(p)
        if real in seen or real == os.path.realpath(AWS_V2):
            continue
        seen.add(real)
        v = _cli_version(p)
        if v and v.startswith("aws-cli/1."):
            clis.append(("awscli-v1", p))
            break
    return clis


AWS_CLIS = _find_clis()


def pytest_report_header(config):
    lines = [f"cloister binary: {BIN}",
             "meta store: " + ("PostgreSQL (CLOISTER_TEST_META=postgres)" if PG_MODE else "SQLite")]
    for ident, path in AWS_CLIS:
        lines.append(f"{ident}: {path} ({_cli_version(path)})")
    if len(AWS_CLIS) == 1:
        lines.append("aws CLI v1 not found: v1 cases are not generated")
    return lines


# --------------------------------------------------------------------------- helpers
def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_credentials(path, profile="cloister"):
    cp = configparser.ConfigParser()
    cp.read(path)
    sec = cp[profile]
    return {"AccessKeyId": sec["aws_access_key_id"], "SecretAccessKey": sec["aws_secret_access_key"]}


def http_get(url, timeout=5):
    """(status, headers, body bytes); never raises on HTTP errors."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class CloisterServer:
    """One `cloister serve` process over one data dir (restartable)."""

    def __init__(self, data_dir, log_dir):
        self.data_dir = Path(data_dir)
        self.log_dir = Path(log_dir)
        self.proc = None
        self.port = None
        self.starts = 0
        self.stdout_text = ""
        self.extra_args = []  # more `cloister serve` options, kept across restarts

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def credentials_path(self):
        return self.data_dir / "credentials"

    def admin_creds(self):
        """The bootstrap account's admin keys, from DIR/credentials."""
        return read_credentials(self.credentials_path)

    def start(self, fake_now_offset=None, timeout=30):
        assert self.proc is None, "server already running"
        if not BIN.exists():
            pytest.fail(f"cloister binary not found at {BIN} (build it, or set CLOISTER_BIN)")
        self.port = free_port()
        env = dict(os.environ)
        env.pop("CLOISTER_FAKE_NOW_OFFSET", None)
        if fake_now_offset is not None:
            env["CLOISTER_FAKE_NOW_OFFSET"] = str(int(fake_now_offset))
        self.starts += 1
        self._out_path = self.log_dir / f"serve-{self.starts}.stdout"
        self._err_path = self.log_dir / f"serve-{self.starts}.stderr"
        self._out = open(self._out_path, "wb")
        self._err = open(self._err_path, "wb")
        meta = [] if "--meta" in self.extra_args else meta_args(self.data_dir)
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--data", str(self.data_dir), "--listen", f"127.0.0.1:{self.port}",
             *meta, *self.extra_args],
            stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self._close_logs()
                self.proc = None
                pytest.fail(f"cloister serve exited early with {rc}; stderr:\n{self.stderr_tail()}")
            try:
                status, _, _ = http_get(self.endpoint + "/_cloister/health", timeout=1)
                if status == 200:
                    if not self.credentials_path.exists() or not self._housekept():
                        time.sleep(0.05)
                        continue
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.kill()
        pytest.fail(f"cloister serve did not become healthy in {timeout}s; stderr:\n{self.stderr_tail()}")

    def stop(self, timeout=20):
        """SIGTERM, wait, return the exit code (callers assert it is 0)."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "did not exit within %ss of SIGTERM" % timeout
        self._close_logs()
        self.proc = None
        return rc

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self._close_logs()
            self.proc = None

    def restart(self, fake_now_offset=None):
        rc = self.stop()
        assert rc == 0, f"cloister serve exit code on SIGTERM: {rc}; stderr:\n{self.stderr_tail()}"
        return self.start(fake_now_offset=fake_now_offset)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def healthy(self, timeout=5):
        try:
            return http_get(self.endpoint + "/_cloister/health", timeout=timeout)[0] == 200
        except OSError:
            return False

    def _close_logs(self):
        for f in (getattr(self, "_out", None), getattr(self, "_err", None)):
            if f and not f.closed:
                f.close()
        try:
            self.stdout_text = self._out_path.read_text(errors="replace")
        except (OSError, AttributeError):
            pass

    def _housekept(self):
        """Start-up housekeeping (GC, key deletion, session expiry) runs once
        the server listens; tests that age data and restart read its results."""
        try:
            return b"start-up housekeeping done" in self._err_path.read_bytes()
        except OSError:
            return False

    def stderr_tail(self, n=4000):
        try:
            return self._err_path.read_text(errors="replace")[-n:]
        except (OSError, AttributeError):
            return "(no stderr)"

    # ---- clients
    def boto3_client(self, service, creds=None, **config):
        return boto3_client(self.endpoint, service, creds or self.admin_creds(), **config)

    def cloister_call(self, creds, op, body, timeout=30):
        """A signed Cloister JSON API call (Cloister.OP) -> the answer (dict);
        an error raises botocore's ClientError with the __type as Code."""
        import urllib.error
        import urllib.request
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        from botocore.exceptions import ClientError
        url = self.endpoint + "/"
        data = json.dumps(body).encode()
        req = AWSRequest(method="POST", url=url, data=data,
                         headers={"X-Amz-Target": f"Cloister.{op}",
                                  "Content-Type": "application/x-amz-json-1.1"})
        SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"],
                              creds.get("SessionToken")), "cloister", REGION).add_auth(req)
        r = urllib.request.Request(url, data=data, method="POST", headers=dict(req.headers.items()))
        try:
            with urllib.request.urlopen(r, timeout=timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                code = json.loads(raw).get("__type", "").rsplit("#", 1)[-1]
            except ValueError:
                code = str(e.code)
            raise ClientError({"Error": {"Code": code, "Message": raw[:300].decode(errors="replace")},
                               "ResponseMetadata": {"HTTPStatusCode": e.code}}, op)

    def aws(self, cli, args, creds=None, profile=False, cwd=None, env_extra=None, timeout=120):
        return run_aws(cli, self.endpoint, args, creds=creds,
                       credentials_file=self.credentials_path if profile else None,
                       cwd=cwd, env_extra=env_extra, timeout=timeout)

    def account_create(self, name, profile=True, creds=None):
        """`cloister account create NAME --endpoint URL` as the bootstrap admin
        (through the profile chain) -> (rc, parsed JSON or None, stdout, stderr)."""
        env = _clean_env()
        if profile and creds is None:
            env["AWS_SHARED_CREDENTIALS_FILE"] = str(self.credentials_path)
            env["AWS_PROFILE"] = "cloister"
        else:
            env.update(_creds_env(creds))
            env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        env["AWS_DEFAULT_REGION"] = REGION
        p = subprocess.run([str(BIN), "account", "create", name, "--endpoint", self.endpoint],
                           capture_output=True, text=True, env=env, timeout=60)
        doc = None
        if p.returncode == 0:
            try:
                doc = json.loads(p.stdout)
            except ValueError:
                doc = None
        return p.returncode, doc, p.stdout, p.stderr


def _clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k != "CLOISTER_ENDPOINT"}
    return env


def _creds_env(creds):
    env = {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"]}
    if creds.get("SessionToken"):
        env["AWS_SESSION_TOKEN"] = creds["SessionToken"]
    return env


_CONFIG_DIR = tempfile.mkdtemp(prefix="cloister-e2e-awsconfig-")
_EMPTY_CONFIG = os.path.join(_CONFIG_DIR, "config")
Path(_EMPTY_CONFIG).write_text("")


def run_aws(cli, endpoint, args, creds=None, credentials_file=None, cwd=None, env_extra=None,
            timeout=120):
    """Runs an aws CLI against `endpoint` -> (rc, stdout, stderr).

    `cli` is a path or an (id, path) pair. Credentials come either from `creds`
    (env AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN]) or from
    `credentials_file` (profile cloister). No user config, no retries, no pager,
    no instance metadata lookups."""
    path = cli[1] if isinstance(cli, tuple) else cli
    env = _clean_env()
    env.update({
        "AWS_CONFIG_FILE": _EMPTY_CONFIG,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_PAGER": "",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CLI_AUTO_PROMPT": "off",
    })
    if creds is not None:
        env.update(_creds_env(creds))
        env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    elif credentials_file is not None:
        env["AWS_SHARED_CREDENTIALS_FILE"] = str(credentials_file)
        env["AWS_PROFILE"] = "cloister"
    else:
        env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    if env_extra:
        env.update(env_extra)
    p = subprocess.run([path, "--endpoint-url", endpoint, *args], capture_output=True, text=True,
                       env=env, cwd=cwd, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def boto3_client(endpoint, service, creds, **config):
    import boto3
    from botocore.config import Config
    cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"}, **config)
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=REGION, config=cfg,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"))


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def make_server(tmp_path_factory):
    """Factory for private server instances (own data dir); all are stopped at
    session end, and each must exit 0 on SIGTERM."""
    made = []

    def make(name="srv", fake_now_offset=None, extra_args=()):
        base = tmp_path_factory.mktemp(name)
        data = base / "data"
        srv = CloisterServer(data, base)
        srv.extra_args = list(extra_args)
        made.append(srv)
        return srv.start(fake_now_offset=fake_now_offset)

    yield make
    bad = []
    for srv in made:
        if srv.proc is not None:
            rc = srv.stop()
            if rc != 0:
                bad.append(f"{srv.data_dir}: exit {rc}\n{srv.stderr_tail()}")
    assert not bad, "servers did not stop cleanly on SIGTERM:\n" + "\n".join(bad)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The shared server: yields the CloisterServer (endpoint, data_dir,
    credentials_path, admin_creds()); SIGTERM at the end must give exit 0."""
    base = tmp_path_factory.mktemp("shared")
    srv = CloisterServer(base / "data", base)
    srv.start()
    yield srv
    if srv.proc is not None:
        rc = srv.stop()
        assert rc == 0, f"shared cloister serve exited with {rc} on SIGTERM; stderr:\n{srv.stderr_tail()}"


@pytest.fixture(scope="session")
def pg_cluster():
    """The session's PostgreSQL cluster (tests/pgtmp.py PgCluster: start, stop,
    create_db, url, psql); skips the test outside CLOISTER_TEST_META=postgres."""
    if not PG_MODE:
        pytest.skip("PostgreSQL tests run in the CLOISTER_TEST_META=postgres pass")
    return pg_session()


@pytest.fixture(params=AWS_CLIS, ids=[c[0] for c in AWS_CLIS])
def aws_cli(request):
    return request.param


def aws_error_code(stderr):
    """The AWS error code from a CLI error line:
    'An error occurred (AccessDenied) when calling the AssumeRole operation: ...'"""
    import re
    m = re.search(r"An error occurred \(([^)]+)\)", stderr)
    return m.group(1) if m else None


def client_error(exc):
    """(code, http status, message) of a botocore ClientError."""
    e = exc.response.get("Error", {})
    return e.get("Code"), exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"), e.get("Message", "")


def which(name):
    return shutil.which(name)


def blobs_contain(data_dir, needle):
    """True if any stored object blob of the server's data dir contains needle
    (the tests that show a plaintext is not on disk)."""
    for root, _, files in os.walk(os.path.join(data_dir, "blobs")):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                if needle in fh.read():
                    return True
    return False


def uniq(prefix):
    """A fresh name for a bucket, user or key alias: prefix-<8 hex>."""
    import uuid
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def presigner(client):
    """A SigV4 presigning twin of a boto3 client (boto3 presigns S3 with SigV2 by default)."""
    import boto3
    from botocore.config import Config
    creds = client._request_signer._credentials
    return boto3.session.Session().client(
        "s3", endpoint_url=client.meta.endpoint_url, region_name=client.meta.region_name,
        config=Config(signature_version="s3v4"), aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key, aws_session_token=creds.token)


def new_user(server, name, policy=None, admin_creds=None):
    """A user with access keys (and an inline policy), made by admin_creds (default: the
    bootstrap account's admin) -> (creds, user ARN)."""
    import json
    iam = server.boto3_client("iam", admin_creds)
    iam.create_user(UserName=name)
    if policy:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    k = iam.create_access_key(UserName=name)["AccessKey"]
    arn = iam.get_user(UserName=name)["User"]["Arn"]
    return {"AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]}, arn


# --------------------------------------------------------------------------- checksums
_POLY = 0x9A6C9329AC4BC9B5  # 0xAD93D23594C93659 reflected (CRC-64/NVME)
_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc64nvme(data):
    """base64 of the big-endian CRC-64/NVME of data, as S3 shows it."""
    c = 0xFFFFFFFFFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return base64.b64encode((c ^ 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")).decode()


def expect_error(code, status, fn, *a, **kw):
    """Calls fn, which must raise a ClientError with this code (and HTTP status,
    unless None); returns the error response."""
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as ei:
        fn(*a, **kw)
    got = client_error(ei.value)
    assert got[0] == code and (status is None or got[1] == status), got
    return ei.value.response
