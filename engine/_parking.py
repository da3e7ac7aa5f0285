"""Parking of positions that provably cannot pay this step (cross and perp kernels).

A position counted unprofitable whose size is under the step's bound is "parked": its bit in
the active list's bit set is cleared, so the kernel's pass skips it, and it is filed in a
bucket by size (``PK_OCT`` buckets per doubling), so that a step can unpark the sizes its
bound no longer covers. The list and its order are unchanged (a step's sums run in it). The
mechanism's own ``_unpark`` reads the buckets (what it updates differs per kernel).
"""

import math

import numpy as np
from numba import njit

PK_OCT = 4  # parking buckets per doubling of the size
PK_N = 128 * PK_OCT + 2  # log2(size) in [-64, 64); bucket 0 below (and 0), the last above
_ONE = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True, inline="always")
def park_bucket(x):
    if not x > 0.0:
        return 0
    y = math.log2(x) * PK_OCT
    if not y < 64 * PK_OCT:
        return PK_N - 1
    if y < -64 * PK_OCT:
        return 0
    return int(math.floor(y)) + 64 * PK_OCT + 1


@njit(cache=True, inline="always")
def bit_get(vis, j):
    return (vis[j >> 6] >> np.uint64(j & 63)) & _ONE != np.uint64(0)


@njit(cache=True, inline="always")
def bit_set(vis, j):
    vis[j >> 6] |= _ONE << np.uint64(j & 63)


@njit(cache=True, inline="always")
def bit_clear(vis, j):
    vis[j >> 6] &= ~(_ONE << np.uint64(j & 63))


@njit(cache=True, inline="always")
def bit_move(vis, src, dst):
    """The active list moved its entry ``src`` to ``dst`` (swap-remove): so does its bit."""
    if bit_get(vis, src):
        bit_set(vis, dst)
    else:
        bit_clear(vis, dst)
    bit_clear(vis, src)


@njit(cache=True)
def bit_prev(vis, j):
    """The largest set index <= j, or -1."""
    if j < 0:
        return -1
    w = j >> 6
    word = vis[w] & (_ALL >> np.uint64(63 - (j & 63)))
    while word == np.uint64(0):
        w -= 1
        if w < 0:
            return -1
        word = vis[w]
    top = 0
    for shift in (32, 16, 8, 4, 2, 1):
        if (word >> np.uint64(shift)) != np.uint64(0):
            word >>= np.uint64(shift)
            top += shift
    return (w << 6) + top


@njit(cache=True)
def park(pk, vis, pst, i, j, size):
    """Park position i (active entry j) in the bucket of ``size``."""
    n = pk.shape[0] - PK_N
    b = park_bucket(size)
    head = n + b
    nx = pk[head, 0]
    pk[head, 0] = i
    pk[i, 1] = head
    pk[i, 0] = nx
    pk[nx, 1] = i
    bit_clear(vis, j)
    pst[0] += 1
    pst[1] = min(pst[1], b)
    pst[2] = max(pst[2], b)
