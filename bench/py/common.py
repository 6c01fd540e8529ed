"""Helpers shared by the Python benchmark scripts (same PRNG as bench/lib/rng.ts)."""

MASK = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    return (a * b) & MASK


def mulberry32(seed: int):
    """Returns a generator of floats in [0, 1), bit-identical to the TypeScript version."""
    a = seed & MASK

    def nxt() -> float:
        nonlocal a
        a = (a + 0x6D2B79F5) & MASK
        t = _imul(a ^ (a >> 15), 1 | a)
        t = ((t + _imul(t ^ (t >> 7), 61 | t)) & MASK) ^ t
        return ((t ^ (t >> 14)) & MASK) / 4294967296

    return nxt


def uniform_delays(n: int, max_delay: int, seed: int) -> list[int]:
    nxt = mulberry32(seed)
    return [int(nxt() * max_delay) for _ in range(n)]
