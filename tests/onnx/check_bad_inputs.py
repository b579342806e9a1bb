#!/usr/bin/env python3
"""check_bad_inputs.py TESSERA: bad ONNX input ends in one clear message, a
non-zero exit status and no output file, for both `tessera import` and
`tessera compile`.  Builds the bad models with onnx.helper (run with the test
venv's python: scripts/venv.sh)."""
import os
import subprocess
import sys
import tempfile

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    import numpy as np
except ImportError as e:
    sys.exit(f"check_bad_inputs.py: cannot import onnx ({e}); run scripts/venv.sh")


def model(nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def cases():
    good = model([helper.make_node("Relu", ["x"], ["y"], name="relu_0")],
                 [vi("x", [2, 3])], [vi("y", [2, 3])]).SerializeToString()
    yield "truncated", good[: len(good) // 2], "truncated or corrupt protobuf"
    yield "corrupt", b"\xff\xfe\x00garbage\x13\x37" * 8, "truncated or corrupt protobuf"
    yield "unsupported_op", model(
        [helper.make_node("NonMaxSuppression", ["b", "s"], ["y"], name="nms_1")],
        [vi("b", [1, 4, 4]), vi("s", [1, 1, 4])], [vi("y", [3, 3], TensorProto.INT64)]
    ).SerializeToString(), "unsupported operator 'NonMaxSuppression' (node 'nms_1', opset 13)"
    yield "missing_initializer", model(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="MatMul_2")],
        [vi("x", [2, 3])], [vi("y", [2, 4])]
    ).SerializeToString(), "node 'MatMul_2' (MatMul, opset 13): input 'w' is not defined (missing initializer?)"
    w = numpy_helper.from_array(np.ones((4, 5), np.float32), "w")
    yield "inconsistent_shapes", model(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="MatMul_2")],
        [vi("x", [2, 3])], [vi("y", [2, 5])], [w]
    ).SerializeToString(), "node 'MatMul_2' (MatMul, opset 13): R.matmul"
    yield "wrong_output_shape", model(
        [helper.make_node("Relu", ["x"], ["y"], name="relu_0")],
        [vi("x", [2, 3])], [vi("y", [3, 2])]
    ).SerializeToString(), "output 'y' is declared (3, 2) float32 but the graph computes (2, 3) float32"
    wc = numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32), "w")
    yield "bad_attribute", model(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="Conv_3", auto_pad="FOO")],
        [vi("x", [1, 1, 5, 5])], [vi("y", [1, 1, 5, 5])], [wc]
    ).SerializeToString(), "node 'Conv_3' (Conv, opset 13): unsupported attribute auto_pad='FOO'"
    bad_init = helper.make_tensor("w", TensorProto.FLOAT, [7], [1.0] * 7)
    bad_init.dims[:] = [4, 5]
    yield "short_initializer", model(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="MatMul_2")],
        [vi("x", [2, 4])], [vi("y", [2, 5])], [bad_init]
    ).SerializeToString(), "initializer 'w' has 7 values, expected 20"


def check_target(tessera, d):
    """`compile --target`: a bad target is one message and no artifact; a
    good one with --explain prints the target and each kernel's rule."""
    path = os.path.join(d, "relu.onnx")
    with open(path, "wb") as f:
        f.write(model([helper.make_node("Relu", ["x"], ["y"], name="relu_0")],
                      [vi("x", [64, 256])], [vi("y", [64, 256])]).SerializeToString())
    out = os.path.join(d, "t.so")
    failures = 0
    p = subprocess.run([tessera, "compile", path, "-o", out, "--target", "gpu"],
                       capture_output=True, text=True)
    want = "target: unknown kind 'gpu' (expected cpu)"
    if p.returncode == 0 or p.stderr.strip() != want or os.path.exists(out):
        print(f"FAIL compile --target gpu: rc {p.returncode}, {p.stderr.strip()!r}")
        failures += 1
    p = subprocess.run([tessera, "compile", path, "-o", out, "--target", "cpu",
                        "--explain"], capture_output=True, text=True)
    lines = p.stdout.splitlines()
    if (p.returncode != 0 or not os.path.exists(out) or not lines
            or not lines[0].startswith("target: cpu")
            or not any(l.startswith("relu: ") for l in lines)):
        print(f"FAIL compile --explain: rc {p.returncode}, {p.stdout[:300]!r} {p.stderr!r}")
        failures += 1
    if os.path.exists(out):
        os.remove(out)
    return failures


def main():
    tessera = sys.argv[1]
    failures = 0
    with tempfile.TemporaryDirectory() as d:
        for name, data, want in cases():
            path = os.path.join(d, name + ".onnx")
            with open(path, "wb") as f:
                f.write(data)
            for cmd, out in (("import", "out.tvmscript"), ("compile", "out.so")):
                out = os.path.join(d, out)
                p = subprocess.run([tessera, cmd, path, "-o", out],
                                   capture_output=True, text=True)
                err = p.stderr.strip()
                problems = []
                if p.returncode == 0:
                    problems.append("exit status 0")
                if want not in err:
                    problems.append(f"message lacks {want!r}")
                if len(err.splitlines()) != 1:
                    problems.append("message is not one line")
                if os.path.exists(out):
                    problems.append("an output file was written")
                    os.remove(out)
                if "Sanitizer" in err or p.returncode < 0:
                    problems.append("crashed")
                status = "ok  " if not problems else "FAIL"
                print(f"{status} {cmd:<8} {name}: {err}")
                if problems:
                    print("     " + "; ".join(problems))
                    failures += 1
        failures += check_target(tessera, d)
    print(f"check_bad_inputs.py: {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
