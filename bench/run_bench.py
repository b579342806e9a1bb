#!/usr/bin/python3
"""Tessera's first benchmarks, each measured side by side with its peer in
one run (medians of repeated runs; this machine is shared and noisy).

  1. The seed MLP (784-128-10) at batch 1 and 64: Tessera's compiled module
     (linear0 as generated TensorIR, relu, env.linear), the same MLP as two
     OpenBLAS sgemm library calls through Tessera's runtime, and NumPy
     (x @ w0.T, maximum, @ w1.T; NumPy's BLAS is OpenBLAS here).
  2. The MLC course's 128x128x128 matmul+relu: unscheduled, with the
     course's schedule, and with a blocked/vectorized/parallel schedule.

Runs at 1 and 2 threads (TESSERA_NUM_THREADS, OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS).  Prints a table and appends it to bench/RESULTS.md.

usage: bench/run_bench.py TESSERA_BINARY
"""
import datetime
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REPEAT = 200


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def tessera_ms(tessera, args, threads):
    env = dict(os.environ, TESSERA_NUM_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([tessera, "run", *args, "--repeat", str(REPEAT)],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit("tessera run failed: %s\n%s" % (" ".join(args), out.stderr))
    m = re.search(r"median_ms=([0-9.]+)", out.stdout)
    return float(m.group(1))


def numpy_ms(fn, repeat=REPEAT):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


SEED = open(os.path.join(ROOT, "examples", "seed_mlp.tvmscript")).read()

LIBRARY_MLP = """
@R.function
def main(x: R.Tensor((B, 784), "float32"), w0: R.Tensor((128, 784), "float32"),
         w1: R.Tensor((10, 128), "float32")):
    with R.dataflow():
        lv0 = R.call_dps_packed("env.linear", (x, w0), out_sinfo=R.Tensor((B, 128), "float32"))
        lv1 = R.nn.relu(lv0)
        out = R.call_dps_packed("env.linear", (lv1, w1), out_sinfo=R.Tensor((B, 10), "float32"))
        R.output(out)
    return out
"""


def mlp_rows(tessera, tmp, threads):
    rows = []
    w0 = np.load(os.path.join(ROOT, "examples/seed_mlp/w0.npy"))
    w1 = np.load(os.path.join(ROOT, "examples/seed_mlp/w1.npy"))
    for batch in (1, 64):
        x = np.random.default_rng(0).random((batch, 784), dtype=np.float32)
        xp = os.path.join(tmp, "x%d.npy" % batch)
        np.save(xp, x)
        inputs = ["--input", "x=" + xp,
                  "--input", "w0=" + os.path.join(ROOT, "examples/seed_mlp/w0.npy"),
                  "--input", "w1=" + os.path.join(ROOT, "examples/seed_mlp/w1.npy")]
        seed = SEED.replace("(1, 784)", "(%d, 784)" % batch) \
                   .replace("(1, 128)", "(%d, 128)" % batch) \
                   .replace("(1, 10)", "(%d, 10)" % batch) \
                   .replace("T.grid(1, 128, 784)", "T.grid(%d, 128, 784)" % batch)
        sp = os.path.join(tmp, "seed%d.tvmscript" % batch)
        open(sp, "w").write(seed)
        lp = os.path.join(tmp, "lib%d.tvmscript" % batch)
        open(lp, "w").write(LIBRARY_MLP.replace("B,", "%d," % batch))
        t_seed = tessera_ms(tessera, [sp, *inputs], threads)
        t_lib = tessera_ms(tessera, [lp, *inputs], threads)
        t_np = numpy_ms(lambda: np.maximum(x @ w0.T, 0) @ w1.T)
        rows.append(("seed MLP, batch %d" % batch, threads, [
            ("Tessera (generated linear0)", t_seed),
            ("Tessera (env.linear, OpenBLAS)", t_lib),
            ("NumPy", t_np)]))
    return rows


def mm_rows(tessera, tmp, threads):
    """Each variant is built into an artifact, then run from it."""
    mod = os.path.join(HERE, "mm_relu.tvmscript")
    flop = 2 * 128 ** 3
    res = []
    variants = (
        ("unscheduled (legalize only)", ["--passes", "legalize"]),
        ("MLC course schedule", ["--schedule", os.path.join(HERE, "mm_relu_mlc.py")]),
        ("blocked+vectorized+parallel", ["--schedule", os.path.join(HERE, "mm_relu_blocked.py")]),
        ("default rules (no script)", []),
    )
    for i, (name, extra) in enumerate(variants):
        so = os.path.join(tmp, "mm%d.so" % i)
        r = subprocess.run([tessera, "build", mod, "-o", so, *extra],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("tessera build failed: %s\n%s" % (name, r.stderr))
        ms = tessera_ms(tessera, [so, "--random-inputs", "1"], threads)
        res.append((name, ms, flop / (ms * 1e-3) / 1e9))
    return res


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    tessera = os.path.abspath(sys.argv[1])
    lines = []
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines.append("## %s, %s, %d cores" % (stamp, cpu_name(), os.cpu_count()))
    lines.append("")
    lines.append("Medians of %d runs each; ratio = peer time / Tessera time "
                 "(> 1: Tessera faster)." % REPEAT)
    lines.append("")
    lines.append("| benchmark | threads | Tessera ms | OpenBLAS via env.linear ms | NumPy ms | ratio vs OpenBLAS | ratio vs NumPy |")
    lines.append("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for threads in (1, 2):
            for name, th, r in mlp_rows(tessera, tmp, threads):
                t, lib, npy = r[0][1], r[1][1], r[2][1]
                lines.append("| %s | %d | %.4f | %.4f | %.4f | %.2f | %.2f |" %
                             (name, th, t, lib, npy, lib / t, npy / t))
    lines.append("")
    lines.append("| 128x128x128 matmul+relu | threads | ms | GFLOP/s |")
    lines.append("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for threads in (1, 2):
            for name, ms, gf in mm_rows(tessera, tmp, threads):
                lines.append("| %s | %d | %.4f | %.1f |" % (name, threads, ms, gf))
    lines.append("")
    lines.append("Load average while measuring: %s (2 cores, shared machine)."
                 % " ".join("%.2f" % x for x in os.getloadavg()))
    lines.append("")
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(HERE, "RESULTS.md"), "a") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
