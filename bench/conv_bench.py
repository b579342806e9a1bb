#!/usr/bin/python3
"""Single convolution layers (batch 1, fp32, conv + bias + ReLU): Tessera
against oneDNN's direct convolution and PyTorch, at 1 and 2 threads, in one
run.

Layers: ResNet-18's stem (3x224x224 -> 64, 7x7 s2 p3) and its 3x3 s1 p1
layers at 56/28/14/7, a 3x3 s2 downsample 64x56x56 -> 128, and MobileNetV2's
depthwise 144x56x56 3x3 (groups 144, p1) and pointwise 144x56x56 1x1 -> 24
and 320x7x7 1x1 -> 1280 (its last conv).

  Tessera  nn.Conv2d + nn.ReLU (fixed seed) exported to ONNX (opset 17, as
           scripts/make_models.py does), `tessera compile` (ONNX import +
           default pipeline), then run end to end through the VM
           (ts_artifact_run: artifact loaded once, dispatch and output
           allocation included) by bench/conv_bench.c
  oneDNN   dnnl_convolution_direct, forward_inference, format_tag_any for
           src/weights/dst (the primitive's blocked layouts), bias, ReLU as
           an eltwise post-op; weights and source reordered once outside the
           timing, destination left blocked (bench/conv_bench.c, the same
           process as Tessera)
  PyTorch  Debian's torch: the same nn.Conv2d + ReLU (same weights) under
           torch.no_grad, torch.set_num_threads(T),
           OMP/OPENBLAS/MKL_NUM_THREADS=T, in its own process

Timing: the C harness and the PyTorch worker are started per (layer,
threads) and each warms up for >= 0.2 s, which also sizes its batches (calls
per sample, for >= 2 ms).  Then SAMPLES (default 51) rounds alternate: a
sample of Tessera and one of oneDNN in the harness, then one of PyTorch in
the worker, with CONV_BENCH_SETTLE_MS (20) of sleep before each switch and
one untimed call before each batch.  A sample is the mean of its batch; the
table gives medians (so >= 51 timed runs each).  The machine is shared:
compare rows of one run, and read the load average printed with the table.
Outputs of Tessera and oneDNN are compared with PyTorch's (max abs diff).

The tessera binary and its libtessera_runtime.so are copied at the start
(retrying while they are missing or being rebuilt), so that a rebuild during
the run does not mix versions.

A cell whose median exceeds 1.5 x its fastest sample is marked * (other jobs
disturbed it), and a row at T > 1 threads where oneDNN is > 1.2 x slower
than at 1 thread is marked "(contended)" (other jobs held a core); such a row
is measured once more (not with --no-remeasure); the table gives whichever
of the two measurements has the faster oneDNN median (the canary: all three
libraries' samples of one measurement stay together), the notes the other.

usage: /usr/bin/python3 bench/conv_bench.py TESSERA_BINARY [--threads 1,2]
           [--layers NAME,...] [--samples N] [--record] [--no-remeasure]
  --record  append the table to bench/RESULTS.md (default: print only)
  layers:   stem, c3_64, c3_128, c3_256, c3_512, down_64_128, dw_144, pw_144_24,
            pw_320_1280
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OPSET = 17

# name: (label, C_in, H(=W), C_out, kernel, stride, pad, groups)
LAYERS = [
    ("stem", "ResNet-18 stem 3x224x224->64 7x7 s2", 3, 224, 64, 7, 2, 3, 1),
    ("c3_64", "3x3 64x56x56->64", 64, 56, 64, 3, 1, 1, 1),
    ("c3_128", "3x3 128x28x28->128", 128, 28, 128, 3, 1, 1, 1),
    ("c3_256", "3x3 256x14x14->256", 256, 14, 256, 3, 1, 1, 1),
    ("c3_512", "3x3 512x7x7->512", 512, 7, 512, 3, 1, 1, 1),
    ("down_64_128", "3x3 s2 64x56x56->128", 64, 56, 128, 3, 2, 1, 1),
    ("dw_144", "depthwise 3x3 144x56x56", 144, 56, 144, 3, 1, 1, 144),
    ("pw_144_24", "pointwise 1x1 144x56x56->24", 144, 56, 24, 1, 1, 0, 1),
    ("pw_320_1280", "pointwise 1x1 320x7x7->1280", 320, 7, 1280, 1, 1, 0, 1),
]
LAYER = {l[0]: l for l in LAYERS}
WARMUP_S, BATCH_S = 0.2, 2e-3
DIFF_TOL = 1e-4   # max abs diff allowed, relative to the largest output
SETTLE_S = float(os.environ.get("CONV_BENCH_SETTLE_MS", "20")) / 1e3


def thread_env(threads):
    t = str(threads)
    return dict(os.environ, TESSERA_NUM_THREADS=t, OMP_NUM_THREADS=t,
                OPENBLAS_NUM_THREADS=t, MKL_NUM_THREADS=t)


def out_hw(h, k, s, p):
    return (h + 2 * p - k) // s + 1


def gflop(name):
    _, _, c, h, o, k, s, p, g = LAYER[name]
    oh = out_hw(h, k, s, p)
    return 2.0 * o * oh * oh * (c // g) * k * k / 1e9


def make_module(name, seed=0):
    import torch
    import torch.nn as nn
    _, _, c, h, o, k, s, p, g = LAYER[name]
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(c, o, k, stride=s, padding=p, groups=g,
                                   bias=True), nn.ReLU()).eval()


# --------------------------------------------------------------------------
# PyTorch worker: `conv_bench.py --worker LAYER_DIR THREADS`, started with the
# thread environment in place before torch loads.  Rebuilds the module from
# the exported weights, warms up (sizing its batches), prints "ready {json}",
# then one "sample <s per call>" per "s" line on stdin, like the C harness.

def worker(layer_dir, threads):
    import numpy as np
    import torch
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    meta = json.load(open(os.path.join(layer_dir, "meta.json")))
    model = make_module(meta["name"])
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(np.load(os.path.join(layer_dir, "w.npy"))))
        model[0].bias.copy_(torch.from_numpy(np.load(os.path.join(layer_dir, "b.npy"))))
    x = torch.from_numpy(np.load(os.path.join(layer_dir, "x.npy")))
    ref = np.load(os.path.join(layer_dir, "ref.npy"))
    with torch.no_grad():
        y = model(x).numpy()
        n, t0 = 0, time.perf_counter()
        while True:
            model(x)
            n += 1
            el = time.perf_counter() - t0
            if el >= WARMUP_S and n >= 3:
                break
        per = el / n
        inner = 1 if per >= BATCH_S else int(BATCH_S / per) + 1
        print("ready " + json.dumps({
            "inner": inner, "threads": torch.get_num_threads(),
            "diff_vs_driver": float(np.max(np.abs(y - ref)))}), flush=True)
        for line in sys.stdin:
            if not line.startswith("s"):
                break
            model(x)                           # untimed, as in the harness
            t0 = time.perf_counter()
            for _ in range(inner):
                model(x)
            print("sample %.9f" % ((time.perf_counter() - t0) / inner), flush=True)


# --------------------------------------------------------------------------
# Driver.

def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def loadavg():
    return "%.2f %.2f %.2f" % os.getloadavg()


def snapshot_tessera(tessera, dest, tries=40, wait_s=3.0):
    """Copies TESSERA and libtessera_runtime.so next to it into dest; retries
    while they are missing, changing or do not run."""
    src_dir = os.path.dirname(tessera)
    lib = os.path.join(src_dir, "libtessera_runtime.so")
    os.makedirs(dest, exist_ok=True)
    last = ""
    for i in range(tries):
        try:
            before = (os.stat(tessera).st_mtime_ns, os.stat(lib).st_mtime_ns)
            if time.time() - max(before) / 1e9 < 2.0:
                raise OSError("just modified")
            shutil.copy2(tessera, os.path.join(dest, "tessera"))
            shutil.copy2(lib, os.path.join(dest, "libtessera_runtime.so"))
            after = (os.stat(tessera).st_mtime_ns, os.stat(lib).st_mtime_ns)
            if before != after:
                raise OSError("changed while copying")
            o = subprocess.run([os.path.join(dest, "tessera"), "--version"],
                               capture_output=True, text=True,
                               env=dict(os.environ, LD_LIBRARY_PATH=dest))
            if o.returncode != 0:
                raise OSError("--version failed: " + o.stderr.strip()[-200:])
            return o.stdout.strip()
        except OSError as e:
            last = str(e)
            print("conv_bench: waiting for %s (%s), try %d" % (tessera, last, i + 1),
                  flush=True)
            time.sleep(wait_s)
    sys.exit("conv_bench: no usable %s: %s" % (tessera, last))


def source_state(tessera):
    """'<commit>[ + uncommitted changes]' of the checkout holding the binary's
    build folder, or 'unknown'."""
    repo = os.path.dirname(os.path.dirname(tessera))
    o = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    if o.returncode != 0:
        return "unknown"
    d = subprocess.run(["git", "-C", repo, "status", "--porcelain",
                        "--untracked-files=no"], capture_output=True, text=True)
    return "%s at %s%s" % (repo, o.stdout.strip(),
                           " + uncommitted changes" if d.stdout.strip() else "")


def export_layer(name, layer_dir):
    import numpy as np
    import torch
    os.makedirs(layer_dir, exist_ok=True)
    _, _, c, h, *_ = LAYER[name]
    model = make_module(name)
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(1, c, h, h, generator=gen) * 2 - 1
    path = os.path.join(layer_dir, "conv.onnx")
    with torch.no_grad():
        torch.onnx.export(model, (x,), path, input_names=["x"],
                          output_names=["y"], opset_version=OPSET,
                          do_constant_folding=True)
        ref = model(x).numpy()
    np.save(os.path.join(layer_dir, "x.npy"), x.numpy())
    np.save(os.path.join(layer_dir, "w.npy"), model[0].weight.detach().numpy())
    np.save(os.path.join(layer_dir, "b.npy"), model[0].bias.detach().numpy())
    np.save(os.path.join(layer_dir, "ref.npy"), ref)
    with open(os.path.join(layer_dir, "meta.json"), "w") as f:
        json.dump({"name": name}, f)
    return path


def last_line(s, rc):
    return (s.strip().splitlines() or ["exit %d" % rc])[-1][:200]


class Server:
    """A process that prints "ready ..." after its warm-up and then one
    "sample ..." line per "s" it is sent (bench/conv_bench.c, worker())."""

    def __init__(self, what, cmd, env):
        self.what = what
        self.err = tempfile.TemporaryFile(mode="w+")
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.err, text=True, env=env)
        self.ready = self._line("ready ")[6:].strip()

    def _line(self, prefix):
        line = self.p.stdout.readline()
        if not line.startswith(prefix):
            self.p.kill()
            self.p.wait()
            self.err.seek(0)
            raise RuntimeError("%s: %s" % (self.what, last_line(self.err.read(),
                                                               self.p.returncode)))
        return line

    def sample(self):
        self.p.stdin.write("s\n")
        self.p.stdin.flush()
        return [float(v) for v in self._line("sample ").split()[1:]]

    def close(self):
        try:
            self.p.stdin.write("q\n")
            self.p.stdin.close()
        except OSError:
            pass
        self.p.wait()
        self.err.close()


def start_harness(harness, so, layer_dir, name, threads, out_dir):
    _, _, c, h, o, k, s, p, g = LAYER[name]
    os.makedirs(out_dir, exist_ok=True)
    cmd = [harness, so] + [os.path.join(layer_dir, f) for f in ("x.npy", "w.npy", "b.npy")] + \
        [str(s), str(p), str(g), out_dir]
    srv = Server("conv_bench harness", cmd, thread_env(threads))
    # <tess batch> <dnn batch> threads <n> libcalls <k> onednn_impl <impl>
    f = srv.ready.split()
    srv.info = {"threads": int(f[3]), "libcalls": int(f[5]),
                "impl": " ".join(f[7:]) or "?"}
    return srv


def start_torch(layer_dir, threads):
    srv = Server("pytorch worker", [sys.executable, os.path.abspath(__file__),
                                    "--worker", layer_dir, str(threads)],
                 thread_env(threads))
    srv.info = json.loads(srv.ready)
    return srv


def summary(xs):
    xs = sorted(xs)
    return {"ms": xs[len(xs) // 2] * 1e3, "min_ms": xs[0] * 1e3, "n": len(xs)}


def measure(harness, so, layer_dir, name, threads, samples_n, out_dir, row):
    """Fills row with tessera/onednn/torch medians: samples of the C harness
    (Tessera, oneDNN) and of the PyTorch worker alternate, with SETTLE_S of
    sleep before each switch (so that one process's spinning OpenMP threads
    do not eat into the other's sample)."""
    servers = []
    try:
        if so:
            try:
                servers.append(start_harness(harness, so, layer_dir, name, threads, out_dir))
            except RuntimeError as e:
                row["errors"].append(str(e))
        try:
            servers.append(start_torch(layer_dir, threads))
        except RuntimeError as e:
            row["errors"].append(str(e))
        got = [[] for _ in servers]
        for _ in range(samples_n):
            for i, srv in enumerate(servers):
                if len(servers) > 1:
                    time.sleep(SETTLE_S)
                got[i].append(srv.sample())
        for srv, g in zip(servers, got):
            if srv.what.startswith("conv_bench"):
                row["tessera"] = summary([v[0] for v in g])
                row["onednn"] = summary([v[1] for v in g])
                row.update(srv.info)
            else:
                row["torch"] = summary([v[0] for v in g])
                row["torch_threads"] = srv.info["threads"]
    except RuntimeError as e:
        row["errors"].append(str(e))
    finally:
        for srv in servers:
            srv.close()


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("tessera")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--layers", default=",".join(l[0] for l in LAYERS))
    ap.add_argument("--samples", type=int, default=51)
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--no-remeasure", dest="remeasure", action="store_false")
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",") if t]
    layers = [n for n in a.layers.split(",") if n]
    for n in layers:
        if n not in LAYER:
            sys.exit("conv_bench: unknown layer '%s' (known: %s)" %
                     (n, ", ".join(LAYER)))
    if a.samples < 1 or a.samples > 1001:
        sys.exit("conv_bench: --samples must be in [1, 1001]")
    tessera_arg = os.path.abspath(a.tessera)

    os.environ.setdefault("OMP_NUM_THREADS", "1")   # for the exports here
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import numpy as np
    import torch
    torch.set_num_threads(1)

    start = time.time()
    load_start = loadavg()
    tmp = tempfile.mkdtemp(prefix="tessera_conv_")
    snap = os.path.join(tmp, "tessera_bin")
    version = snapshot_tessera(tessera_arg, snap)
    version += ", built from " + source_state(tessera_arg)
    tessera = os.path.join(snap, "tessera")
    tess_env = dict(os.environ, LD_LIBRARY_PATH=snap)
    harness = os.path.join(tmp, "conv_bench")
    subprocess.run(["cc", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror",
                    "-I", os.path.join(ROOT, "include"),
                    os.path.join(HERE, "conv_bench.c"), "-o", harness,
                    "-L" + snap, "-ltessera_runtime", "-Wl,-rpath," + snap,
                    "-ldnnl", "-lm"], check=True)
    print("conv_bench: %s (%s, copied to %s), %s, load average %s" %
          (tessera_arg, version, snap, cpu_name(), load_start), flush=True)

    rows = []
    compile_s = {}
    for name in layers:
        layer_dir = os.path.join(tmp, name)
        onnx_path = export_layer(name, layer_dir)
        ref = np.load(os.path.join(layer_dir, "ref.npy"))
        so = os.path.join(layer_dir, "conv.so")
        t0 = time.perf_counter()
        o = subprocess.run([tessera, "compile", onnx_path, "-o", so],
                           capture_output=True, text=True, env=tess_env)
        compile_s[name] = time.perf_counter() - t0
        compile_err = None if o.returncode == 0 else \
            "compile failed: " + last_line(o.stderr, o.returncode)
        one_thread = None   # oneDNN's 1-thread median for this layer
        for t in threads:
            row = {"name": name, "threads": t, "errors": []}
            if compile_err:
                row["errors"].append(compile_err)
            out_dir = os.path.join(layer_dir, "out.t%d" % t)
            measure(harness, None if compile_err else so, layer_dir, name, t,
                    a.samples, out_dir, row)
            check_contended(row, one_thread)
            if (noisy(row) or row["contended"]) and not row["errors"] and a.remeasure:
                print(fmt_progress(row) + "  (disturbed: measuring again)", flush=True)
                again = {"name": name, "threads": t, "errors": []}
                measure(harness, so, layer_dir, name, t, a.samples, out_dir, again)
                check_contended(again, one_thread)
                # keep the whole measurement whose oneDNN (the canary) was faster
                if not again["errors"] and "onednn" in again and \
                        again["onednn"]["ms"] < row["onednn"]["ms"]:
                    row, other = again, row
                else:
                    other = again
                row["other"] = {lib: other[lib]["ms"] for lib in LIBS if lib in other}
            if t == 1 and "onednn" in row:
                one_thread = row["onednn"]["ms"]
            for lib in ("tessera", "onednn"):
                if lib in row:
                    y = np.load(os.path.join(out_dir, lib + ".npy"))
                    d = (float(np.max(np.abs(y - ref))) if y.shape == ref.shape
                         else None)
                    row[lib]["diff"] = d
                    if d is None or d > DIFF_TOL * max(1.0, float(np.max(np.abs(ref)))):
                        row["errors"].append("%s output differs from PyTorch's: %s" % (
                            lib, "shape %s vs %s" % (y.shape, ref.shape) if d is None
                            else "max abs diff %.3g" % d))
            for key in ("threads", "torch_threads"):
                if key in row and row[key] != t:
                    row["errors"].append("%s ran with %d threads, not %d" % (
                        "PyTorch" if key == "torch_threads" else "Tessera", row[key], t))
            row["load"] = os.getloadavg()[0]
            rows.append(row)
            print(fmt_progress(row), flush=True)
    load_end = loadavg()
    table = make_table(rows)
    impls = sorted({"%s: %s" % (r["name"], r["impl"]) for r in rows if "impl" in r
                    and r["threads"] == threads[0]})
    elapsed = time.time() - start
    notes = ("load average %s at the start, %s at the end (os.getloadavg; "
             "the load column: 1-minute load after each row); "
             "%.0f s in all.  oneDNN implementations: %s.  Tessera compile "
             "times: %s." % (load_start, load_end, elapsed, "; ".join(impls),
                             ", ".join("%s %.1f s" % (n, compile_s[n]) for n in layers)))
    again = ["%s t=%d (other medians %s)" % (r["name"], r["threads"], ", ".join(
        "%s %.3f" % (lib, r["other"][lib]) for lib in LIBS if lib in r["other"]))
        for r in rows if "other" in r]
    notes += ("  * = median > %.1f x min (samples disturbed by other jobs); "
              "(contended): oneDNN at T threads > %.1f x its 1-thread median "
              "(other jobs held a core).  Rows with either mark were measured "
              "once more and the table gives the measurement with the faster "
              "oneDNN median (the canary), the other one here: %s."
              % (NOISY, CONTENDED, "; ".join(again) or "none"))
    libs = sorted({r["name"] for r in rows if r.get("libcalls")})
    notes += ("  Tessera artifacts calling library functions (env.*) instead "
              "of their own kernels: %s." % (", ".join(libs) or "none"))
    errs = ["%s t=%d: %s" % (r["name"], r["threads"], e) for r in rows for e in r["errors"]]
    print()
    print(table)
    print()
    print(notes)
    for e in errs:
        print("FAILED " + e)
    if a.record:
        now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        text = (
            "\n\n## Convolution layers vs oneDNN and PyTorch, %s, %s "
            "(load average %s at the start, %s at the end)\n\n"
            "`bench/conv_bench.py %s` (%s, torch %s, oneDNN 2.6 direct): batch "
            "1 fp32 conv + bias + ReLU; medians in ms of %d samples (each the "
            "mean of a batch of >= 2 ms, after one untimed call) after >= 0.2 s "
            "of warm-up; Tessera's, oneDNN's and PyTorch's samples alternate.  Tessera = "
            "ONNX export, `tessera compile` (default pipeline), run end to end "
            "through the VM (ts_artifact_run); oneDNN = direct convolution, "
            "format_tag_any blocked layouts, ReLU post-op, reorders outside "
            "the timing, in the same process as Tessera; PyTorch = nn.Conv2d "
            "+ ReLU under no_grad, set_num_threads(T), its own process.  Ratios are peer ms / Tessera ms: > 1 means Tessera "
            "is faster.  Max abs diff: vs PyTorch's output.  The machine is "
            "shared: compare rows of one run only.\n\n%s\n\n%s\n%s"
            % (now, cpu_name(), load_start, load_end, tessera_arg, version,
               torch.__version__, a.samples, table, notes,
               "".join("\nFailed: %s\n" % e for e in errs)))
        with open(os.path.join(HERE, "RESULTS.md"), "a") as f:
            f.write(text)
        print("conv_bench: appended to bench/RESULTS.md")
    shutil.rmtree(tmp, ignore_errors=True)
    if errs:
        sys.exit(1)


LIBS = ("tessera", "onednn", "torch")
NOISY = 1.5   # median / min above this: the samples were disturbed
CONTENDED = 1.2  # oneDNN at T > 1 threads slower than this x its 1-thread time


def is_noisy(d):
    return d["ms"] > NOISY * d["min_ms"]


def noisy(row):
    return any(is_noisy(row[lib]) for lib in LIBS if lib in row)


def check_contended(row, one_thread):
    """oneDNN as the canary: at T > 1 threads it should not be slower than at
    one; when it is (by > CONTENDED), other jobs held a core."""
    row["contended"] = bool(row["threads"] > 1 and one_thread and "onednn" in row
                            and row["onednn"]["ms"] > CONTENDED * one_thread)


def fmt_ms(d):
    s = "%.3f" % d["ms"] if d["ms"] >= 1 else "%.4f" % d["ms"]
    return s + "*" if is_noisy(d) else s


def fmt_progress(r):
    parts = ["conv_bench: %-11s t=%d" % (r["name"], r["threads"])]
    for lib in ("tessera", "onednn", "torch"):
        if lib in r:
            parts.append("%s %s ms" % (lib, fmt_ms(r[lib])))
    if "tessera" in r and r["tessera"].get("diff") is not None:
        parts.append("diff %.2e" % r["tessera"]["diff"])
    parts += r["errors"]
    return "  ".join(parts)


def make_table(rows):
    head = ("| layer | thr | GFLOP | Tessera ms | oneDNN ms | PyTorch ms | "
            "oneDNN/T | PyTorch/T | Tessera GFLOP/s | max abs diff Tessera | "
            "max abs diff oneDNN | load |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        g = gflop(r["name"])
        t, d, p = r.get("tessera"), r.get("onednn"), r.get("torch")
        cells = [LAYER[r["name"]][1], "%d%s" % (r["threads"], " (contended)" if
                                               r.get("contended") else ""), "%.3f" % g]
        cells += [fmt_ms(x) if x else "-" for x in (t, d, p)]
        cells += ["%.2f" % (x["ms"] / t["ms"]) if (x and t) else "-" for x in (d, p)]
        cells.append("%.1f" % (g / t["ms"] * 1e3) if t else "-")
        for x in (t, d):
            cells.append("%.2e" % x["diff"] if x and x.get("diff") is not None else "-")
        cells.append("%.2f" % r["load"])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
