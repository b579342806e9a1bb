#!/usr/bin/python3
"""SGEMM: Tessera (a TVMScript matmul built with the default schedule rules,
`tessera build --target "cpu -mcpu=native"`) against oneDNN's dnnl_sgemm and
OpenBLAS's cblas_sgemm, measured in one process, interleaved (medians of 31
samples, each >= 2 ms, after >= 0.2 s of warm-up; bench/sgemm_bench.c), at
1 and 2 threads.  Prints GFLOP/s and ratios and appends them to
bench/RESULTS.md.

usage: bench/sgemm_bench.py TESSERA_BINARY [--no-record] [M,K,N ...]
(--no-record: print only, RESULTS.md untouched)
"""
import datetime
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHAPES = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024),
          (2048, 2048, 2048), (1, 784, 128), (64, 784, 128)]

MODULE = '''@I.ir_module
class Module:
    @T.prim_func
    def mm(A: T.Buffer(({M}, {K}), "float32"), B: T.Buffer(({K}, {N}), "float32"),
           C: T.Buffer(({M}, {N}), "float32")):
        for i, j, k in T.grid({M}, {N}, {K}):
            with T.block("matmul"):
                vi, vj, vk = T.axis.remap("SSR", [i, j, k])
                with T.init():
                    C[vi, vj] = T.float32(0)
                C[vi, vj] = C[vi, vj] + A[vi, vk] * B[vk, vj]
'''


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    tessera = os.path.abspath(sys.argv[1])
    build_dir = os.path.dirname(tessera)
    shapes = SHAPES
    args = sys.argv[2:]
    record = "--no-record" not in args
    args = [a for a in args if a != "--no-record"]
    if args:
        shapes = [tuple(int(x) for x in s.split(",")) for s in args]
    tmp = tempfile.mkdtemp(prefix="tessera_sgemm_")
    harness = os.path.join(tmp, "sgemm_bench")
    subprocess.run(["cc", "-O2", "-I", os.path.join(ROOT, "include"),
                    "-I", "/usr/include/x86_64-linux-gnu/openblas-pthread",
                    os.path.join(HERE, "sgemm_bench.c"), "-o", harness,
                    "-L" + build_dir, "-ltessera_runtime",
                    "-Wl,-rpath," + build_dir, "-ldnnl", "-lopenblas", "-lm"],
                   check=True)
    rows = []
    for (M, K, N) in shapes:
        src = os.path.join(tmp, "mm_%d_%d_%d.tvmscript" % (M, K, N))
        so = src.replace(".tvmscript", ".so")
        with open(src, "w") as f:
            f.write(MODULE.format(M=M, K=K, N=N))
        subprocess.run([tessera, "build", src, "-o", so, "--target",
                        "cpu -mcpu=native"], check=True)
        for threads in (1, 2):
            env = dict(os.environ, TESSERA_NUM_THREADS=str(threads),
                       OMP_NUM_THREADS=str(threads),
                       OPENBLAS_NUM_THREADS=str(threads))
            out = subprocess.run([harness, so, "mm", str(M), str(K), str(N)],
                                 capture_output=True, text=True, env=env)
            if out.returncode != 0:
                sys.exit("sgemm_bench failed for %dx%dx%d: %s" %
                         (M, K, N, out.stderr))
            g = {}
            for line in out.stdout.splitlines():
                p = line.split()
                g[p[0]] = (float(p[4]), float(p[5]))
            for k in g:  # a sample below timer resolution on a loaded host
                g[k] = (g[k][0], max(g[k][1], 1e-9))
            rows.append((M, K, N, threads, g))
            print("%5dx%4dx%4d %dT  tessera %6.1f  onednn %6.1f  openblas %6.1f"
                  "  GFLOP/s  ratio vs oneDNN %.2f  vs OpenBLAS %.2f" %
                  (M, K, N, threads, g["tessera"][1], g["onednn"][1],
                   g["openblas"][1], g["tessera"][1] / g["onednn"][1],
                   g["tessera"][1] / g["openblas"][1]), flush=True)
    load = os.getloadavg()[0]
    lines = ["", "## SGEMM, %s, %s (load average %.1f at the end)" %
             (datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), cpu_name(), load),
             "",
             "`bench/sgemm_bench.py`: Tessera = TVMScript matmul built with the "
             "default rules (`--target \"cpu -mcpu=native\"`); medians of 31 "
             "interleaved samples in one process.",
             "",
             "| M x K x N | threads | Tessera GFLOP/s (ms) | oneDNN | OpenBLAS "
             "| Tessera / oneDNN | Tessera / OpenBLAS |",
             "|---|---|---|---|---|---|---|"]
    for (M, K, N, threads, g) in rows:
        lines.append("| %dx%dx%d | %d | %.1f (%.4f) | %.1f | %.1f | %.2f | %.2f |" %
                     (M, K, N, threads, g["tessera"][1], g["tessera"][0],
                      g["onednn"][1], g["openblas"][1],
                      g["tessera"][1] / g["onednn"][1],
                      g["tessera"][1] / g["openblas"][1]))
    if record:
        with open(os.path.join(HERE, "RESULTS.md"), "a") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
