"""nutpie's C callbacks for bayesian_multilevel: the log density with its gradient, and the
map to the trace's values (:mod:`causal.estimators.multilevel_kernels` has the numba code and
why it is hand-written). Compiled when this module is first imported and cached on disk by
numba, so a new process loads them in well under a second. nutpie's sampler threads call them
directly from Rust: no Python and no GIL per gradient, so the chains run side by side.

The signatures are nutpie's for a compiled pymc model (``nutpie.compile_pymc``): the last
argument is the address of the data buffer of ``multilevel_kernels.pack``.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import types

from causal.estimators.multilevel_kernels import (
    H_C,
    H_G,
    H_NDIM,
    H_NEXP,
    H_P,
    H_Q,
    H_U,
    HEADER,
    expand,
    log_density,
)

LOGP_SIGNATURE = types.int64(types.uint64, types.CPointer(types.double),
                             types.CPointer(types.double), types.CPointer(types.double),
                             types.CPointer(types.double))
EXPAND_SIGNATURE = types.int64(types.uint64, types.uint64, types.CPointer(types.double),
                               types.CPointer(types.double), types.CPointer(types.double))


@numba.njit(cache=True, nogil=True)
def _buffer(ud):  # pragma: no cover - compiled
    head = numba.carray(ud, (HEADER,))
    C, P, G, Q = int(head[H_C]), int(head[H_P]), int(head[H_G]), int(head[H_Q])
    U = int(head[H_U])  # the length of multilevel_kernels.buffer_size
    return numba.carray(ud, (HEADER + 5 * C + U * P + G * (Q + 2),))


@numba.cfunc(LOGP_SIGNATURE, cache=True, nogil=True)
def logp_cfunc(dim, x_, grad_, logp_, ud):  # pragma: no cover - compiled
    buf = _buffer(ud)
    if dim != int(buf[H_NDIM]):
        return -1
    x = numba.carray(x_, (dim,))
    grad = numba.carray(grad_, (dim,))
    out = numba.carray(logp_, (1,))
    lp = log_density(x, buf, grad)
    out[0] = lp
    for i in range(dim):
        if not np.isfinite(grad[i]):
            return 3
    if not np.isfinite(lp):
        return 4
    return 0


@numba.cfunc(EXPAND_SIGNATURE, cache=True, nogil=True)
def expand_cfunc(dim, nexp, x_, out_, ud):  # pragma: no cover - compiled
    buf = _buffer(ud)
    if dim != int(buf[H_NDIM]) or nexp != int(buf[H_NEXP]):
        return -1
    expand(numba.carray(x_, (dim,)), buf, numba.carray(out_, (nexp,)))
    return 0
