#!/usr/bin/env python3
"""check_models.py TESSERA MODELS_DIR NAME...: real models through
`tessera compile` + `tessera run`, compared with PyTorch.  Models are made by
scripts/make_models.py (fixed seeds, random weights) into MODELS_DIR (a build
folder) when missing.  Passes when max |out - ref| <= 1e-4 * max(1, max|ref|).
Runs with Debian's /usr/bin/python3 (torch, torchvision)."""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    tessera, mdir, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(mdir, exist_ok=True)
    missing = [n for n in names if not os.path.exists(os.path.join(mdir, n + ".onnx"))]
    if missing:
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make_models.py"),
                        mdir] + missing, check=True)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    failures = 0
    with tempfile.TemporaryDirectory() as d:
        for n in names:
            onnx_path = os.path.join(mdir, n + ".onnx")
            so = os.path.join(d, n + ".so")
            t0 = time.time()
            p = subprocess.run([tessera, "compile", onnx_path, "-o", so],
                               capture_output=True, text=True, env=env)
            t1 = time.time()
            if p.returncode != 0:
                print(f"FAIL {n}: compile: {p.stderr.strip()}")
                failures += 1
                continue
            out = os.path.join(d, n + "_out")
            p = subprocess.run([tessera, "run", so, "--input",
                                "x=" + os.path.join(mdir, n + ".input.npy"),
                                "--output-dir", out],
                               capture_output=True, text=True, env=env)
            if p.returncode != 0:
                print(f"FAIL {n}: run: {p.stderr.strip()}")
                failures += 1
                continue
            got = np.load(os.path.join(out, "output_0.npy"))
            ref = np.load(os.path.join(mdir, n + ".ref.npy"))
            if got.shape != ref.shape:
                print(f"FAIL {n}: shape {got.shape} != {ref.shape}")
                failures += 1
                continue
            diff = float(np.max(np.abs(got.astype(np.float64) - ref)))
            tol = 1e-4 * max(1.0, float(np.max(np.abs(ref))))
            ok = diff <= tol
            failures += not ok
            print(f"{'PASS' if ok else 'FAIL'} {n}: max abs diff {diff:.3g} "
                  f"(tolerance {tol:.3g}), compile {t1 - t0:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
