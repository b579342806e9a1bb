#!/usr/bin/env bash
# peers_venv.sh: creates bench/.venv, the Python environment of the model
# benchmarks (bench/models_bench.py): Debian's /usr/bin/python3 with
# --system-site-packages (Debian's numpy 1.24, torch and torchvision are seen)
# plus the peers from PyPI: onnxruntime and, when a wheel installs and
# imports, apache-tvm; and onnx 1.17 (TVM's ONNX frontend needs
# onnx.onnx_ml_pb2, which Debian's python3-onnx 1.12 lacks).  As in scripts/venv.sh, pip gets a constraint pinning
# numpy to Debian's version, so a release that needs numpy 2 fails to
# install instead of replacing it (and PyPI's torch is never pulled in: it is
# not a dependency of either).  When the newest onnxruntime does not install
# under the constraint, older releases are tried.  A failed apache-tvm
# install is not an error: its reason goes to bench/.venv/tvm-unavailable.txt
# and the benchmark records "unavailable: <reason>".
# Idempotent: does nothing when the venv already imports onnxruntime and the
# TVM attempt was made once.
# Usage: bench/peers_venv.sh [VENV_DIR]   (default: bench/.venv)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${1:-$ROOT/bench/.venv}
PY=/usr/bin/python3
TVM_TIMEOUT=${TVM_TIMEOUT:-300}
# tvm_ffi tries to JIT-compile a torch extension on every import (~30 s,
# and it fails against Debian's torch): skip it.
export TVM_FFI_DISABLE_TORCH_C_DLPACK=1

have_ort() {
  [ -x "$VENV/bin/python" ] &&
    "$VENV/bin/python" -c "import onnxruntime, numpy, onnx.onnx_ml_pb2" 2>/dev/null
}
if have_ort && { [ -f "$VENV/tvm-unavailable.txt" ] ||
                 "$VENV/bin/python" -c "import tvm" 2>/dev/null; }; then
  exit 0
fi

NUMPY_VERSION=$($PY -c "import numpy; print(numpy.__version__)")
if [ ! -x "$VENV/bin/python" ]; then
  echo "peers_venv.sh: creating $VENV (numpy pinned to Debian's $NUMPY_VERSION)"
  $PY -m venv --system-site-packages "$VENV" || exit 1
fi
CONSTRAINTS="$VENV/constraints.txt"
echo "numpy==$NUMPY_VERSION" >"$CONSTRAINTS"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q
     -c "$CONSTRAINTS")

if ! have_ort; then
  ok=0
  for spec in onnxruntime "onnxruntime<1.21" "onnxruntime<1.20" \
              "onnxruntime<1.19" "onnxruntime<1.17"; do
    echo "peers_venv.sh: pip install '$spec'"
    if "${PIP[@]}" "$spec" "onnx>=1.15,<1.18" && have_ort; then ok=1; break; fi
  done
  if [ $ok = 0 ]; then
    echo "peers_venv.sh: no onnxruntime installs with numpy==$NUMPY_VERSION" >&2
    exit 1
  fi
fi

if ! "$VENV/bin/python" -c "import tvm" 2>/dev/null; then
  rm -f "$VENV/tvm-unavailable.txt"
  log=$(mktemp)
  echo "peers_venv.sh: pip install apache-tvm (at most ${TVM_TIMEOUT}s)"
  if timeout "$TVM_TIMEOUT" "${PIP[@]}" apache-tvm >"$log" 2>&1 &&
     timeout 120 "$VENV/bin/python" -c "import tvm" >>"$log" 2>&1; then
    :
  else
    rc=$?
    reason=$(grep -E "ERROR|Error|error" "$log" | head -n 2 | tr '\n' ' ' |
             cut -c1-200)
    [ $rc = 124 ] && reason="install/import timed out after ${TVM_TIMEOUT}s"
    [ -z "$reason" ] && reason="pip/import exit status $rc"
    echo "$reason" >"$VENV/tvm-unavailable.txt"
    echo "peers_venv.sh: apache-tvm unavailable: $reason"
  fi
  rm -f "$log"
fi
"$VENV/bin/python" -c "
import numpy, onnxruntime
try:
    import tvm; t = 'tvm ' + tvm.__version__
except Exception as e:
    t = 'tvm unavailable'
print('peers_venv.sh: onnxruntime', onnxruntime.__version__, 'numpy', numpy.__version__, t)"
