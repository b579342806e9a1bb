#!/usr/bin/env bash
# venv_python.sh SCRIPT ARGS...: runs SCRIPT with the test venv's python
# (.venv-test, made by scripts/venv.sh, which `make test` runs via setup).
# Fails loudly when the venv is missing: the ONNX tests never skip silently.
root=$(cd "$(dirname "$0")/../.." && pwd)
py=$root/.venv-test/bin/python
if [ ! -x "$py" ] || ! "$py" -c "import onnx" 2>/dev/null; then
  echo "venv_python.sh: $root/.venv-test with onnx is missing: run scripts/venv.sh" >&2
  exit 1
fi
exec "$py" "$@"
