#!/usr/bin/python3
"""Whole-model benchmark of the ONNX path: Tessera against PyTorch eager,
TorchScript, ONNX Runtime and Apache TVM on the same models, measured in one
run (this machine is shared and noisy: compare rows of one run only).

Models (scripts/make_models.py, fixed seeds, random weights, exported into
build/bench_models): the seed MLP at batch 1 and 64, MobileNetV2, ResNet-18
and one BERT-base encoder layer at batch 1.  Each system runs at 1 and 2
threads:

  Tessera      `tessera compile MODEL.onnx` (import + default pipeline) then
               `tessera run --repeat N` (TESSERA_NUM_THREADS)
  PyTorch      Debian's torch 1.13, eager, torch.no_grad (set_num_threads;
               OPENBLAS_NUM_THREADS and OMP_NUM_THREADS pinned too: Debian's
               torch uses OpenBLAS for matmuls)
  TorchScript  torch.jit.trace + torch.jit.freeze of the same module
  ORT          onnxruntime, default graph optimizations, intra_op_num_threads
  TVM          apache-tvm: relax frontend from_onnx (params bound) +
               tvm.compile(target="llvm"), i.e. its default pipeline, no
               tuning; TVM_NUM_THREADS

Timing: one warm-up run, then N runs, median.  N >= 20 where a run is short
enough; for slow runs N is cut so that one measurement stays within about
BENCH_BUDGET_S seconds (>= 3 runs): the table gives N for Tessera and marks
any peer measured with N < 20.  Tessera's outputs are compared with
PyTorch eager's (max abs diff), computed in the same run.

The peers run in bench/.venv (bench/peers_venv.sh: Debian's python with
--system-site-packages, numpy pinned to Debian's, onnxruntime and apache-tvm
from PyPI); a peer that cannot be installed or fails on a model is recorded
as "unavailable: <reason>" / "failed: <reason>".

With --rounds K (K > 1), Tessera and ONNX Runtime are measured K times,
alternating (Tessera, ORT, Tessera, ORT, ...), and each gets the median of
its K medians: on a host whose speed drifts within minutes, the two are
then compared over the same stretch of time.  The other peers run once.

usage: bench/models_bench.py TESSERA_BINARY [--no-record] [--peers P,..]
           [--rounds K] [MODEL ...]
       (MODEL: mlp, mlp_b64, mobilenet_v2, resnet18, bert_layer;
        --peers: a subset of eager,torchscript,ort,tvm, the others skipped;
        --no-record: print only, RESULTS.md untouched)
"""
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV_PY = os.path.join(HERE, ".venv", "bin", "python")
MODELS_DIR = os.path.join(ROOT, "build", "bench_models")
# (file stem, make_models.py name, batch, label)
MODELS = [("mlp", "mlp", 1, "MLP 784-128-10, batch 1"),
          ("mlp_b64", "mlp", 64, "MLP 784-128-10, batch 64"),
          ("mobilenet_v2", "mobilenet_v2", 1, "MobileNetV2 1x3x224x224"),
          ("resnet18", "resnet18", 1, "ResNet-18 1x3x224x224"),
          ("bert_layer", "bert_layer", 1, "BERT-base layer, seq 128")]
THREADS = (1, 2)
PEERS = ("eager", "torchscript", "ort", "tvm")
PEER_LABEL = {"eager": "PyTorch", "torchscript": "TorchScript",
              "ort": "ORT", "tvm": "TVM"}
MIN_RUNS, WANT_RUNS, MAX_RUNS = 3, 20, 200
BUDGET_S = float(os.environ.get("BENCH_BUDGET_S", "15"))
FAST_BUDGET_S = 1.0     # fast runs: as many as fit in this, within [20, 200]
PEER_TIMEOUT_S = 900
TVM_TARGET = os.environ.get("BENCH_TVM_TARGET", "llvm")


def n_runs(one_ms):
    """How many timed runs for a run of about one_ms."""
    one_s = max(one_ms, 1e-3) / 1e3
    if one_s * WANT_RUNS <= BUDGET_S:
        return int(min(MAX_RUNS, max(WANT_RUNS, FAST_BUDGET_S / one_s)))
    return int(max(MIN_RUNS, BUDGET_S / one_s))


def thread_env(threads):
    t = str(threads)
    return dict(os.environ, TESSERA_NUM_THREADS=t, OMP_NUM_THREADS=t,
                OPENBLAS_NUM_THREADS=t, MKL_NUM_THREADS=t, TVM_NUM_THREADS=t,
                TVM_FFI_DISABLE_TORCH_C_DLPACK="1")


# --------------------------------------------------------------------------
# Worker: runs in bench/.venv, one process per (peer, threads), so that the
# thread settings are in place before torch / onnxruntime / tvm load.
# Prints one JSON line per model.

def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def time_fn(fn):
    t0 = time.perf_counter()
    fn()                                      # warm-up
    one_ms = (time.perf_counter() - t0) * 1e3
    if one_ms < 50:                           # a few more for short runs
        for _ in range(5):
            t0 = time.perf_counter()
            fn()
            one_ms = min(one_ms, (time.perf_counter() - t0) * 1e3)
    times = []
    for _ in range(n_runs(one_ms)):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return median(times), len(times)


def worker(peer, threads, stems, save_dir):
    import numpy as np
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    if peer in ("eager", "torchscript"):
        import torch
        import make_models
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
    elif peer == "ort":
        import onnxruntime as ort
    elif peer == "tvm":
        import onnx
        import tvm
        from tvm import relax
        from tvm.relax.frontend.onnx import from_onnx
    for stem in stems:
        name, batch = next((m[1], m[2]) for m in MODELS if m[0] == stem)
        path = os.path.join(MODELS_DIR, stem + ".onnx")
        x = np.load(os.path.join(MODELS_DIR, stem + ".input.npy"))
        res = {"model": stem, "peer": peer, "threads": threads}
        try:
            t0 = time.perf_counter()
            if peer in ("eager", "torchscript"):
                model, _ = make_models.build(name, batch)
                model.eval()
                xt = torch.from_numpy(x)
                with torch.no_grad():
                    if peer == "torchscript":
                        model = torch.jit.freeze(torch.jit.trace(model, (xt,)))
                    res["prepare_s"] = time.perf_counter() - t0

                    def fn():
                        return model(xt)
                    y = fn().numpy()
                    res["ms"], res["n"] = time_fn(fn)
            elif peer == "ort":
                so = ort.SessionOptions()
                so.intra_op_num_threads = threads
                so.inter_op_num_threads = 1
                so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                sess = ort.InferenceSession(path, so,
                                            providers=["CPUExecutionProvider"])
                res["prepare_s"] = time.perf_counter() - t0

                def fn():
                    return sess.run(None, {"x": x})
                y = fn()[0]
                res["ms"], res["n"] = time_fn(fn)
            elif peer == "tvm":
                mod = from_onnx(onnx.load(path), keep_params_in_input=False)
                ex = tvm.compile(mod, target=TVM_TARGET)
                vm = relax.VirtualMachine(ex, tvm.cpu())
                res["prepare_s"] = time.perf_counter() - t0
                xt = (tvm.runtime.tensor(x) if hasattr(tvm.runtime, "tensor")
                      else tvm.nd.array(x))
                main = vm["main"]

                def fn():
                    return main(xt)
                out = fn()
                y = out.numpy() if hasattr(out, "numpy") else out[0].numpy()
                res["ms"], res["n"] = time_fn(fn)
            if save_dir:
                np.save(os.path.join(save_dir, "%s.%s.npy" % (stem, peer)), y)
        except Exception as e:  # noqa: BLE001  (recorded in the table)
            msg = "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0]
                              if str(e).strip() else "")
            res["error"] = "failed: " + msg[:160]
        print("RESULT " + json.dumps(res), flush=True)


# --------------------------------------------------------------------------
# Driver.

def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def ensure_models(stems):
    for stem, name, batch, _ in MODELS:
        if stem not in stems:
            continue
        if all(os.path.exists(os.path.join(MODELS_DIR, stem + ext))
               for ext in (".onnx", ".input.npy", ".ref.npy")):
            continue
        cmd = ["/usr/bin/python3", os.path.join(ROOT, "scripts", "make_models.py"),
               MODELS_DIR]
        if batch != 1:
            cmd += ["--batch", str(batch)]
        subprocess.run(cmd + [name], check=True)


def tessera_bench(tessera, stems, tmp, reuse=False):
    """{(stem, threads): {...}}: compile once (reuse: the artifacts of an
    earlier call), run at each thread count."""
    res = {}
    for stem in stems:
        onnx_path = os.path.join(MODELS_DIR, stem + ".onnx")
        so = os.path.join(tmp, stem + ".so")
        t0 = time.perf_counter()
        if reuse and os.path.exists(so):
            out = subprocess.CompletedProcess([], 0, "", "")
        else:
            out = subprocess.run([tessera, "compile", onnx_path, "-o", so],
                                 capture_output=True, text=True)
        compile_s = time.perf_counter() - t0
        if out.returncode != 0:
            err = (out.stderr.strip().splitlines() or ["exit %d" % out.returncode])
            for t in THREADS:
                res[(stem, t)] = {"error": "compile failed: " + err[-1][:160]}
            continue
        inp = "x=" + os.path.join(MODELS_DIR, stem + ".input.npy")
        for t in THREADS:
            outdir = os.path.join(tmp, "%s.t%d" % (stem, t))
            r = {"compile_s": compile_s}

            def run(n):
                o = subprocess.run([tessera, "run", so, "--input", inp,
                                    "--repeat", str(n), "--output-dir", outdir],
                                   capture_output=True, text=True,
                                   env=thread_env(t))
                if o.returncode != 0:
                    raise RuntimeError((o.stderr.strip().splitlines() or
                                        ["exit %d" % o.returncode])[-1][:160])
                return float(re.search(r"median_ms=([0-9.]+)", o.stdout).group(1))
            try:
                one = run(1)                  # warm-up and estimate
                if one < 50:
                    one = run(5)
                r["n"] = n_runs(one)
                r["ms"] = run(r["n"])
                r["out"] = os.path.join(outdir, "output_0.npy")
            except (RuntimeError, AttributeError) as e:
                r["error"] = "run failed: %s" % e
            res[(stem, t)] = r
            print("models_bench: tessera %s t=%d %s" % (
                stem, t, "%.4f ms (n=%d)" % (r["ms"], r["n"]) if "ms" in r
                else r["error"]), flush=True)
    return res


def peers_bench(stems, tmp, venv_error, tvm_unavailable, wanted=PEERS):
    res = {}
    for peer in PEERS:
        for t in THREADS:
            if peer not in wanted:
                for s in stems:
                    res[(s, peer, t)] = {"error": "skipped"}
                continue
            if venv_error or (peer == "tvm" and tvm_unavailable):
                why = venv_error or tvm_unavailable
                for s in stems:
                    res[(s, peer, t)] = {"error": "unavailable: " + why}
                continue
            save = tmp if (peer == "eager" and t == 1) else ""
            cmd = [VENV_PY, os.path.abspath(__file__), "--worker", peer, str(t),
                   save or "-"] + list(stems)
            try:
                o = subprocess.run(cmd, capture_output=True, text=True,
                                   env=thread_env(t), timeout=PEER_TIMEOUT_S)
                stdout, rc, err = o.stdout, o.returncode, o.stderr
            except subprocess.TimeoutExpired as e:
                stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
                rc, err = -1, "timed out after %ds" % PEER_TIMEOUT_S
            for line in stdout.splitlines():
                if line.startswith("RESULT "):
                    r = json.loads(line[7:])
                    res[(r["model"], peer, t)] = r
                    print("models_bench: %s %s t=%d %s" % (
                        peer, r["model"], t, "%.4f ms (n=%d)" % (r["ms"], r["n"])
                        if "ms" in r else r["error"]), flush=True)
            for s in stems:
                if (s, peer, t) not in res:
                    last = (err.strip().splitlines() or ["exit %d" % rc])[-1]
                    res[(s, peer, t)] = {"error": "failed: " + last[:160]}
    return res


def setup_venv():
    """(error or None, tvm unavailable reason or None)."""
    o = subprocess.run(["bash", os.path.join(HERE, "peers_venv.sh")],
                       capture_output=True, text=True)
    sys.stdout.write("".join(l + "\n" for l in o.stdout.splitlines()
                             if l.startswith("peers_venv.sh")))
    if o.returncode != 0 or not os.path.exists(VENV_PY):
        last = (o.stderr.strip().splitlines() or ["exit %d" % o.returncode])[-1]
        return "bench/.venv: " + last[:160], None
    marker = os.path.join(HERE, ".venv", "tvm-unavailable.txt")
    if os.path.exists(marker):
        return None, open(marker).read().strip() or "apache-tvm did not install"
    return None, None


def versions():
    code = ("import numpy, torch, onnxruntime\n"
            "try:\n import tvm; t=tvm.__version__\nexcept Exception: t='-'\n"
            "print('torch %s, onnxruntime %s, apache-tvm %s, numpy %s' % "
            "(torch.__version__, onnxruntime.__version__, t, numpy.__version__))")
    o = subprocess.run([VENV_PY, "-c", code], capture_output=True, text=True)
    return o.stdout.strip() or "versions unknown"


def fmt_ms(r):
    return "%.3f" % r["ms"] if r["ms"] >= 1 else "%.4f" % r["ms"]


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        peer, threads, save = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        worker(peer, threads, sys.argv[5:], "" if save == "-" else save)
        return
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    tessera = os.path.abspath(sys.argv[1])
    args = sys.argv[2:]
    record = "--no-record" not in args
    args = [a for a in args if a != "--no-record"]
    wanted = PEERS
    if "--peers" in args:
        i = args.index("--peers")
        if i + 1 >= len(args):
            sys.exit("models_bench.py: --peers needs a list")
        wanted = tuple(args[i + 1].split(","))
        for p in wanted:
            if p not in PEERS:
                sys.exit("models_bench.py: unknown peer '%s'" % p)
        if "eager" not in wanted:
            wanted = wanted + ("eager",)  # the reference output
        del args[i:i + 2]
    rounds = 1
    if "--rounds" in args:
        i = args.index("--rounds")
        if i + 1 >= len(args) or not args[i + 1].isdigit() or int(args[i + 1]) < 1:
            sys.exit("models_bench.py: --rounds needs a positive count")
        rounds = int(args[i + 1])
        del args[i:i + 2]
    stems = args or [m[0] for m in MODELS]
    for s in stems:
        if s not in [m[0] for m in MODELS]:
            sys.exit("models_bench.py: unknown model '%s'" % s)
    start = time.time()
    load_start = loadavg()
    venv_error, tvm_unavailable = setup_venv()
    ensure_models(stems)
    tmp = tempfile.mkdtemp(prefix="tessera_models_")
    tess = tessera_bench(tessera, stems, tmp)
    peers = peers_bench(stems, tmp, venv_error, tvm_unavailable, wanted)
    if rounds > 1 and "ort" in wanted:
        seen = {k: [v["ms"]] for k, v in tess.items() if "ms" in v}
        seen_ort = {k: [v["ms"]] for k, v in peers.items() if k[1] == "ort" and "ms" in v}
        for _ in range(rounds - 1):
            for k, v in tessera_bench(tessera, stems, tmp, reuse=True).items():
                if k in seen and "ms" in v:
                    seen[k].append(v["ms"])
            for k, v in peers_bench(stems, tmp, venv_error, tvm_unavailable,
                                    ("ort",)).items():
                if k in seen_ort and "ms" in v:
                    seen_ort[k].append(v["ms"])
        for k, xs in seen.items():
            tess[k]["ms"] = median(xs)
        for k, xs in seen_ort.items():
            peers[k]["ms"] = median(xs)
    load_end = loadavg()

    import numpy as np
    notes = []
    head = ("| model | thr | Tessera ms (N) | " +
            " | ".join("%s ms" % PEER_LABEL[p] for p in PEERS) + " | " +
            " | ".join("%s/T" % PEER_LABEL[p] for p in PEERS) +
            " | max abs diff vs PyTorch |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for stem in stems:
        label = next(m[3] for m in MODELS if m[0] == stem)
        ref_path = os.path.join(tmp, stem + ".eager.npy")
        if not os.path.exists(ref_path):   # eager failed: make_models' output
            ref_path = os.path.join(MODELS_DIR, stem + ".ref.npy")
        for t in THREADS:
            tr = tess[(stem, t)]
            cells = ["%s" % label, str(t)]
            cells.append("%s (%d)" % (fmt_ms(tr), tr["n"]) if "ms" in tr
                         else tr["error"])
            ratios = []
            for p in PEERS:
                pr = peers[(stem, p, t)]
                if "ms" in pr:
                    cells.append(fmt_ms(pr) + ("" if pr["n"] >= WANT_RUNS
                                               else " (N=%d)" % pr["n"]))
                    ratios.append("%.3g" % (pr["ms"] / tr["ms"]) if "ms" in tr
                                  else "-")
                else:
                    cells.append(pr["error"])
                    ratios.append("-")
            cells += ratios
            if "out" in tr:
                y = np.load(tr["out"])
                ref = np.load(ref_path)
                if y.shape == ref.shape:
                    d = float(np.max(np.abs(y.astype(np.float64) - ref)))
                    cells.append("%.2e (ref max %.3g)" % (d, float(np.max(np.abs(ref)))))
                else:
                    cells.append("shape %s vs %s" % (y.shape, ref.shape))
            else:
                cells.append("-")
            lines.append("| " + " | ".join(cells) + " |")
    compile_cells = []
    for stem in stems:
        tr = tess[(stem, THREADS[0])]
        if "compile_s" in tr:
            compile_cells.append("%s %.1f s" % (stem, tr["compile_s"]))
    tvm_prep = ["%s %.1f s" % (s, peers[(s, "tvm", 1)]["prepare_s"])
                for s in stems if "prepare_s" in peers[(s, "tvm", 1)]]
    elapsed = time.time() - start
    table = "\n".join(lines)
    print()
    print(table)
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    text = (
        "\n\n## ONNX models vs peers, %s, %s (load average %s at the start, "
        "%s at the end)\n\n"
        "`bench/models_bench.py` (%.0f s in all): medians in ms of N runs "
        "after one warm-up (N >= 20 unless marked; slow runs get fewer so "
        "that one measurement stays within ~%.0f s).  Ratios are peer ms / "
        "Tessera ms: > 1 means Tessera is faster.  The machine is shared "
        "with other jobs: the load average above says how busy it was; "
        "compare rows of this run only.  Peers: %s; PyTorch eager and "
        "TorchScript (trace + freeze) with torch.set_num_threads and "
        "OPENBLAS_NUM_THREADS/OMP_NUM_THREADS pinned; ORT with "
        "intra_op_num_threads, default graph optimizations; TVM = relax "
        "`from_onnx` + `tvm.compile(target=\"%s\")` (default pipeline, no "
        "tuning), TVM_NUM_THREADS.  Tessera = `tessera compile` (default "
        "pipeline, target cpu -mcpu=native) + `tessera run --repeat N` "
        "(its median includes the first run of the process).%s  Max abs diff: "
        "Tessera's output vs PyTorch eager's (same input, same run).\n\n"
        "%s\n\nTessera compile times: %s.  TVM import+build times: %s.\n"
        % (now, cpu_name(), load_start, load_end, elapsed, BUDGET_S,
           versions(), TVM_TARGET,
           "  Tessera and ORT: medians of %d alternating rounds (each round's "
           "median, N runs)." % rounds if rounds > 1 else "", table, ", ".join(compile_cells) or "-",
           ", ".join(tvm_prep) or "-"))
    if not record:
        print("\nmodels_bench: not recorded (%.0f s)" % elapsed)
        return
    with open(os.path.join(HERE, "RESULTS.md"), "a") as f:
        f.write(text)
    print("\nmodels_bench: appended to bench/RESULTS.md (%.0f s)" % elapsed)


if __name__ == "__main__":
    main()
