"""Two remote signer instances on one PostgreSQL database (issue 15, the
concurrency test issue 13 deferred): `cloister signer serve --meta postgres://…`
twice, the same validators' keystores on both, hammered at once with
conflicting attestations and blocks for the same validators. Whatever the
interleaving, the signatures released by the two together never contain a
slashable pair (EIP-3076: a double proposal, a double vote, a surround vote),
and the signatures per second of both together are measured.

Runs in the PostgreSQL pass only (CLOISTER_TEST_META=postgres)."""
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import PG_MODE
from test_signer_api import Signer, att, block, make_keys

pytestmark = pytest.mark.skipif(not PG_MODE, reason="runs in the PostgreSQL pass "
                                "(CLOISTER_TEST_META=postgres)")


@pytest.fixture(scope="module")
def pair(pg_cluster, tmp_path_factory):
    url = pg_cluster.create_db("signers")
    keys = make_keys(11)
    base = tmp_path_factory.mktemp("pgsigners")
    signers = [Signer(base / f"s{i}", keys, ["--meta", url]) for i in (1, 2)]
    for s in signers:
        s.start()
    yield signers, keys
    for s in signers:
        assert s.stop() == 0, s.stderr()


def slashable_pairs(signed):
    """The slashable pairs among signed messages of one validator:
    ("block", slot, body) and ("att", source, target, root)."""
    bad = []
    blocks, atts = {}, []
    for m in signed:
        if m[0] == "block":
            if blocks.setdefault(m[1], m[2]) != m[2]:
                bad.append(("double proposal", m[1]))
        else:
            atts.append(m[1:])
    for i, (s1, t1, r1) in enumerate(atts):
        for s2, t2, r2 in atts[i + 1:]:
            if t1 == t2 and (s1, r1) != (s2, r2):  # another signing root, same target
                bad.append(("double vote", (s1, t1, r1), (s2, t2, r2)))
            elif (s1 < s2 and t2 < t1) or (s2 < s1 and t1 < t2):
                bad.append(("surround", (s1, t1), (s2, t2)))
    return bad


def test_two_signers_never_release_a_slashable_pair(pair):
    signers, keys = pair
    pks = [pk for _, pk in keys]
    rng = random.Random()
    jobs = []
    for _ in range(480):
        pk = rng.choice(pks[:3])
        if rng.random() < 0.3:
            slot, body = rng.randint(1, 6), rng.choice(["22", "23"])
            jobs.append((pk, ("block", slot, body), block(slot, body_byte=body)))
        else:
            src = rng.randint(0, 5)
            tgt = src + rng.randint(0, 4)
            root = rng.choice(["11", "12"])
            jobs.append((pk, ("att", src, tgt, root), att(src, tgt, root_byte=root)))
    signed, codes, lock = {pk: [] for pk in pks}, [], threading.Lock()
    barrier = threading.Barrier(16)

    def worker(w):
        barrier.wait()
        s = signers[w % 2]
        for pk, msg, body in jobs[w::16]:
            r = s.sign(pk, body)
            with lock:
                codes.append(r.status_code)
                if r.status_code == 200:
                    signed[pk].append(msg)

    t0 = time.monotonic()
    with ThreadPoolExecutor(16) as ex:
        list(ex.map(worker, range(16)))
    dt = time.monotonic() - t0
    assert set(codes) <= {200, 412}, sorted(set(codes))
    bad = {pk: slashable_pairs(msgs) for pk, msgs in signed.items() if slashable_pairs(msgs)}
    assert not bad, f"slashable pairs signed by the two instances together: {bad}"
    assert codes.count(200) > 0 and codes.count(412) > 0, codes
    print(f"\ntwo signers, conflicting load: {len(codes)} requests in {dt:.2f}s "
          f"({len(codes) / dt:.0f}/s), {codes.count(200)} signed, {codes.count(412)} refused")


def test_signatures_per_second_on_two_instances(pair):
    """No conflicts: eight validators sign rising attestations at once, one
    thread each, alternately through the two instances; every one is signed."""
    signers, keys = pair
    pks = [pk for _, pk in keys[3:]]
    per = 40

    def run(i):
        return [signers[(i + n) % 2].sign(pks[i], att(100 + n, 100 + n)).status_code
                for n in range(per)]

    t0 = time.monotonic()
    with ThreadPoolExecutor(len(pks)) as ex:
        codes = [c for cs in ex.map(run, range(len(pks))) for c in cs]
    dt = time.monotonic() - t0
    assert codes == [200] * len(codes), sorted(set(codes))
    print(f"\ntwo signers, {len(pks)} validators in parallel: {len(codes)} signatures in "
          f"{dt:.2f}s, {len(codes) / dt:.0f} signatures/s")
