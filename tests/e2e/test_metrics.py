"""GET /metrics: Prometheus text with request counters labelled by service,
operation and status, and a latency histogram (_bucket, _sum, _count)."""
import math
import re

import pytest
from botocore.exceptions import ClientError

from conftest import http_get

LINE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(server):
    status, headers, body = http_get(server.endpoint + "/metrics")
    assert status == 200, body[:500]
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    assert ctype.startswith("text/plain"), ctype
    samples, types = [], {}
    for line in body.decode().splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split()
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3]
            continue
        m = LINE_RE.match(line)
        assert m, f"not Prometheus text format: {line!r}"
        labels = dict(LABEL_RE.findall(m.group(3) or ""))
        value = float(m.group(4))
        samples.append((m.group(1), labels, value))
    return samples, types


def counter_series(samples, types):
    """Counters with service, op/operation and status labels -> {(service, op, status): value}."""
    out = {}
    for name, labels, value in samples:
        base = name[:-len("_total")] if name.endswith("_total") else name
        if types.get(name) != "counter" and types.get(base) != "counter":
            continue
        op = labels.get("op", labels.get("operation", labels.get("action")))
        if "service" in labels and op is not None and ("status" in labels or "code" in labels):
            out[(labels["service"], op, labels.get("status", labels.get("code")))] = value
    return out


def histograms(samples, types):
    hs = [n for n, t in types.items() if t == "histogram"]
    return hs


@pytest.fixture(scope="module")
def traffic(server):
    """Drives known traffic; returns (before, after) scrapes."""
    before = scrape(server)
    sts = server.boto3_client("sts")
    iam = server.boto3_client("iam")
    for _ in range(3):
        sts.get_caller_identity()
    iam.list_users()
    try:
        iam.get_user(UserName="no-such-user-for-metrics")
    except ClientError:
        pass
    bad = server.boto3_client("sts", {"AccessKeyId": "AKIAZZZZZZZZZZZZZZZZ", "SecretAccessKey": "x" * 40})
    try:
        bad.get_caller_identity()
    except ClientError:
        pass
    return before, scrape(server)


def test_request_counters_by_service_op_status(traffic):
    (b_samples, b_types), (samples, types) = traffic
    before, after = counter_series(b_samples, b_types), counter_series(samples, types)
    assert after, "no counter labelled by service, op and status:\n" + "\n".join(
        f"{n}{l} {v}" for n, l, v in samples[:40])
    gci = after.get(("sts", "GetCallerIdentity", "200"), 0) - before.get(("sts", "GetCallerIdentity", "200"), 0)
    assert gci == 3, f"3 GetCallerIdentity calls, counter moved by {gci}: {sorted(after)}"
    lu = after.get(("iam", "ListUsers", "200"), 0) - before.get(("iam", "ListUsers", "200"), 0)
    assert lu == 1, f"1 ListUsers call, counter moved by {lu}"
    nse = after.get(("iam", "GetUser", "404"), 0) - before.get(("iam", "GetUser", "404"), 0)
    assert nse == 1, f"1 GetUser with NoSuchEntity (404), counter moved by {nse}: {sorted(after)}"
    rejected = sum(v - before.get(k, 0) for k, v in after.items() if k[2] == "403")
    assert rejected >= 1, f"the unknown-key request (403) is not counted: {sorted(after)}"


def test_latency_histogram(traffic):
    _, (samples, types) = traffic
    hs = histograms(samples, types)
    assert hs, f"no histogram in /metrics (TYPE lines: {types})"
    checked = 0
    for h in hs:
        groups = {}
        for name, labels, value in samples:
            if name in (h + "_bucket", h + "_sum", h + "_count"):
                key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
                groups.setdefault(key, {"buckets": [], "sum": None, "count": None})
                g = groups[key]
                if name.endswith("_bucket"):
                    assert "le" in labels, f"bucket without le: {name}{labels}"
                    le = math.inf if labels["le"] == "+Inf" else float(labels["le"])
                    g["buckets"].append((le, value))
                elif name.endswith("_sum"):
                    g["sum"] = value
                else:
                    g["count"] = value
        for key, g in groups.items():
            assert g["buckets"] and g["sum"] is not None and g["count"] is not None, (h, key, g)
            bs = sorted(g["buckets"])
            assert bs[-1][0] == math.inf, f"{h}{key}: no le=\"+Inf\" bucket"
            counts = [c for _, c in bs]
            assert counts == sorted(counts), f"{h}{key}: buckets are not cumulative: {bs}"
            assert bs[-1][1] == g["count"], f"{h}{key}: +Inf bucket != _count"
            assert g["sum"] >= 0
            if g["count"]:
                checked += 1
    assert checked, "no histogram series has observations"
    # when the histogram is labelled by service, the services we called have observations
    counts = [(l, v) for n, l, v in samples if n.endswith("_count") and n[:-len("_count")] in hs]
    if any("service" in l for l, _ in counts):
        services = {l.get("service") for l, v in counts if v > 0}
        assert {"sts", "iam"} <= services, services


def test_metrics_needs_no_auth_and_health_empty(server):
    status, _, body = http_get(server.endpoint + "/_cloister/health")
    assert status == 200
    status, _, body = http_get(server.endpoint + "/_cloister/empty")
    assert status == 200 and body == b""


def test_public_metrics_carry_no_account_data(server):
    """Anonymous /metrics: service, operation and status only — no account ID,
    user, bucket or key name of anyone's traffic (issue 10, item 12)."""
    from conftest import uniq
    rc, b, out, err = server.account_create(uniq("metricsB"))
    assert rc == 0, out + err
    b_creds = {"AccessKeyId": b["AccessKeyId"], "SecretAccessKey": b["SecretAccessKey"]}
    bucket = uniq("metrics-secret")
    s3 = server.boto3_client("s3", b_creds)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    key = server.boto3_client("kms", b_creds).create_key()["KeyMetadata"]["KeyId"]
    status, _, body = http_get(server.endpoint + "/metrics")
    assert status == 200
    text = body.decode()
    for secret in (b["AccountId"], b["AccessKeyId"], bucket, key, b["UserName"] + "\""):
        assert secret not in text, f"{secret} appears in the public /metrics"
    samples, _ = scrape(server)
    labels = {k for _, l, _ in samples for k in l}
    # "reason": the task outcomes' fixed set (done, app_failed, input, ...), no names
    assert labels <= {"service", "op", "status", "le", "reason"}, labels
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)


def test_metrics_listen_moves_metrics_off_the_api_listener(make_server):
    """`serve --metrics-listen HOST:PORT`: GET /metrics on that address only;
    on the API listener /metrics is then an ordinary S3 path (no such bucket)."""
    from conftest import free_port
    port = free_port()
    srv = make_server("metricsl", extra_args=["--metrics-listen", f"127.0.0.1:{port}"])
    srv.boto3_client("sts").get_caller_identity()
    status, headers, body = http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200, body[:300]
    assert b'cloister_requests_total{service="sts",op="GetCallerIdentity",status="200"}' in body
    status, _, body = http_get(srv.endpoint + "/metrics")
    assert status == 404 and b"cloister_requests_total" not in body, body[:300]
    assert b"NoSuchBucket" in body
    status, _, _ = http_get(f"http://127.0.0.1:{port}/_cloister/health")
    assert status == 404
    status, _, _ = http_get(srv.endpoint + "/_cloister/health")
    assert status == 200
