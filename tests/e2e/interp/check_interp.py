#!/usr/bin/python3
"""check_interp.py TESSERA [CASES_FILE] [-k SUBSTRING]

Numerical tests of Tessera's reference interpreter against NumPy.

For each line `FILE FUNC SEED [NAME=SHAPE ...]` of cases.txt (next to this
script unless CASES_FILE is given) it runs

    TESSERA run FILE --interpret --func FUNC --random-inputs SEED --output-dir DIR

reads the inputs the CLI generated (DIR/input_<name>.npy) and its outputs
(DIR/output_0.npy, output_1.npy, ...), computes the expected outputs with
NumPy (one function per test file, in EXPECTED below) and compares them.

When a case line lists NAME=SHAPE[:DTYPE] entries, the script makes those
inputs itself with np.random.default_rng(SEED) (standard normal for floats,
integers in [-100, 100) for ints) and passes them with `--input NAME=path`
instead of --random-inputs; this is how a symbolic-shape function is run at
several sizes.  NAME may list alternatives, `A|a=7x3`: the buffer name
first, then the handle parameter's name; if the CLI rejects the first
spelling the run is retried with the next.

Tolerances (expected values are computed in float64 from the very inputs the
interpreter saw, then compared with the interpreter's output):
  float32: np.allclose(rtol=1e-5, atol=1e-5)
  float16: np.allclose(rtol=1e-3, atol=1e-3)
  float64: np.allclose(rtol=1e-12, atol=1e-12)
  integer and bool dtypes: exact equality (np.array_equal)
For long dot products (matmul, conv, MLP) the rounding error of a float32
sum grows with the sum of the magnitudes of its terms, not with the result
(which may cancel to near 0), so those cases also return a `scale` per
element: the same computation on |inputs|.  The check is then
|got - want| <= atol + rtol * max(|want|, scale).

Prints `PASS name` or `FAIL name: ...` per case, then `N passed, M failed`;
exits 1 when any case fails, 2 on bad usage.  Run with /usr/bin/python3
(NumPy 1.x).
"""
import math
import os
import shlex
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT_S = 600

TOLERANCES = {
    np.dtype("float16"): (1e-3, 1e-3),
    np.dtype("float32"): (1e-5, 1e-5),
    np.dtype("float64"): (1e-12, 1e-12),
}


# ---------------------------------------------------------------------------
# Expected results, one function per test file: inputs (dict name -> array,
# as given to the interpreter) -> list of expected outputs in output order.
# ---------------------------------------------------------------------------

def f64(a):
    return np.asarray(a, dtype=np.float64)


def absf(a):
    return np.abs(f64(a))


def exp_matmul(i):
    return [(f64(i["A"]) @ f64(i["B"]), absf(i["A"]) @ absf(i["B"]))]


def exp_mm_relu(i):
    return [(np.maximum(f64(i["A"]) @ f64(i["B"]), 0.0), absf(i["A"]) @ absf(i["B"]))]


def conv2d_nchw_pad1(x, w):
    x, w = f64(x), f64(w)
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    y = np.zeros((n, f, h, wd))
    for ry in range(kh):
        for rx in range(kw):
            y += np.einsum("nchw,fc->nfhw", xp[:, :, ry:ry + h, rx:rx + wd],
                           w[:, :, ry, rx])
    return y


def exp_conv2d(i):
    return [(conv2d_nchw_pad1(i["X"], i["W"]), conv2d_nchw_pad1(absf(i["X"]), absf(i["W"])))]


def softmax(x, axis=-1):
    x = f64(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def exp_softmax(i):
    return [softmax(i["A"])]


def exp_layer_norm(i):
    a = f64(i["A"])
    mean = a.mean(axis=-1, keepdims=True)
    var = ((a - mean) ** 2).mean(axis=-1, keepdims=True)
    return [(a - mean) / np.sqrt(var + 1e-5) * f64(i["gamma"]) + f64(i["beta"])]


def exp_sum_axis(i):
    return [f64(i["A"]).sum(axis=1)]


def exp_mean(i):
    return [f64(i["A"]).mean(axis=-1)]


def exp_maxpool(i):
    x = f64(i["X"])
    n, c, h, w = x.shape
    return [x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))]


def exp_broadcast_add(i):
    return [f64(i["A"]) + f64(i["B"])]


def exp_transpose(i):
    return [f64(i["A"]).T]


def exp_symbolic(i):
    a = f64(i["A"])
    return [a * a + 0.5 * a - 1.0]


def exp_seed_mlp(i):
    # env.linear(x, w) = x . w^T
    lv0 = f64(i["x"]) @ f64(i["w0"]).T
    lv1 = np.maximum(lv0, 0.0)
    scale = (absf(i["x"]) @ absf(i["w0"]).T) @ absf(i["w1"]).T
    return [(lv1 @ f64(i["w1"]).T, scale)]


def exp_graph_mlp(i):
    h = np.maximum(f64(i["x"]) @ f64(i["w0"]).T + f64(i["b0"]), 0.0)
    habs = absf(i["x"]) @ absf(i["w0"]).T + absf(i["b0"])
    return [(h @ f64(i["w1"]).T + f64(i["b1"]), habs @ absf(i["w1"]).T + absf(i["b1"]))]


def exp_graph_ops(i):
    x = f64(i["x"])
    sm = softmax(x)
    d = (x - x.sum(axis=1, keepdims=True)) * 0.5
    dabs = (np.abs(x) + np.abs(x).sum(axis=1, keepdims=True)) * 0.5
    return [sm, (d @ f64(i["w"]), dabs @ absf(i["w"]))]


def exp_int_floordiv(i):
    a = np.asarray(i["A"]).astype(np.int64)
    trunc_div = np.trunc(a / -5.0).astype(np.int64)  # C semantics: toward 0
    trunc_mod = np.fmod(a, 5)
    out = np.stack([
        a // 7,                      # Python/NumPy // is floor division
        a % 7,                       # floor modulo: sign of the divisor
        trunc_div + trunc_mod,
        np.clip(a, -1000, 1000),
    ])
    return [out.astype(np.int32)]


def exp_intrinsics(i):
    a32 = np.asarray(i["A"], dtype=np.float32)
    a = f64(a32)
    erf = np.vectorize(math.erf)(a)
    rows = [
        np.exp(a),
        np.tanh(a),
        1.0 / (1.0 + np.exp(-a)),
        np.sqrt(np.abs(a)),
        erf,
        # float32 arithmetic on purpose: x*4 is exact, floor must match bit for bit
        f64(np.floor(a32 * np.float32(4.0))),
        np.log(np.abs(a) + 1.0),
        np.abs(a) ** 1.5,
        np.where(a > 0, a, a * 0.1),
        # the product rounds in float32 before the truncating cast
        f64((a32 * np.float32(10.0)).astype(np.int32)),
    ]
    return [np.stack(rows)]


EXPECTED = {
    "interp_matmul.tvmscript": exp_matmul,
    "interp_mm_relu.tvmscript": exp_mm_relu,
    "interp_conv2d_nchw.tvmscript": exp_conv2d,
    "interp_softmax.tvmscript": exp_softmax,
    "interp_layer_norm.tvmscript": exp_layer_norm,
    "interp_sum_axis.tvmscript": exp_sum_axis,
    "interp_mean.tvmscript": exp_mean,
    "interp_maxpool2x2.tvmscript": exp_maxpool,
    "interp_broadcast_add.tvmscript": exp_broadcast_add,
    "interp_transpose.tvmscript": exp_transpose,
    "interp_symbolic_elementwise.tvmscript": exp_symbolic,
    "interp_seed_mlp.tvmscript": exp_seed_mlp,
    "interp_graph_mlp.tvmscript": exp_graph_mlp,
    "interp_graph_ops.tvmscript": exp_graph_ops,
    "interp_int_floordiv.tvmscript": exp_int_floordiv,
    "interp_intrinsics.tvmscript": exp_intrinsics,
}


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

class CaseError(Exception):
    pass


def parse_cases(path):
    cases = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) < 3:
                raise SystemExit("%s:%d: expected FILE FUNC SEED [NAME=SHAPE ...]"
                                 % (path, lineno))
            fname, func, seed = parts[0], parts[1], parts[2]
            try:
                seed = int(seed)
            except ValueError:
                raise SystemExit("%s:%d: SEED must be an integer: %r" % (path, lineno, seed))
            dims = []
            for spec in parts[3:]:
                if "=" not in spec:
                    raise SystemExit("%s:%d: bad input spec %r (want NAME=SHAPE[:DTYPE])"
                                     % (path, lineno, spec))
                names, shape = spec.split("=", 1)
                dtype = "float32"
                if ":" in shape:
                    shape, dtype = shape.split(":", 1)
                shape = tuple(int(d) for d in shape.split("x")) if shape else ()
                dims.append((names.split("|"), shape, np.dtype(dtype)))
            cases.append((lineno, fname, func, seed, dims))
    return cases


def case_name(fname, func, seed, dims):
    name = "%s:%s:seed%d" % (os.path.splitext(fname)[0], func, seed)
    for names, shape, _ in dims:
        name += ":%s=%s" % (names[0], "x".join(str(d) for d in shape))
    return name


def run_cli(cmd):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, "timed out after %d s" % TIMEOUT_S
    except OSError as e:
        return None, "cannot execute %s: %s" % (cmd[0], e)
    if p.returncode != 0:
        err = p.stderr.decode(errors="replace").strip()
        out = p.stdout.decode(errors="replace").strip()
        msg = "exit status %d\n    command: %s" % (p.returncode, " ".join(shlex.quote(c) for c in cmd))
        if err:
            msg += "\n    stderr:\n" + "\n".join("      " + l for l in err.splitlines()[-30:])
        if out:
            msg += "\n    stdout:\n" + "\n".join("      " + l for l in out.splitlines()[-10:])
        return None, msg
    return p, None


def make_inputs(seed, dims, workdir):
    rng = np.random.default_rng(seed)
    inputs = {}
    for names, shape, dtype in dims:
        if dtype.kind == "f":
            a = rng.standard_normal(shape).astype(dtype)
        elif dtype.kind == "b":
            a = rng.integers(0, 2, size=shape).astype(dtype)
        else:
            a = rng.integers(-100, 100, size=shape).astype(dtype)
        np.save(os.path.join(workdir, "given_%s.npy" % names[0]), a)
        inputs[names[0]] = a
    return inputs


def load_outputs(outdir):
    outs = []
    k = 0
    while os.path.exists(os.path.join(outdir, "output_%d.npy" % k)):
        outs.append(np.load(os.path.join(outdir, "output_%d.npy" % k)))
        k += 1
    return outs


def load_cli_inputs(outdir):
    inputs = {}
    for fn in sorted(os.listdir(outdir)):
        if fn.startswith("input_") and fn.endswith(".npy"):
            inputs[fn[len("input_"):-len(".npy")]] = np.load(os.path.join(outdir, fn))
    return inputs


def compare(k, got, want):
    """Returns None when equal within tolerance, else a message.  `want` is
    an array or a pair (array, scale) (see the module comment)."""
    scale = None
    if isinstance(want, tuple):
        want, scale = want
    got = np.asarray(got)
    if got.shape != np.shape(want):
        return "output_%d: shape %s, expected %s" % (k, got.shape, np.shape(want))
    if got.dtype.kind in "iub":
        want_cast = np.asarray(want).astype(got.dtype)
        if not np.array_equal(got, want_cast):
            diff = np.abs(got.astype(np.int64) - want_cast.astype(np.int64))
            idx = np.unravel_index(np.argmax(diff), diff.shape)
            return ("output_%d (%s): max abs diff %d at %s (got %s, expected %s)"
                    % (k, got.dtype, diff.max(), idx, got[idx], want_cast[idx]))
        return None
    if got.dtype not in TOLERANCES:
        return "output_%d: unexpected dtype %s" % (k, got.dtype)
    rtol, atol = TOLERANCES[got.dtype]
    g = got.astype(np.float64)
    w = np.asarray(want, dtype=np.float64)
    mag = np.abs(w) if scale is None else np.maximum(np.abs(w), np.asarray(scale, np.float64))
    diff = np.abs(g - w)
    diff = np.where(np.isnan(diff), np.inf, diff)
    excess = diff - (atol + rtol * mag)
    if np.any(excess > 0) or np.isnan(w).any():
        idx = np.unravel_index(np.argmax(excess), diff.shape) if diff.ndim else ()
        return ("output_%d (%s): max abs diff %.3g; worst at %s: got %r, expected %r (diff %.3g, "
                "allowed %.3g: rtol=%g atol=%g)"
                % (k, got.dtype, diff.max(), idx, g[idx], w[idx], diff[idx],
                   atol + rtol * mag[idx], rtol, atol))
    return None


def run_case(tessera, fname, func, seed, dims):
    path = os.path.join(HERE, fname)
    if not os.path.exists(path):
        raise CaseError("no such test file %s" % path)
    expected_fn = EXPECTED.get(fname)
    if expected_fn is None:
        raise CaseError("no expected-result function for %s in check_interp.py" % fname)
    with tempfile.TemporaryDirectory(prefix="tessera_interp_") as work:
        outdir = os.path.join(work, "out")
        os.mkdir(outdir)
        base = [tessera, "run", path, "--interpret", "--func", func, "--output-dir", outdir]
        if not dims:
            _, err = run_cli(base + ["--random-inputs", str(seed)])
            if err:
                raise CaseError("tessera run failed: " + err)
            inputs = load_cli_inputs(outdir)
            if not inputs:
                raise CaseError("tessera run wrote no input_<name>.npy files to the output dir")
        else:
            inputs = make_inputs(seed, dims, work)
            n_alt = max(len(names) for names, _, _ in dims)
            errors = []
            for alt in range(n_alt):
                cmd = list(base)
                for names, _, _ in dims:
                    cmd += ["--input", "%s=%s" % (names[min(alt, len(names) - 1)],
                                                  os.path.join(work, "given_%s.npy" % names[0]))]
                _, err = run_cli(cmd)
                if not err:
                    break
                errors.append(err)
                for fn in os.listdir(outdir):
                    os.remove(os.path.join(outdir, fn))
            else:
                raise CaseError("tessera run failed with every input spelling:\n  "
                                + "\n  ".join(errors))
        try:
            want = expected_fn(inputs)
        except KeyError as e:
            raise CaseError("expected input %s not found; inputs were %s"
                            % (e, sorted(inputs)))
        got = load_outputs(outdir)
        if len(got) != len(want):
            raise CaseError("%d output files (output_0.npy, ...), expected %d"
                            % (len(got), len(want)))
        msgs = [m for m in (compare(k, g, w) for k, (g, w) in enumerate(zip(got, want))) if m]
        if msgs:
            raise CaseError("; ".join(msgs))


def main(argv):
    args = argv[1:]
    filt = None
    if "-k" in args:
        k = args.index("-k")
        if k + 1 >= len(args):
            print(__doc__, file=sys.stderr)
            return 2
        filt = args[k + 1]
        del args[k:k + 2]
    if len(args) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    tessera = os.path.abspath(args[0])
    if not (os.path.isfile(tessera) and os.access(tessera, os.X_OK)):
        print("error: %s is not an executable file (pass the path to build/tessera)" % args[0],
              file=sys.stderr)
        return 2
    cases_path = args[1] if len(args) == 2 else os.path.join(HERE, "cases.txt")
    cases = parse_cases(cases_path)
    passed = failed = 0
    for lineno, fname, func, seed, dims in cases:
        name = case_name(fname, func, seed, dims)
        if filt and filt not in name:
            continue
        try:
            run_case(tessera, fname, func, seed, dims)
        except CaseError as e:
            failed += 1
            print("FAIL %s: %s" % (name, e))
        except Exception as e:  # a bug in this script or an unreadable .npy
            failed += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
        else:
            passed += 1
            print("PASS %s" % name)
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
