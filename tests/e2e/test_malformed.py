"""Malformed requests over raw sockets. Each case must get an HTTP 4xx (garbage
that is not HTTP at all may instead get the connection closed), and the server
must still answer /_cloister/health afterwards; at the end the process must
still be alive. The cases run against a private server so a crash here cannot
take the other modules down with it.

Signed cases start from a request botocore signs correctly (checked to get 200
by the baseline tests) and break one thing."""
import re
import socket
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import REGION

FORM = "application/x-www-form-urlencoded; charset=utf-8"
GCI = "Action=GetCallerIdentity&Version=2011-06-15"
STATUS_RE = re.compile(rb"^HTTP/1\.[01] (\d{3})")


@pytest.fixture(scope="module")
def srv(make_server):
    return make_server("malformed")


class Ctx:
    def __init__(self, srv):
        self.srv = srv
        self.port = srv.port
        self.host = f"127.0.0.1:{srv.port}"
        c = srv.admin_creds()
        self.creds = Credentials(c["AccessKeyId"], c["SecretAccessKey"])

    # ---- signing with botocore, then serialising by hand
    def signed(self, body=GCI, service="sts", path="/", query="", extra=None):
        """-> (method, target, [(name, value)], body bytes) for a correctly signed POST."""
        url = f"http://{self.host}{path}" + (f"?{query}" if query else "")
        headers = {"Content-Type": FORM}
        headers.update(extra or {})
        req = AWSRequest(method="POST", url=url, data=body, headers=headers)
        SigV4Auth(self.creds, service, REGION).add_auth(req)
        hdrs = [("Host", self.host)] + [(k, v) for k, v in req.headers.items()]
        b = body if isinstance(body, bytes) else body.encode()
        return "POST", path + (f"?{query}" if query else ""), hdrs, b

    def presigned(self, query=GCI, service="sts", expires=300):
        """-> request target of a presigned GET."""
        req = AWSRequest(method="GET", url=f"http://{self.host}/?{query}")
        SigV4QueryAuth(self.creds, service, REGION, expires=expires).add_auth(req)
        parts = urllib.parse.urlsplit(req.url)
        return f"{parts.path}?{parts.query}"


def serialise(method, target, headers, body=b"", content_length=True):
    if isinstance(target, str):
        target = target.encode()
    lines = [method.encode() + b" " + target + b" HTTP/1.1"]
    names = {(n.lower() if isinstance(n, str) else n.decode().lower()) for n, _ in headers}
    for n, v in headers:
        n = n.encode() if isinstance(n, str) else n
        v = v.encode() if isinstance(v, str) else v
        lines.append(n + b": " + v)
    if "connection" not in names:
        lines.append(b"Connection: close")
    if content_length and "content-length" not in names and (body or method == "POST"):
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def with_header(hdrs, name, value):
    """Replace (or add) one header, keeping order."""
    out, done = [], False
    for n, v in hdrs:
        if n.lower() == name.lower():
            if not done and value is not None:
                out.append((n, value))
            done = True
        else:
            out.append((n, v))
    if not done and value is not None:
        out.append((name, value))
    return out


def exchange(port, data, half_close=False, timeout=15):
    """-> (status or None, response bytes, note). note: 'closed' (EOF/reset with
    no response), 'timeout', or ''."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    resp = b""
    try:
        try:
            s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (and close) before reading everything
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                return _status(resp), resp, "timeout"
            if not chunk:
                break
            resp += chunk
            if _complete(resp):
                break
        else:
            return _status(resp), resp, "timeout"
    finally:
        s.close()
    return _status(resp), resp, ("" if resp else "closed")


def _status(resp):
    m = STATUS_RE.match(resp)
    return int(m.group(1)) if m else None


def _complete(resp):
    head, sep, body = resp.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    return bool(m) and len(body) >= int(m.group(1))


# --------------------------------------------------------------------------- the cases
# Each builder takes a Ctx and returns bytes, or (bytes, half_close).
# expect: "4xx" (an HTTP 4xx answer is required) or "4xx-or-close".

def _auth_parts(ctx):
    m, t, h, b = ctx.signed()
    auth = dict(h)["Authorization"]
    return m, t, h, b, auth


def mut_header(name, value):
    def build(ctx):
        m, t, h, b = ctx.signed()
        return serialise(m, t, with_header(h, name, value), b)
    return build


def mut_auth(fn):
    """fn(authorization value) -> new value."""
    def build(ctx):
        m, t, h, b, auth = _auth_parts(ctx)
        return serialise(m, t, with_header(h, "Authorization", fn(auth)), b)
    return build


def cred_parts(auth):
    return re.search(r"Credential=([^,]+)", auth).group(1)


def replace_cred(new):
    return mut_auth(lambda a: a.replace(cred_parts(a), new(cred_parts(a))))


def amz_date_shift(seconds):
    """X-Amz-Date moved by seconds, on the credential scope's day (near midnight UTC the
    shift goes the other way, so the request is skewed rather than off its scope date)."""
    def build(ctx):
        m, t, h, b = ctx.signed()
        now = time.time()
        if time.gmtime(now + seconds).tm_yday != time.gmtime(now).tm_yday:
            seconds_ = -seconds
        else:
            seconds_ = seconds
        ts = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now + seconds_))
        return serialise(m, t, with_header(h, "X-Amz-Date", ts), b)
    return build


def signed_body(body, service="sts", extra=None):
    def build(ctx):
        return serialise(*ctx.signed(body=body, service=service, extra=extra))
    return build


def signed_query(query, body=GCI):
    def build(ctx):
        return serialise(*ctx.signed(body=body, query=query))
    return build


def presigned(expires=300, edit=None, query=GCI):
    def build(ctx):
        target = ctx.presigned(query=query, expires=expires if isinstance(expires, int) else 300)
        if edit:
            target = edit(target)
        return serialise("GET", target, [("Host", ctx.host)])
    return build


def set_qparam(name, value):
    def edit(target):
        path, q = target.split("?", 1)
        pairs = [p for p in q.split("&") if not p.startswith(name + "=")]
        if value is not None:
            pairs.append(f"{name}={value}")
        return path + "?" + "&".join(pairs)
    return edit


def unsigned_form(path="/", extra=None, body=GCI):
    def build(ctx):
        h = [("Host", ctx.host), ("Content-Type", FORM)] + list(extra or [])
        return serialise("POST", path, h, body.encode())
    return build


def raw(data, half_close=False):
    return lambda ctx: (data, half_close)


def truncated_body(ctx):
    m, t, h, b = ctx.signed()
    h = with_header(h, "Content-Length", str(len(b) + 100))
    return serialise(m, t, h, b), True


def content_length(value):
    def build(ctx):
        m, t, h, b = ctx.signed()
        return serialise(m, t, with_header(h, "Content-Length", value), b)
    return build


def two_content_lengths(ctx):
    m, t, h, b = ctx.signed()
    h = with_header(h, "Content-Length", str(len(b))) + [("Content-Length", str(len(b) + 5))]
    return serialise(m, t, h, b)


def declared_huge_body(ctx):
    m, t, h, b = ctx.signed()
    return serialise(m, t, with_header(h, "Content-Length", str(9 * 1024 * 1024)), b), True


def bad_chunked(ctx):
    m, t, h, _ = ctx.signed()
    h = with_header(h, "Content-Length", None) + [("Transfer-Encoding", "chunked")]
    return serialise(m, t, h, b"zz\r\nAction=x\r\n0\r\n\r\n", content_length=False)


def duplicate_authorization(ctx):
    m, t, h, b, auth = _auth_parts(ctx)
    return serialise(m, t, h + [("Authorization", auth.replace("Signature=", "Signature=0"))], b)


def signed_headers_without_host(ctx):
    m, t, h, b, auth = _auth_parts(ctx)
    new = re.sub(r"SignedHeaders=[^,]+", "SignedHeaders=content-type;x-amz-date", auth)
    return serialise(m, t, with_header(h, "Authorization", new), b)


def signed_headers_absent_header(ctx):
    m, t, h, b, auth = _auth_parts(ctx)
    new = re.sub(r"SignedHeaders=([^,]+)", r"SignedHeaders=\1;x-not-sent", auth)
    return serialise(m, t, with_header(h, "Authorization", new), b)


def date_header_only(ctx):
    m, t, h, b, auth = _auth_parts(ctx)
    new = re.sub(r"SignedHeaders=[^,]+", "SignedHeaders=content-type;date;host", auth)
    h = with_header(with_header(h, "X-Amz-Date", None), "Authorization", new)
    return serialise(m, t, h + [("Date", "Someday, 99 Foo 20XX 25:61:61 GMT")], b)


def scope_date_mismatch(ctx):
    m, t, h, b = ctx.signed()
    amz = dict(h)["X-Amz-Date"]
    yesterday = time.strftime("%Y%m%d", time.gmtime(time.time() - 86400))
    return serialise(m, t, with_header(h, "Authorization", dict(h)["Authorization"].replace(
        "/" + amz[:8] + "/", "/" + yesterday + "/")), b)


def huge_header(size):
    def build(ctx):
        h = [("Host", ctx.host), ("Content-Type", FORM), ("X-Pad", "a" * size)]
        return serialise("POST", "/", h, GCI.encode())
    return build


def huge_authorization(ctx):
    m, t, h, b, auth = _auth_parts(ctx)
    return serialise(m, t, with_header(h, "Authorization", auth + ", Extra=" + "b" * 65536), b)


def many_headers(ctx):
    h = [("Host", ctx.host), ("Content-Type", FORM)] + [(f"X-H{i}", "v") for i in range(5000)]
    return serialise("POST", "/", h, GCI.encode())


def non_utf8_header(ctx):
    m, t, h, b = ctx.signed()
    return serialise(m, t, h + [(b"X-Bin", b"\xff\xfe\x80abc")], b)


def non_utf8_raw_body(ctx):
    return serialise(*ctx.signed(body=b"Action=CreateUser&UserName=\xff\xfe&Version=2010-05-08", service="iam"))


def null_in_header(ctx):
    m, t, h, b = ctx.signed()
    return serialise(m, t, h + [(b"X-Null", b"a\x00b")], b)


CASES = [
    # ---- dates
    ("amz-date-missing", mut_header("X-Amz-Date", None), "4xx"),
    ("amz-date-iso-dashes", mut_header("X-Amz-Date", "2024-01-01T00:00:00Z"), "4xx"),
    ("amz-date-date-only", mut_header("X-Amz-Date", "20240101"), "4xx"),
    ("amz-date-month-13", mut_header("X-Amz-Date", "20241301T000000Z"), "4xx"),
    ("amz-date-hour-25", mut_header("X-Amz-Date", "20240101T250000Z"), "4xx"),
    ("amz-date-garbage", mut_header("X-Amz-Date", "garbage"), "4xx"),
    ("amz-date-empty", mut_header("X-Amz-Date", ""), "4xx"),
    ("amz-date-overflow", mut_header("X-Amz-Date", "99999999T999999Z"), "4xx"),
    ("amz-date-1h-past", amz_date_shift(-3600), "4xx"),
    ("amz-date-1h-future", amz_date_shift(3600), "4xx"),
    ("amz-date-scope-mismatch", scope_date_mismatch, "4xx"),
    ("date-header-garbage", date_header_only, "4xx"),
    # ---- Authorization header
    ("auth-algorithm-only", mut_auth(lambda a: "AWS4-HMAC-SHA256"), "4xx"),
    ("auth-empty", mut_auth(lambda a: ""), "4xx"),
    ("auth-no-credential", mut_auth(lambda a: re.sub(r"Credential=[^,]+, ?", "", a)), "4xx"),
    ("auth-no-signedheaders", mut_auth(lambda a: re.sub(r"SignedHeaders=[^,]+, ?", "", a)), "4xx"),
    ("auth-no-signature", mut_auth(lambda a: re.sub(r", ?Signature=\w+", "", a)), "4xx"),
    ("auth-signature-not-hex", mut_auth(lambda a: re.sub(r"Signature=\w+", "Signature=" + "zz" * 32, a)), "4xx"),
    ("auth-signature-short", mut_auth(lambda a: re.sub(r"Signature=(\w{10})\w+", r"Signature=\1", a)), "4xx"),
    ("auth-unknown-algorithm", mut_auth(lambda a: a.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512")), "4xx"),
    ("auth-sigv2-style", mut_auth(lambda a: "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg="), "4xx"),
    ("auth-bearer", mut_auth(lambda a: "Bearer abc.def.ghi"), "4xx"),
    ("auth-no-spaces", mut_auth(lambda a: a.replace(", ", ",").replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256")),
     "4xx"),
    ("cred-3-parts", replace_cred(lambda c: "/".join(c.split("/")[:3])), "4xx"),
    ("cred-4-parts", replace_cred(lambda c: "/".join(c.split("/")[:4])), "4xx"),
    ("cred-6-parts", replace_cred(lambda c: c + "/extra"), "4xx"),
    ("cred-bad-terminator", replace_cred(lambda c: c.replace("aws4_request", "aws4_foo")), "4xx"),
    ("cred-empty-key", replace_cred(lambda c: "/".join([""] + c.split("/")[1:])), "4xx"),
    ("cred-bad-date", replace_cred(lambda c: c.replace(c.split("/")[1], "2024-1-1")), "4xx"),
    ("cred-unknown-service", replace_cred(lambda c: c.replace("/sts/", "/nosuchservice/")), "4xx"),
    ("signedheaders-without-host", signed_headers_without_host, "4xx"),
    ("signedheaders-names-absent-header", signed_headers_absent_header, "4xx"),
    ("authorization-twice", duplicate_authorization, "4xx"),
    ("wrong-content-sha256", mut_header("X-Amz-Content-Sha256", "0" * 64), "4xx"),
    # ---- sizes
    ("header-64KiB", huge_header(64 * 1024), "4xx"),
    ("header-1MiB", huge_header(1024 * 1024), "4xx"),
    ("authorization-64KiB", huge_authorization, "4xx"),
    ("5000-headers", many_headers, "4xx"),
    ("path-16KiB-unsigned", unsigned_form(path="/" + "p" * 16384), "4xx"),
    ("path-256KiB", unsigned_form(path="/" + "p" * 262144), "4xx"),
    # ---- bodies and lengths
    ("body-shorter-than-content-length", truncated_body, "4xx-or-close"),
    ("content-length-not-a-number", content_length("abc"), "4xx"),
    ("content-length-negative", content_length("-1"), "4xx"),
    ("content-length-overflow", content_length("99999999999999999999999"), "4xx"),
    ("content-length-twice-different", two_content_lengths, "4xx"),
    ("content-length-9MiB-declared", declared_huge_body, "4xx"),
    ("chunked-bad-size", bad_chunked, "4xx"),
    # ---- form and query encoding, actions
    ("form-bad-percent", signed_body("Action=GetCallerIdentity&Version=%ZZ"), "4xx"),
    ("form-lone-percent", signed_body("Action=GetCallerIdentity&Version=2011-06-15&%"), "4xx"),
    ("form-truncated-percent", signed_body("Action=GetCallerIdentity%2&Version=2011-06-15"), "4xx"),
    ("query-bad-percent", signed_query("x=%G1"), "4xx"),
    ("unknown-action", signed_body("Action=LaunchRocket&Version=2011-06-15"), "4xx"),
    ("missing-action", signed_body("Version=2011-06-15"), "4xx"),
    ("empty-action", signed_body("Action=&Version=2011-06-15"), "4xx"),
    ("iam-action-on-sts", signed_body("Action=CreateUser&UserName=x&Version=2010-05-08"), "4xx"),
    ("non-utf8-percent-encoded-param", signed_body("Action=CreateUser&UserName=%FF%FE&Version=2010-05-08",
                                                   service="iam"), "4xx"),
    ("non-utf8-raw-body", non_utf8_raw_body, "4xx"),
    ("null-in-param", signed_body("Action=CreateUser&UserName=a%00b&Version=2010-05-08", service="iam"), "4xx"),
    ("control-char-in-param", signed_body("Action=CreateUser&UserName=a%01b&Version=2010-05-08", service="iam"),
     "4xx"),
    ("non-utf8-description", signed_body("Action=CreateRole&RoleName=descrole&Description=%FF%FE&Version=2010-05-08"
                                         "&AssumeRolePolicyDocument=" + urllib.parse.quote(
                                             '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
                                             '"Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}'),
                                         service="iam"), "4xx"),
    ("null-in-action", signed_body("Action=GetCallerIdentity%00&Version=2011-06-15"), "4xx"),
    ("unsigned-form-post", unsigned_form(), "4xx"),
    # ---- presigned
    ("presign-expires-604801", presigned(expires=604801), "4xx"),
    ("presign-expires-negative", presigned(expires=-1), "4xx"),
    ("presign-expires-not-number", presigned(edit=set_qparam("X-Amz-Expires", "abc")), "4xx"),
    ("presign-expires-missing", presigned(edit=set_qparam("X-Amz-Expires", None)), "4xx"),
    ("presign-bad-algorithm", presigned(edit=set_qparam("X-Amz-Algorithm", "HMAC-MD5")), "4xx"),
    ("presign-no-signature", presigned(edit=set_qparam("X-Amz-Signature", None)), "4xx"),
    ("presign-bad-date", presigned(edit=set_qparam("X-Amz-Date", "yesterday")), "4xx"),
    ("presign-expired", presigned(edit=set_qparam("X-Amz-Date", "20200101T000000Z")), "4xx"),
    ("presign-credential-2-parts", presigned(edit=set_qparam("X-Amz-Credential", "AKIAX%2F20240101")), "4xx"),
    # ---- not really HTTP
    ("garbage-line", raw(b"GARBAGE\r\n\r\n"), "4xx-or-close"),
    ("random-bytes", raw(bytes(range(256)) * 4), "4xx-or-close"),
    # RFC 9110 answers an unsupported major version with 505; that is accepted here too
    ("http-9.9", raw(b"GET /_cloister/health HTTP/9.9\r\nHost: x\r\n\r\n"), "4xx-505-or-close"),
    ("http-0.9", raw(b"GET /\r\n\r\n"), "4xx-or-close"),
    ("header-without-colon", raw(b"POST / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\nContent-Length: 0\r\n\r\n"),
     "4xx-or-close"),
    # libmicrohttpd hands the target over as a C string, so the server sees "/" and cannot
    # tell; what holds is that nothing is served: the answer is an error, never a 2xx.
    ("null-in-request-line", raw(b"GET /\x00/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
     "refused"),
    # no line end ever arrives: like nginx, the server waits for its idle timeout (20 s), then closes
    ("tls-hello-on-plain-port", raw(bytes.fromhex("16030100a5010000a10303") + b"\x00" * 64, True),
     "4xx-or-close"),
    ("no-host-http11", raw(b"POST / HTTP/1.1\r\nContent-Type: " + FORM.encode() +
                           b"\r\nContent-Length: 43\r\nConnection: close\r\n\r\n" + GCI.encode()), "4xx"),
    # obs-text (0x80-0xFF) is legal in an HTTP field value (RFC 9110 5.5): any non-5xx answer is fine
    ("non-utf8-header-value", non_utf8_header, "not-5xx"),
    # libmicrohttpd cuts a header value at a NUL before the server sees it (its _n API
    # reports the cut length), so verification and handlers see the same cut value:
    # an unsigned header loses its tail harmlessly ...
    ("null-in-header-value", null_in_header, "not-5xx"),
    # ... and a signed value with a NUL no longer matches its signature: refused.
    ("null-in-signed-header-value", signed_body(GCI, extra={"X-Amz-Meta-N": "a\x00b"}), "4xx"),
]


# --------------------------------------------------------------------------- baselines
def test_baseline_signed_post_is_200(srv):
    ctx = Ctx(srv)
    status, resp, note = exchange(srv.port, serialise(*ctx.signed()))
    assert status == 200, f"the unmodified signed request must work, got {status} {note}:\n{resp[:2000]!r}"
    assert b"GetCallerIdentityResponse" in resp


def test_baseline_presigned_get_is_200(srv):
    ctx = Ctx(srv)
    status, resp, note = exchange(srv.port, presigned()(ctx))
    assert status == 200, f"a presigned STS GetCallerIdentity must work, got {status} {note}:\n{resp[:2000]!r}"
    assert b"GetCallerIdentityResponse" in resp


def test_baseline_iam_post_is_200(srv):
    ctx = Ctx(srv)
    status, resp, _ = exchange(srv.port, serialise(*ctx.signed(body="Action=ListUsers&Version=2010-05-08",
                                                               service="iam")))
    assert status == 200, resp[:2000]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_malformed(srv, case):
    ident, build, expect = case
    ctx = Ctx(srv)
    built = build(ctx)
    data, half_close = built if isinstance(built, tuple) else (built, False)
    # a half-closed request may be held until the server's idle timeout (20 s)
    status, resp, note = exchange(srv.port, data, half_close=half_close, timeout=30 if half_close else 15)
    head = resp[:600]
    if expect == "refused":
        assert status is None or status >= 400, f"{ident}: must not be served, got {status}: {head!r}"
    elif expect == "not-5xx":
        assert status is not None and status < 500, f"{ident}: got {status} ({note}): {head!r}"
    elif expect == "4xx":
        assert status is not None and 400 <= status < 500, \
            f"{ident}: want HTTP 4xx, got {status} ({note or 'answered'}): {head!r}"
    else:
        ok = {505} if expect == "4xx-505-or-close" else set()
        assert note != "timeout", f"{ident}: the server held the connection open without answering"
        assert status is None or 400 <= status < 500 or status in ok, \
            f"{ident}: want 4xx or a closed connection, got {status}: {head!r}"
    assert_xml_well_formed(ident, resp)
    assert srv.alive(), f"{ident}: the server process died:\n{srv.stderr_tail()}"
    assert srv.healthy(), f"{ident}: /_cloister/health no longer answers"


def assert_xml_well_formed(ident, resp):
    """An XML error body must parse (clients parse it to find <Code>)."""
    head, _, body = resp.partition(b"\r\n\r\n")
    if not re.search(rb"(?im)^content-type:[^\r\n]*xml", head) or not body.strip():
        return
    try:
        ET.fromstring(body)
    except ET.ParseError as e:
        pytest.fail(f"{ident}: the XML error body does not parse ({e}): {body[:400]!r}")


def test_specific_answers(srv):
    """Where AWS's answer is well known, the code and status match it."""
    ctx = Ctx(srv)
    status, resp, _ = exchange(srv.port, signed_body("Action=LaunchRocket&Version=2011-06-15")(ctx))
    assert status == 400 and b"InvalidAction" in resp, resp[:600]
    status, resp, _ = exchange(srv.port, declared_huge_body(ctx)[0], half_close=True)
    assert status == 413, resp[:600]
    status, resp, _ = exchange(srv.port, unsigned_form()(ctx))
    assert status == 403 and b"MissingAuthenticationToken" in resp, resp[:600]
    status, resp, _ = exchange(srv.port, mut_auth(lambda a: re.sub(r"Signature=(\w)", lambda m: "Signature=" + (
        "0" if m.group(1) != "0" else "1"), a))(ctx))
    assert status == 403 and b"SignatureDoesNotMatch" in resp, resp[:600]
    status, resp, _ = exchange(srv.port, amz_date_shift(-3600)(ctx))
    assert status in (400, 403) and re.search(rb"RequestExpired|SignatureDoesNotMatch|RequestTimeTooSkewed", resp), \
        resp[:600]


def test_truncated_bodies_closed_promptly(srv):
    """A client that sends less body than Content-Length and then closes its side
    (FIN) will never send the rest. libmicrohttpd notices the EOF at once for most
    such connections but holds some until the idle timeout (20 s, as S3's
    RequestTimeout); what must hold: none outlives that bound, none is answered 2xx,
    and the server keeps serving meanwhile. 10 connections at once."""
    import concurrent.futures as cf
    ctx = Ctx(srv)

    def one(_):
        data, _hc = truncated_body(ctx)
        t0 = time.monotonic()
        status, _resp, note = exchange(srv.port, data, half_close=True, timeout=40)
        return round(time.monotonic() - t0, 2), status, note

    with cf.ThreadPoolExecutor(10) as ex:
        results = list(ex.map(one, range(10)))
    slow = [r for r in results if r[0] > 25 or r[2] == "timeout" or (r[1] is not None and r[1] < 400)]
    assert not slow, f"{len(slow)}/10 truncated requests held >25 s or answered 2xx (seconds, status, note): {results}"
    assert srv.healthy()


def test_keepalive_survives_bad_request(srv):
    """A bad request on a keep-alive connection does not poison later ones on new connections."""
    ctx = Ctx(srv)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        m, t, h, b = ctx.signed()
        bad = serialise(m, t, with_header(h, "X-Amz-Date", "nope") + [("Connection", "keep-alive")], b)
        good = serialise(m, t, h + [("Connection", "close")], b)
        s.sendall(bad + good)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    statuses = [int(x) for x in re.findall(rb"HTTP/1\.1 (\d{3})", data)]
    assert statuses[:1] and 400 <= statuses[0] < 500, data[:800]
    if len(statuses) > 1:
        assert statuses[1] == 200, data[:1600]


def test_zz_server_still_alive(srv):
    assert srv.alive(), f"the server died during the malformed-request tests:\n{srv.stderr_tail()}"
    assert srv.healthy()
