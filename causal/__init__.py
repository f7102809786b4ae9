"""netto: net effects of Dutch labour-market measures for older jobseekers.

Quick use::

    from causal import load_spec, prepare, estimate
    study = prepare("data_specs/almere_aanpak45plus.yaml")      # its synthetic twin
    for e in estimate(study):
        print(e.sentence())
"""
__version__ = "0.1.0"

import os as _os

# One BLAS thread per process unless the user says otherwise: netto parallelises over
# processes (batch workers, sampler chains), and multi-threaded OpenBLAS on small matrices on
# a busy 2-core machine was measured 20x slower (a 1,200 x 17 QR: 0.5 s against 0.02 s).
# Set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS yourself to change this.
if "OPENBLAS_NUM_THREADS" not in _os.environ and "OMP_NUM_THREADS" not in _os.environ:
    _os.environ["OPENBLAS_NUM_THREADS"] = "1"
    _os.environ["OMP_NUM_THREADS"] = "1"
    _os.environ.setdefault("MKL_NUM_THREADS", "1")
    try:  # numpy may already be loaded (a notebook): limit its pool too
        from threadpoolctl import threadpool_limits as _tl

        _tl(1)
    except Exception:  # noqa: BLE001 - threadpoolctl is optional
        pass
# Threads that wait at a barrier sleep instead of spinning: where a learner is allowed threads
# (dml at registry size) a spinning OpenMP pool on a shared machine burns the other cores.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


try:  # inside Jupyter: netto's figures (object-API Figures) display inline
    import sys as _sys

    if "IPython" in _sys.modules:
        from causal.notebook import register as _register

        _register()
except Exception:  # noqa: BLE001 - a display nicety must never break the import
    pass


def __getattr__(name: str):  # lazy, so `import causal` stays fast
    if name in ("prepare", "estimate", "run_estimator"):
        from causal import pipeline

        return getattr(pipeline, name)
    if name == "load_spec":
        from causal.spec import load_spec

        return load_spec
    if name == "make_twin":
        from causal.twins import make_twin

        return make_twin
    raise AttributeError(name)
