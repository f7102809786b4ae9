"""Build hook: put the bundled examples (specs, graphs, notebooks) inside the wheel.

Everything else is declared in pyproject.toml. The examples stay at the repository's top
level (``data_specs/``, ``models/``, ``notebooks/``), where users and tests expect them; at
build time they are copied to ``causal/_examples/`` in the wheel, which ``causal examples``
reads (see causal/examples.py).
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PARTS = {"data_specs": ("*.yaml", "*.yml"), "models": ("*.dot", "*.gml", "*.gv"),
         "notebooks": ("*.ipynb",)}


class BuildWithExamples(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's own folders
            return
        target = Path(self.build_lib) / "causal" / "_examples"
        for part, patterns in PARTS.items():
            for pat in patterns:
                for src in sorted((HERE / part).glob(pat)):
                    dst = target / part / src.name
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dst)


setup(cmdclass={"build_py": BuildWithExamples})
