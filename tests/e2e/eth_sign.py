"""Test-only Ethereum personal-sign in pure Python (no eth library is installed):
Keccak-256 and secp256k1 ECDSA with recovery id. Slow and not constant-time: for
tests only. Checked against ../shared/vectors/iexec-sms.json (test_apps.py)."""
import secrets as _rand

_RC = [0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
       0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
       0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
       0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
       0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
       0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008]
_ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56],
        [27, 20, 39, 8, 14]]
_M = (1 << 64) - 1


def _rol(v, n):
    return ((v << n) | (v >> (64 - n))) & _M if n else v


def _f(a):
    for rc in _RC:
        c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rol(c[(x + 1) % 5], 1) for x in range(5)]
        a = [[a[x][y] ^ d[x] for y in range(5)] for x in range(5)]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = _rol(a[x][y], _ROT[x][y])
        a = [[b[x][y] ^ ((~b[(x + 1) % 5][y]) & b[(x + 2) % 5][y]) for y in range(5)]
             for x in range(5)]
        a[0][0] ^= rc
    return a


def keccak256(data: bytes) -> bytes:
    rate = 136
    p = bytearray(data) + b"\x01" + b"\x00" * ((-len(data) - 1) % rate)
    p[-1] |= 0x80
    a = [[0] * 5 for _ in range(5)]
    for off in range(0, len(p), rate):
        for i in range(rate // 8):
            a[i % 5][i // 5] ^= int.from_bytes(p[off + 8 * i:off + 8 * i + 8], "little")
        a = _f(a)
    return b"".join(a[i % 5][i // 5].to_bytes(8, "little") for i in range(4))


P = 2**256 - 2**32 - 977
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)


def _add(p, q):
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0] and (p[1] + q[1]) % P == 0:
        return None
    if p == q:
        m = 3 * p[0] * p[0] * pow(2 * p[1], -1, P) % P
    else:
        m = (q[1] - p[1]) * pow(q[0] - p[0], -1, P) % P
    x = (m * m - p[0] - q[0]) % P
    return x, (m * (p[0] - x) - p[1]) % P


def _mul(k, p=G):
    r = None
    while k:
        if k & 1:
            r = _add(r, p)
        p = _add(p, p)
        k >>= 1
    return r


def address(priv: int) -> str:
    x, y = _mul(priv)
    return "0x" + keccak256(x.to_bytes(32, "big") + y.to_bytes(32, "big"))[12:].hex()


def personal_sign(priv: int, msg32: bytes) -> str:
    """EIP-191 personal-sign of 32 raw bytes -> "0x" + r || s || v (v = 27/28)."""
    z = int.from_bytes(keccak256(b"\x19Ethereum Signed Message:\n32" + msg32), "big")
    while True:
        k = _rand.randbelow(N - 1) + 1
        R = _mul(k)
        r = R[0] % N
        s = pow(k, -1, N) * (z + r * priv) % N
        if r and s:
            break
    recid = R[1] & 1
    if s > N // 2:  # low s, as Ethereum signers produce
        s, recid = N - s, recid ^ 1
    return "0x" + r.to_bytes(32, "big").hex() + s.to_bytes(32, "big").hex() + bytes(
        [27 + recid]).hex()


assert keccak256(b"").hex().startswith("c5d2460186f7233c"), "keccak self-test"


def app_address(account: str, name: str) -> str:
    """docs/apps.md: last 20 bytes of keccak256("cloister-app" || account || name)."""
    return "0x" + keccak256(b"cloister-app" + account.encode() + name.encode())[12:].hex()


def owner_proof(priv: int, app_addr: str) -> dict:
    """SetAppOwner's Owner and Signature for the app at app_addr (docs/apps.md)."""
    owner = address(priv)
    ch = keccak256(b"cloister-app-owner" + bytes.fromhex(app_addr[2:]) + bytes.fromhex(owner[2:]))
    return {"Owner": owner, "Signature": personal_sign(priv, ch)}
