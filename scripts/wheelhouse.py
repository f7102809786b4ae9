"""Build an offline wheelhouse: every wheel netto needs on a target platform, from the lock.

For secure environments without internet (CBS Remote Access: Windows, no compiler), build
the folder on a connected machine and carry it in:

    python scripts/wheelhouse.py --platform windows --python 3.12 --extras all --out wheelhouse
    # inside:  python -m venv .venv && .venv\\Scripts\\pip install --no-index \\
    #          --find-links wheelhouse "netto-effect[all]"

Steps: ``uv export`` writes the lock (uv.lock) as a universal requirements list; ``uv pip
compile --no-deps`` evaluates its markers for the target (platform, Python version) without
resolving anew, so the wheelhouse holds exactly the locked versions; ``pip download
--only-binary`` fetches the target's wheels (no compiler needed to install them); the few
locked packages published only as source are built into pure-Python wheels here; last, netto's
own wheel (with the bundled examples) is built. Written by hand because neither pip nor uv
builds a cross-platform wheelhouse from a lock in one command.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: target name -> (uv's --python-platform, pip's --platform tags)
PLATFORMS = {
    "linux": ("x86_64-manylinux_2_28", ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64",
                                        "manylinux_2_24_x86_64", "manylinux_2_17_x86_64",
                                        "manylinux2014_x86_64", "manylinux_2_12_x86_64",
                                        "manylinux2010_x86_64", "manylinux_2_5_x86_64",
                                        "manylinux1_x86_64", "linux_x86_64"]),
    "windows": ("x86_64-pc-windows-msvc", ["win_amd64"]),
}


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def uv() -> str:
    exe = Path(sys.executable).with_name("uv")
    return str(exe) if exe.exists() else "uv"


def pinned(platform: str, python: str, extras: list[str], work: Path) -> Path:
    """The locked requirements for one target, markers evaluated."""
    universal = work / "universal.txt"
    extra_args = ["--all-extras"] if "all" in extras else [a for x in extras for a in ("--extra", x)]
    run([uv(), "export", "--quiet", "--frozen", "--no-emit-project", "--no-hashes",
         "--no-dev", *extra_args, "-o", str(universal)], cwd=ROOT)
    target = work / "target.txt"
    run([uv(), "pip", "compile", "--quiet", "--no-deps", "--no-header", "--no-annotate",
         "--python-platform", PLATFORMS[platform][0], "--python-version", python,
         str(universal), "-o", str(target)], cwd=ROOT)
    # the test extra pulls netto itself in ("netto-effect[all]"): it comes from our own wheel
    lines = [ln for ln in target.read_text().splitlines()
             if ln.strip() and not ln.startswith("netto-effect")]
    target.write_text("\n".join(lines) + "\n")
    return target


def download(req: Path, platform: str, python: str, out: Path) -> None:
    tags = [a for t in PLATFORMS[platform][1] for a in ("--platform", t)]
    base = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(out),
            "--python-version", python, "--implementation", "cp"]
    need = [ln.strip() for ln in req.read_text().splitlines() if ln.strip()]
    r = subprocess.run([*base, "--only-binary=:all:", *tags, "-r", str(req)],
                       capture_output=True, text=True)
    if r.returncode == 0:
        return
    # one call per package to find those published only as source
    source_only = []
    for line in need:
        r = subprocess.run([*base, "--only-binary=:all:", *tags, line], capture_output=True,
                           text=True)
        if r.returncode != 0:
            source_only.append(line)
    print(f"built from source (pure Python): {', '.join(source_only)}", flush=True)
    for line in source_only:
        run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), line])
        made = [w for w in out.glob("*.whl") if _dist(w) == _dist_req(line)]
        bad = [w.name for w in made if not w.name.endswith("-none-any.whl")]
        if bad:
            raise SystemExit(f"{line}: publishes no wheel for {platform} and does not build to "
                             f"a pure-Python wheel ({', '.join(bad)}); a compiler is needed")


def _dist(wheel: Path) -> str:
    return re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()


def _dist_req(line: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[=<>!~ ;\[]", line, maxsplit=1)[0]).lower()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--platform", choices=sorted(PLATFORMS), default="linux")
    ap.add_argument("--python", default=f"{sys.version_info.major}.{sys.version_info.minor}")
    ap.add_argument("--extras", default="all",
                    help="comma-separated: all, or any of bayes, ml, dask; 'core' for none")
    ap.add_argument("--out", type=Path, default=ROOT / "wheelhouse")
    a = ap.parse_args(argv)
    extras = [] if a.extras == "core" else a.extras.split(",")
    a.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        req = pinned(a.platform, a.python, extras, Path(tmp))
        (a.out / "requirements.txt").write_text(req.read_text())
        download(req, a.platform, a.python, a.out)
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(a.out), str(ROOT)])
    n = len(list(a.out.glob("*.whl")))
    print(f"{a.out}: {n} wheels for {a.platform}, Python {a.python} "
          f"({'core' if not extras else ', '.join(extras)}); install with: pip install "
          f"--no-index --find-links {a.out} \"netto-effect{'' if not extras else '[' + ','.join(extras) + ']'}\"")


if __name__ == "__main__":
    main()
