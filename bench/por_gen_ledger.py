#!/usr/bin/python3
"""por_gen_ledger.py — writes a synthetic proof-of-reserves ledger in the seed's
private_ledger.json format (docs/por.md §7) for benchmarks and tests.

usage: por_gen_ledger.py ACCOUNTS ASSETS OUT.json [--seed S] [--csv OUT.csv ASSETS.json]

Balances are random integers in units of 10^-balance_decimals below 2^63 in
magnitude (each asset's value below 2^62/n units of 10^-10 USDT, so net equity
< 2^64); about one account in ten holds a debt (a negative balance) covered by
enough of asset 0, so every account's net equity is >= 0 and the prover
accepts the ledger. Every equity and debt part is below 2^64, so the
cloister-por-v2 prover picks 64-bit ranges for every asset (docs/por.md §3). User
hashes are 32 random bytes (hex), as the seed's are. Streams its output, so a
1M x 50 ledger needs little memory (it takes a minute or two in Python).
"""
import json
import random
import sys


def assets_table(n):
    table = {}
    for a in range(n):
        sym = "A%03d" % a if a else "USDT"
        d = (2, 4, 6, 8, 0)[a % 5]
        table[sym] = {"usdt_decimals": 2, "balance_decimals": d, "price": 100 + 7919 * a}
    return dict(sorted(table.items()))


def weights(table):
    D = max(v["balance_decimals"] for v in table.values())
    return [v["price"] * 10 ** (D - v["balance_decimals"]) for v in table.values()]


def account(rng, n, w):
    # each asset's value below 2^62 / n, so net equity stays below 2^64
    bal = [rng.randrange(0, 2 ** 62 // (n * x) + 1) for x in w]
    if n > 1 and rng.random() < 0.1:  # a debt, covered by asset 0
        debt = rng.randrange(1, 2 ** 60 // (n * w[1]) + 2)
        bal[1] = -debt
        need = debt * w[1] - sum(b * x for b, x in zip(bal[2:], w[2:]))
        bal[0] = max(bal[0], need // w[0] + 1)
        assert bal[0] < 2 ** 63
    return bal


def main():
    args = sys.argv[1:]
    seed = 1
    csv_out = assets_out = None
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    if "--csv" in args:
        i = args.index("--csv")
        csv_out, assets_out = args[i + 1], args[i + 2]
        del args[i:i + 3]
    count, n, out = int(args[0]), int(args[1]), args[2]
    rng = random.Random(seed)
    table = assets_table(n)
    syms = list(table)
    w = weights(table)
    with open(out, "w") as f:
        f.write('{"timestamp": 1700000000000, "assets": %s,\n"accounts": {\n' % json.dumps(table))
        for i in range(count):
            bal = account(rng, n, w)
            uh = "%064x" % rng.getrandbits(256)
            body = ", ".join('"%s": %d' % (s, b) for s, b in zip(syms, bal))
            f.write('"%s": {%s}%s\n' % (uh, body, "," if i + 1 < count else ""))
        f.write("}}\n")
    if csv_out:
        rng = random.Random(seed)
        with open(assets_out, "w") as f:
            json.dump({"timestamp": 1700000000000, "assets": table}, f)
        with open(csv_out, "w") as f:
            f.write("id," + ",".join(syms) + "\n")
            for i in range(count):
                bal = account(rng, n, w)
                uh = "%064x" % rng.getrandbits(256)
                f.write(uh + "," + ",".join(str(b) for b in bal) + "\n")


if __name__ == "__main__":
    main()
