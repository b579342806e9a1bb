#!/usr/bin/python3
"""The seed's MyModuleMixture compiled: `tessera run` (compiled) and the
deployment example (linking only libtessera_runtime, running the artifact
from `tessera build`) must both equal NumPy's x . w0^T -> relu -> . w1^T
within 1e-5 (relative to max(1, |reference|)).

usage: check_seed.py TESSERA DEPLOY_EXAMPLE
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def run(cmd, cwd=None):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("FAIL: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout


def check(name, got, want):
    err = np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want)))
    ok = err <= 1e-5
    print("%s %s: max relative difference %.3g" % ("PASS" if ok else "FAIL", name, err))
    return ok


def main():
    tessera, deploy = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    model = os.path.join(ROOT, "examples", "seed_mlp.tvmscript")
    w0p = os.path.join(ROOT, "examples", "seed_mlp", "w0.npy")
    w1p = os.path.join(ROOT, "examples", "seed_mlp", "w1.npy")
    w0, w1 = np.load(w0p), np.load(w1p)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for seed in (0, 1, 2):
            x = np.random.default_rng(seed).standard_normal((1, 784)).astype(np.float32)
            xp = os.path.join(tmp, "x.npy")
            np.save(xp, x)
            want = np.maximum(x.astype(np.float64) @ w0.T.astype(np.float64), 0) @ w1.T.astype(np.float64)
            out = os.path.join(tmp, "out%d" % seed)
            run([tessera, "run", model, "--input", "x=" + xp, "--input", "w0=" + w0p,
                 "--input", "w1=" + w1p, "--output-dir", out])
            ok &= check("tessera run (compiled), seed %d" % seed,
                        np.load(os.path.join(out, "output_0.npy")), want)
            so = os.path.join(tmp, "seed.so")
            run([tessera, "build", model, "-o", so])
            run([deploy, so, xp, w0p, w1p], cwd=tmp)
            ok &= check("deploy example (runtime only), seed %d" % seed,
                        np.load(os.path.join(tmp, "output_0.npy")), want)
    print("%d passed, %d failed" % ((6, 0) if ok else (0, 1)))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
