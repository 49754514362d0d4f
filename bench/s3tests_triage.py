#!/usr/bin/env python3
"""s3tests_triage.py — sorts the failures of a ceph/s3-tests run (bench/s3tests.sh's
junit XML) by cause, so a wrong answer in a built feature stands out from features
Cloister does not build and from answers where AWS and the suite (written for Ceph
RGW) disagree. Prints a Markdown summary; `--list` adds every test of each cause.

    bench/s3tests_triage.py OUT/junit.xml S3TESTS_DIR [--list]

A failure is matched against the causes below in order (on the test name and the
error message); whatever matches none is "unexplained" and is a bug to look at.
Tests the suite itself marks `fails_on_aws` are counted apart: they assert Ceph
behaviour that AWS does not have.
"""
import collections
import re
import sys
import xml.etree.ElementTree as ET

# (cause, regex on "test_name message", explanation). Order matters: first match wins.
CAUSES = [
    ("client", r"AWS_AUTH_SIGNING_INVALID_CONFIGURATION|AwsCrtError|raw_put_authenticated_expired|SSLCertVerificationError|SSLError",
     "the test's own client fails before sending (awscrt signing config; botocore refuses a negative expiry; with TLS=1, raw-socket and requests calls that ignore ssl_verify)"),
    ("aws-differs", r"unicode_metadata|multipart_get_part|multipart_single_get_part|non_multipart_get_part|sse_c_get_part|put_excess_tags|object_read_unreadable|delete_marker_nonversioned",
     "Cloister answers as AWS documents, the suite as RGW: non-ASCII metadata comes back RFC 2047-encoded; a part number the object lacks is 416 InvalidPartNumber; more than 10 object tags is BadRequest; HEAD of a deleted key in an unversioned bucket has no x-amz-delete-marker; '\\xae\\x8a-' is valid UTF-8 once Python 3 encodes it, so 404"),
    ("rgw-only", r"rgw|RGW|_usage|unordered|tenant|s3ten|bucket_head_extended|torrent",
     "Ceph RGW extensions or tenants (x-rgw-* headers, usage, unordered listing, tenant principals); torrent: AWS answers 501 as Cloister"),
    ("bpa", r"public p|Invalid principal",
     "Block Public Access is on for every new bucket (AWS's default since April 2023); the suite writes public policies without turning it off"),
    ("acl", r"InvalidBucketAclWithObjectOwnership|AccessControlListNotSupported|Only the BucketOwnerEnforced|_acl|acl_|grant|ownership",
     "ACL-enabled buckets (ObjectWriter / BucketOwnerPreferred ownership): not built; Cloister has AWS's default since April 2023, BucketOwnerEnforced, ACLs disabled"),
    ("lifecycle", r"lifecycle|Lifecycle", "lifecycle configuration: not built"),
    ("logging", r"logging|Logging|S3ServerAcc", "bucket logging: not built"),
    ("object-lock", r"object_lock|ObjectLock|Retention|LegalHold|legal_hold", "object lock: not built"),
    ("sse-c-http", r"Customer provided keys must", "SSE-C over plain HTTP: refused as AWS does (run with TLS=1)"),
    ("sse-c-wrong-key", r"sse_c_other_key|sse_c_multipart_invalid_chunks_1|sse_c_multipart_bad_download|copy_part_enc\[[a-z0-9-]*-sse-c-",
     "a wrong SSE-C key (GET, or UploadPart into an SSE-C upload) answers 403 AccessDenied (as MinIO reads AWS for GET, minio/minio#6432); the suite expects 400; AWS's code for UploadPart is not confirmed"),
    ("cors", r"cors|CORS", "CORS configuration: not built"),
    ("kms-arn", r"arn:aws:kms|copy_enc|copy_part_enc",
     "the suite compares the SSE-KMS key id with the id it sent; S3 answers the key's ARN (as AWS)"),
    ("kms-default", r"sse_kms_no_key", "SSE-KMS without a key id uses the account's default key (as AWS); the suite expects an error (RGW)"),
    ("if-none-match-etag", r"\(501, 'NotImplemented'\)|(PutObject|CompleteMultipartUpload) operation: A header you provided implies",
     "the suite sends If-None-Match with an ETag on a write; AWS accepts only `*` there and answers 501 NotImplemented, as Cloister (aws/aws-sdk-ruby#3144)"),
    ("uploadpart-sse", r"UploadPart operation: x-amz-server-side-encryption header is not supported",
     "the suite sends x-amz-server-side-encryption on UploadPart; AWS refuses it there as Cloister does"),
]


def marks_of(suite_dir):
    src = open(f"{suite_dir}/s3tests/functional/test_s3.py").read()
    out = {}
    for m in re.finditer(r"((?:@pytest\.mark\.[a-z_]+.*\n)*)def (test_\w+)\(", src):
        out[m.group(2)] = set(re.findall(r"@pytest\.mark\.([a-z_]+)", m.group(1)))
    return out


def main():
    junit, suite = sys.argv[1], sys.argv[2]
    listing = "--list" in sys.argv
    marks = marks_of(suite)
    root = ET.parse(junit).getroot()
    counts = collections.Counter()
    by_cause = collections.defaultdict(list)
    for tc in root.iter("testcase"):
        name = tc.get("name")
        aws_says_no = "fails_on_aws" in marks.get(name.split("[")[0], set())
        bad = tc.find("failure") if tc.find("failure") is not None else tc.find("error")
        state = "skipped" if tc.find("skipped") is not None else ("failed" if bad is not None else "passed")
        counts[(aws_says_no, state)] += 1
        if bad is None or aws_says_no:
            continue
        msg = (bad.get("message") or "").replace("\n", " ")
        cause = next((c for c, rx, _ in CAUSES if re.search(rx, f"{name} {msg}")), "unexplained")
        by_cause[cause].append((name, re.sub(r"[0-9a-f]{10,}", "…", msg)[:140]))
    total = sum(counts.values())
    print(f"- all {total} tests: {sum(v for (a, s), v in counts.items() if s == 'passed')} passed, "
          f"{sum(v for (a, s), v in counts.items() if s == 'failed')} failed, "
          f"{sum(v for (a, s), v in counts.items() if s == 'skipped')} skipped")
    n = sum(v for (a, s), v in counts.items() if not a)
    print(f"- without the {total - n} the suite marks `fails_on_aws`: {n} tests, "
          f"{counts[(False, 'passed')]} passed, {counts[(False, 'failed')]} failed, "
          f"{counts[(False, 'skipped')]} skipped")
    print("\n| cause | failures | what it is |\n|---|---:|---|")
    expl = {c: e for c, _, e in CAUSES}
    expl["unexplained"] = "not matched by a known cause: look at each"
    for cause, tests in sorted(by_cause.items(), key=lambda kv: -len(kv[1])):
        print(f"| {cause} | {len(tests)} | {expl[cause]} |")
    if listing:
        for cause, tests in sorted(by_cause.items()):
            print(f"\n### {cause}")
            for name, msg in tests:
                print(f"- {name}: {msg}")


if __name__ == "__main__":
    main()
