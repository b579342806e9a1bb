#!/usr/bin/python3
"""check_ops_a.py TESSERA

The section-A operators' reference evaluation against NumPy.  For every
tests/script/ops_a_*.tvmscript (the corpus files of the section-A op
families) and two seeds it runs

    TESSERA run FILE --interpret --func main --random-inputs SEED --output-dir DIR

reads the generated inputs (DIR/input_<name>.npy) and outputs
(DIR/output_<k>.npy) and compares each output with NumPy's result computed
in float64 from the very same inputs (EXPECTED below, one function per
file, outputs in the order of the file's returned tuple).

Tolerances: float32 rtol=atol=1e-5, float16 1e-3, integers and bools exact;
dtypes and shapes must match exactly.  The compiled code is checked against
the interpreter by unit.test_differential (same files), so this closes the
loop NumPy == interpreter == compiled.  Run with /usr/bin/python3.
"""
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "..", "script")
TOL = {np.dtype("float16"): 1e-3, np.dtype("float32"): 1e-5}


def f64(a):
    return np.asarray(a, dtype=np.float64)


def f32(a):
    return np.asarray(a, dtype=np.float32)


def clip(x, lo, hi):
    return np.minimum(np.maximum(x, lo), hi)


def softplus(x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.log1p(np.exp(beta * x)) / beta)


def erfless_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def exp_unary(i):
    x = f64(i["x"])
    # the graph computes s = x * 4 in float32 first
    s = f64(f32(i["x"]) * np.float32(4.0))
    cosh_s = f64(f32(np.cosh(s)))
    selu_a, selu_g = 1.6732632423543772, 1.0507009873554805
    return [
        (np.floor(s), "float32"), (np.ceil(s), "float32"),
        (np.round(s), "float32"), (np.trunc(s), "float32"),
        (np.sign(x), "float32"), (s * s, "float32"),
        (np.sin(s), "float32"), (np.cos(s), "float32"), (np.tan(x), "float32"),
        (np.arcsin(x), "float32"), (np.arccos(x), "float32"),
        (np.arctan(s), "float32"), (np.sinh(s), "float32"),
        (np.cosh(s), "float32"), (np.arcsinh(s), "float32"),
        (np.arccosh(cosh_s + 1.0), "float32"),
        (np.arctanh(f64(f32(x * 0.5))), "float32"),
        (clip(s, -1.5, 2.0), "float32"),
        (clip(f64(f32(s * 2.0)), 0, 6), "float32"),
        (np.where(s > 0, s, 0.1 * s), "float32"),
        (np.where(s > 0, s, np.expm1(s)), "float32"),
        (selu_g * np.where(s > 0, s, selu_a * np.expm1(s)), "float32"),
        (softplus(s, 2.0, 3.0), "float32"),
        (s * np.tanh(np.log1p(np.exp(s))), "float32"),
        (clip(0.2 * s + 0.5, 0, 1), "float32"),
        (s * clip(s + 3, 0, 6) / 6, "float32"),
        (erfless_gelu_tanh(s), "float32"),
    ]


def exp_unary_int(i):
    x = i["x"].astype(np.int64) - 5
    f = f64(i["f"])
    b = i["b"]
    with np.errstate(all="ignore"):
        lf = np.log(f32(i["f"]))
        inv = np.float32(1.0) / np.floor(f32(i["f"]))
    s = f32(i["f"]) * np.float32(3.0)
    return [
        (~x, "int32"), (~b, "bool"), (x, "int32"), (np.sign(x), "int32"),
        (x * x, "int32"), (clip(x, -2, 3), "int32"),
        (np.isnan(lf), "bool"), (np.isinf(inv), "bool"),
        (np.isfinite(lf), "bool"),
        (np.trunc(s), "int32"), (s.astype(np.float16), "float16"),
        (f != 0, "bool"), (b.astype(np.float32), "float32"),
        (x, "int64"), (x, "float32"),
    ]


def pymod(a, b):  # floor mod
    return a - np.floor(a / b) * b


def exp_binary(i):
    x, y = f32(i["x"]), f32(i["y"])
    s = x * np.float32(5.0)
    d = np.abs(y) + np.float32(0.25)
    sd, dd = f64(s), f64(d)
    ii, jj = i["i"].astype(np.int64), i["j"].astype(np.int64)
    im, jd = ii - 5, jj + 1
    jn = -jd
    c2, c3 = x < y, ii <= jj
    c4, c1, c5 = x > y, ii != jj, ii >= jj
    return [
        (np.floor(sd / dd), "float32"), (np.mod(sd, dd), "float32"),
        (np.mod(sd, -dd), "float32"), (np.fmod(sd, -dd), "float32"),
        (np.floor(sd / -dd), "float32"),
        (np.floor_divide(im, jd), "int32"), (np.mod(im, jn), "int32"),
        (np.fmod(im, jn), "int32"), (np.floor_divide(im, jn), "int32"),
        (np.floor(s) == np.floor(y), "bool"), (c1, "bool"), (c2, "bool"),
        (c3, "bool"), (c4, "bool"), (c5, "bool"),
        (c2 & c5, "bool"), (c2 | c3, "bool"), (c4 ^ c1, "bool"),
        (im & jj, "int32"), (im | jj, "int32"), (im ^ jj, "int32"),
        (np.where(c3, x, y), "float32"), (np.where(c2, ii, jj), "int32"),
    ]


def exp_reduce(i):
    x, ii = f64(i["x"]), i["i"].astype(np.int64)
    p = f64(f32(i["x"]) + np.float32(1.0))
    return [
        (x.min(axis=(0, 2)), "float32"), (x.min(), "float32"),
        (ii.min(axis=1, keepdims=True), "int32"),
        (p.prod(axis=-1), "float32"), (p.prod(axis=(0, 1), keepdims=True), "float32"),
        (ii.prod(axis=0), "int32"),
        (x.argmax(axis=-1), "int64"), (np.int64(x.argmax()), "int64"),
        (np.expand_dims(x.argmax(axis=1), 1), "int64"),
        (x.argmin(axis=0), "int64"), (ii.argmin(axis=1), "int64"),
        (np.int64(x.argmin()).reshape(1, 1, 1), "int64"),
    ]


def log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def layer_norm(x, g, b, axes, eps):
    m = x.mean(axis=axes, keepdims=True)
    v = ((x - m) ** 2).mean(axis=axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * g + b


def group_norm(x, g, b, groups, eps):
    n, c = x.shape[:2]
    xg = x.reshape(n, groups, -1)
    m = xg.mean(axis=2, keepdims=True)
    v = ((xg - m) ** 2).mean(axis=2, keepdims=True)
    y = ((xg - m) / np.sqrt(v + eps)).reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return y * g.reshape(shape) + b.reshape(shape)


def exp_norm(i):
    x = f64(i["x"])
    g4, b4, g5, b5 = (f64(i[k]) for k in ("g4", "b4", "g5", "b5"))
    g35, b35 = f64(i["g35"]), f64(i["b35"])
    v = f64(np.abs(f32(i["b4"])) + np.float32(0.5))
    bc = (1, 4, 1, 1)
    rms = x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + 1e-5) * g5
    bn = (x - g4.reshape(bc)) / np.sqrt(v.reshape(bc) + 1e-5) * g4.reshape(bc) + b4.reshape(bc)
    return [
        (log_softmax(x, 1), "float32"), (log_softmax(x, -1), "float32"),
        (layer_norm(x, g5, b5, (-1,), 1e-5), "float32"),
        (layer_norm(x, g35, b35, (2, 3), 1e-3), "float32"),
        (layer_norm(x, 1.0, 0.0, (-1,), 1e-5), "float32"),
        (rms, "float32"),
        (group_norm(x, g4, b4, 2, 1e-5), "float32"),
        (group_norm(x, g4, b4, 4, 1e-5), "float32"),
        (bn, "float32"),
    ]


EXPECTED = {
    "ops_a_unary.tvmscript": exp_unary,
    "ops_a_unary_int.tvmscript": exp_unary_int,
    "ops_a_binary.tvmscript": exp_binary,
    "ops_a_reduce.tvmscript": exp_reduce,
    "ops_a_norm.tvmscript": exp_norm,
}


def compare(got, want, dtype):
    want = np.asarray(want)
    if got.dtype != np.dtype(dtype):
        return "dtype %s, expected %s" % (got.dtype, dtype)
    if got.shape != want.shape:
        return "shape %s, expected %s" % (got.shape, want.shape)
    if got.dtype in TOL:
        t = TOL[got.dtype]
        w = want.astype(got.dtype).astype(np.float64) if got.dtype == np.float16 else want
        if not np.allclose(got.astype(np.float64), w, rtol=t, atol=t, equal_nan=True):
            err = np.nanmax(np.abs(got.astype(np.float64) - w))
            return "values differ (max abs err %g)" % err
        return None
    if not np.array_equal(got, want.astype(got.dtype)):
        return "values differ:\n got %s\nwant %s" % (got.ravel()[:12], want.ravel()[:12])
    return None


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    cli = sys.argv[1]
    passed = failed = 0
    for name, fn in sorted(EXPECTED.items()):
        for seed in (1, 2):
            case = "%s seed %d" % (name, seed)
            with tempfile.TemporaryDirectory() as d:
                r = subprocess.run([cli, "run", os.path.join(SCRIPTS, name),
                                    "--interpret", "--func", "main",
                                    "--random-inputs", str(seed),
                                    "--output-dir", d],
                                   capture_output=True, text=True, timeout=300)
                if r.returncode != 0:
                    print("FAIL %s: tessera run: %s" % (case, r.stderr.strip()))
                    failed += 1
                    continue
                inputs = {f[6:-4]: np.load(os.path.join(d, f))
                          for f in os.listdir(d) if f.startswith("input_")}
                want = fn(inputs)
                errs = []
                for k, (w, dt) in enumerate(want):
                    path = os.path.join(d, "output_%d.npy" % k)
                    if not os.path.exists(path):
                        errs.append("output %d missing" % k)
                        continue
                    e = compare(np.load(path), w, dt)
                    if e:
                        errs.append("output %d: %s" % (k, e))
                if os.path.exists(os.path.join(d, "output_%d.npy" % len(want))):
                    errs.append("more outputs than expected")
                if errs:
                    print("FAIL %s: %s" % (case, "; ".join(errs)))
                    failed += 1
                else:
                    print("PASS %s" % case)
                    passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
