#!/usr/bin/env python3
"""run_conformance.py: ONNX backend node tests through `tessera compile` and
`tessera run`.

The node tests ship inside the `onnx` wheel (onnx/backend/test/data/node/
<test>/model.onnx with test_data_set_0/{input,output}_<i>.pb); run this with
the test venv's python (scripts/venv.sh makes .venv-test, which sees
Debian's numpy).  Each test is compiled, run on its inputs (TensorProtos
converted to .npy) and its outputs compared with rtol = atol = 1e-4.  Prints
PASS / FAIL / UNSUPPORTED per test and the summary line
"N passed, M failed, K unsupported".

  run_conformance.py TESSERA [--all] [--filter SUBSTR] [--jobs N]
                     [--work DIR] [--check EXPECTED] [--write-expected FILE]
                     [--coverage FILE.md]

Without --all only the tests whose every op type has a converter in
src/frontend/onnx/onnx_ops.c are run (the "supported set").  --check: every
test listed in EXPECTED must pass (exit 1 otherwise); a test that passes
but is not listed is reported as a new pass (not an error).  --coverage
writes the per-operator table (docs/onnx-coverage.md).
"""
import argparse
import concurrent.futures as cf
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError as e:  # fail loudly: the test must not skip silently
    sys.exit(f"run_conformance.py: cannot import onnx/numpy ({e}); "
             "run scripts/venv.sh and use .venv-test/bin/python")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RTOL = ATOL = 1e-4
KEYWORDS = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break",
    "class", "continue", "def", "del", "elif", "else", "except", "finally",
    "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
    "R", "T", "I", "tvm", "cls", "metadata"}


def sanitize(name):
    """The importer's identifier for an ONNX name (onnx_import.c)."""
    s = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not name or name[0].isdigit():
        s = "v" + s
    if s in KEYWORDS:
        s += "_"
    return s


def supported_ops():
    src = os.path.join(ROOT, "src", "frontend", "onnx", "onnx_ops.c")
    with open(src) as f:
        return set(re.findall(r'\{"([A-Za-z0-9]+)", cv_[a-z0-9_]+\}', f.read()))


def snake(op):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", op).lower()


def primary_op(test, ops):
    """The operator a test is about: its single node's op, else the op whose
    snake_case name the test name starts with (longest)."""
    if len(set(ops)) == 1:
        return ops[0]
    name = test[len("test_"):]
    best = None
    for op in set(ops):
        s = snake(op)
        if name.startswith(s) and (best is None or len(s) > len(snake(best))):
            best = op
    return best or "(composite)"


def node_tests_dir():
    return os.path.join(os.path.dirname(onnx.__file__), "backend", "test",
                        "data", "node")


def load_test(d):
    model = onnx.load(os.path.join(d, "model.onnx"))
    ops = [n.op_type for n in model.graph.node]
    domains = {n.domain for n in model.graph.node} - {"", "ai.onnx"}
    return model, ops, domains


def read_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def test_inputs(model, ds):
    """(index, name, array) of the model's non-initializer inputs."""
    inits = {i.name for i in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in inits]
    out = []
    for i, name in enumerate(inputs):
        pb = os.path.join(ds, f"input_{i}.pb")
        if os.path.exists(pb):
            out.append((i, name, read_pb(pb)))
    return out


def freeze_inputs(model, feeds, attempt):
    """(model, names): the model with inputs turned into initializers holding
    the test data (an input that is also an initializer is not a parameter
    of the imported function): attempt 1 the int32/int64 and 0-d inputs,
    attempt 2 every input but the first."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {i.name for i in m.graph.initializer}
    names = set()
    for k, (_, name, arr) in enumerate(feeds):
        if name in have:
            continue
        if ((attempt == 1 and (arr.dtype in (np.int64, np.int32) or arr.ndim == 0))
                or (attempt == 2 and k > 0)):
            m.graph.initializer.append(numpy_helper.from_array(arr, name))
            names.add(name)
    return m, names


def compare(got, want):
    if got.shape != want.shape:
        return f"shape {got.shape} != expected {want.shape}"
    if want.dtype == np.bool_ or got.dtype == np.bool_:
        ok = np.array_equal(got.astype(np.bool_), want.astype(np.bool_))
        return None if ok else "boolean values differ"
    g = got.astype(np.float64)
    w = want.astype(np.float64)
    if not np.allclose(g, w, rtol=RTOL, atol=ATOL, equal_nan=True):
        with np.errstate(invalid="ignore"):
            diff = np.nanmax(np.abs(g - w)) if g.size else 0
        return f"values differ (max abs diff {diff:.3g})"
    return None


def run_test(tessera, test, d, work):
    """(status, detail) with status PASS / FAIL / UNSUPPORTED."""
    tdir = os.path.join(work, test)
    os.makedirs(tdir, exist_ok=True)
    try:
        model, _, _ = load_test(d)
        so = os.path.join(tdir, "model.so")
        ds = os.path.join(d, "test_data_set_0")
        model_path = os.path.join(d, "model.onnx")
        p = subprocess.run([tessera, "compile", model_path, "-o", so],
                           capture_output=True, text=True, timeout=300)
        feeds, frozen = None, set()
        # The node tests feed shape-like operands (axes, starts, pads,
        # repeats, scales) as graph inputs; the importer needs them constant.
        # Freeze them into initializers holding the test data (as TVM's test
        # harness binds params) and compile again: first the integer and
        # scalar inputs, then every input but the first.
        for attempt in (1, 2):
            if p.returncode == 0 or "not known at import time" not in p.stderr:
                break
            if feeds is None:
                feeds = test_inputs(model, ds)
            model, names = freeze_inputs(model, feeds, attempt)
            frozen |= names
            model_path = os.path.join(tdir, "frozen.onnx")
            onnx.save(model, model_path)
            p = subprocess.run([tessera, "compile", model_path, "-o", so],
                               capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            msg = (p.stderr.strip().splitlines()
                   or [f"(no message, exit status {p.returncode})"])[0]
            low = p.stderr.lower()
            if "unsupported" in low or "not supported" in low:
                return "UNSUPPORTED", msg
            return "FAIL", "compile: " + msg
        if feeds is None:
            feeds = test_inputs(model, ds)
        args = [tessera, "run", so, "--output-dir", os.path.join(tdir, "out")]
        for i, name, arr in feeds:
            if name in frozen:
                continue
            if arr.dtype == object:
                return "UNSUPPORTED", "string tensors"
            npy = os.path.join(tdir, f"input_{i}.npy")
            np.save(npy, arr)
            args += ["--input", f"{sanitize(name)}={npy}"]
        p = subprocess.run(args, capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            msg = (p.stderr.strip().splitlines()
                   or [f"(no message, exit status {p.returncode})"])[0]
            return "FAIL", "run: " + msg
        n_out = len(model.graph.output)
        for k in range(n_out):
            want = read_pb(os.path.join(ds, f"output_{k}.pb"))
            got_path = os.path.join(tdir, "out", f"output_{k}.npy")
            if not os.path.exists(got_path):
                return "FAIL", f"output_{k}.npy was not written"
            err = compare(np.load(got_path), want)
            if err:
                return "FAIL", f"output {k}: {err}"
        return "PASS", ""
    except subprocess.TimeoutExpired:
        return "FAIL", "timed out"
    except Exception as e:  # a test harness problem is a failure, with why
        return "FAIL", f"harness: {type(e).__name__}: {e}"
    finally:
        shutil.rmtree(tdir, ignore_errors=True)


def write_coverage(path, results, ops_of, onnx_version):
    by_op = {}
    for test, (status, _) in results.items():
        by_op.setdefault(ops_of[test], []).append((test, status))
    total = {s: sum(1 for r in results.values() if r[0] == s)
             for s in ("PASS", "FAIL", "UNSUPPORTED")}
    lines = [
        "# ONNX operator coverage",
        "",
        "Generated by `tests/onnx/run_conformance.py --all --coverage "
        "docs/onnx-coverage.md` from the ONNX backend node tests shipped in "
        f"onnx {onnx_version} (do not edit by hand).  A test passes when "
        "`tessera compile` + `tessera run` reproduce its outputs within "
        f"rtol = atol = {RTOL:g}.",
        "",
        f"Totals: {total['PASS']} passed, {total['FAIL']} failed, "
        f"{total['UNSUPPORTED']} unsupported, of {len(results)} tests.",
        "",
        "| operator | passed | failed | unsupported | failing / unsupported tests |",
        "|---|---|---|---|---|",
    ]
    for op in sorted(by_op):
        rs = by_op[op]
        p = sum(1 for _, s in rs if s == "PASS")
        f = sum(1 for _, s in rs if s == "FAIL")
        u = sum(1 for _, s in rs if s == "UNSUPPORTED")
        bad = [t[len("test_"):] for t, s in sorted(rs) if s != "PASS"]
        shown = ", ".join(bad[:6]) + (f", ... (+{len(bad) - 6})" if len(bad) > 6 else "")
        lines.append(f"| {op} | {p} | {f} | {u} | {shown} |")
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tessera")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--filter", default="")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--work")
    ap.add_argument("--check")
    ap.add_argument("--write-expected")
    ap.add_argument("--coverage")
    ap.add_argument("--sample", type=int, default=1,
                    help="run every Nth test only (slow builds: ASan)")
    ap.add_argument("--quiet", action="store_true",
                    help="print only failures and the summary")
    a = ap.parse_args()
    tessera = os.path.abspath(a.tessera)
    base = node_tests_dir()
    if not os.path.isdir(base):
        sys.exit(f"run_conformance.py: no node tests under {base}")
    supported = supported_ops()
    tests, ops_of = [], {}
    for test in sorted(os.listdir(base)):
        d = os.path.join(base, test)
        if not os.path.exists(os.path.join(d, "model.onnx")):
            continue
        if a.filter and a.filter not in test:
            continue
        _, ops, domains = load_test(d)
        ops_of[test] = primary_op(test, ops) if ops else "(none)"
        if not a.all and (domains or not set(ops) <= supported):
            continue
        tests.append(test)
    sampled = set(tests[::max(1, a.sample)])
    tests = [t for t in tests if t in sampled]
    work = a.work or tempfile.mkdtemp(prefix="tessera_onnx_")
    os.makedirs(work, exist_ok=True)
    t0 = time.time()
    results = {}
    with cf.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        futs = {ex.submit(run_test, tessera, t, os.path.join(base, t), work): t
                for t in tests}
        for fu in cf.as_completed(futs):
            t = futs[fu]
            results[t] = fu.result()
    for t in sorted(results):
        s, detail = results[t]
        if not a.quiet or s == "FAIL":
            print(f"{s:<11} {t}" + (f": {detail}" if detail else ""))
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    n = {s: sum(1 for r in results.values() if r[0] == s)
         for s in ("PASS", "FAIL", "UNSUPPORTED")}
    print(f"{n['PASS']} passed, {n['FAIL']} failed, {n['UNSUPPORTED']} "
          f"unsupported ({time.time() - t0:.0f} s, onnx {onnx.__version__})")
    if a.coverage:
        write_coverage(a.coverage, results, ops_of, onnx.__version__)
    if a.write_expected:
        with open(a.write_expected, "w") as fh:
            fh.write("# ONNX node tests that must pass (tests/onnx/"
                     "run_conformance.py --check); one per line.\n")
            for t in sorted(results):
                if results[t][0] == "PASS":
                    fh.write(t + "\n")
    if a.check:
        with open(a.check) as fh:
            expected = [l.strip() for l in fh
                        if l.strip() and not l.startswith("#")]
        bad = []
        if a.sample > 1:
            expected = [t for t in expected if t in sampled]
        for t in expected:
            if t not in results:
                bad.append(f"{t}: not run (op not in the supported set, or "
                           "test missing from this onnx version)")
            elif results[t][0] != "PASS":
                bad.append(f"{t}: {results[t][0]} {results[t][1]}")
        new = sorted(t for t, r in results.items()
                     if r[0] == "PASS" and t not in expected)
        if new:
            print(f"note: {len(new)} passing tests are not in {a.check}: "
                  + ", ".join(new[:20]) + (" ..." if len(new) > 20 else ""))
        if bad:
            print(f"REGRESSION: {len(bad)} expected-pass tests do not pass:")
            for b in bad:
                print("  " + b)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
