#!/usr/bin/env bash
# venv.sh: creates .venv-test, the Python environment of the ONNX tests:
# Debian's /usr/bin/python3 with --system-site-packages (so Debian's numpy
# and torch are seen) plus `onnx` from PyPI (its wheel ships the backend node
# tests under onnx/backend/test/data/node).  Debian's numpy must stay the one
# used: pip is given a constraint pinning numpy to the installed version, so
# an onnx release that needs numpy 2 fails to install instead of replacing it.
# Idempotent: does nothing when the venv already imports onnx.
# Usage: scripts/venv.sh [VENV_DIR]   (default: .venv-test at the repo root)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${1:-$ROOT/.venv-test}
PY=/usr/bin/python3

if [ -x "$VENV/bin/python" ] &&
   "$VENV/bin/python" -c "import onnx, onnx.numpy_helper, numpy" 2>/dev/null; then
  exit 0
fi

NUMPY_VERSION=$($PY -c "import numpy; print(numpy.__version__)")
echo "venv.sh: creating $VENV (numpy pinned to Debian's $NUMPY_VERSION)"
$PY -m venv --system-site-packages "$VENV"
CONSTRAINTS=$(mktemp)
trap 'rm -f "$CONSTRAINTS"' EXIT
echo "numpy==$NUMPY_VERSION" >"$CONSTRAINTS"
"$VENV/bin/python" -m pip install --disable-pip-version-check -q \
  -c "$CONSTRAINTS" "onnx>=1.15,<1.18"
"$VENV/bin/python" -c "import onnx, numpy; print('venv.sh: onnx', onnx.__version__, 'numpy', numpy.__version__)"
