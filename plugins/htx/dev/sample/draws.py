"""Random draws the sample's generators share. Each consumes the generator's random stream in
a fixed order: the sample, and every seed figure it reproduces, depend on it."""
from __future__ import annotations

import random

from stdnum.vn import mst


def new_tax_code(rng: random.Random, taken: set[str]) -> str:
    """A valid Quảng Ninh MST (tax code, prefix 57) not in `taken`, which it joins."""
    while True:
        prefix = "57" + "".join(rng.choice("0123456789") for _ in range(7))
        check = mst.calc_check_digit(prefix)
        if len(check) == 1 and prefix + check not in taken:
            taken.add(prefix + check)
            return prefix + check


def uneven_split(rng: random.Random, total: int, parts: int, minimum: int,
                 spread: float) -> list[int]:
    """`parts` integers ≥ minimum, uneven like real sizes (log-normal weights of σ `spread`),
    summing exactly to `total`."""
    weights = [rng.lognormvariate(0, spread) for _ in range(parts)]
    spare = total - minimum * parts
    shares = [minimum + int(spare * w / sum(weights)) for w in weights]
    for i in range(total - sum(shares)):
        shares[i % parts] += 1
    return shares
