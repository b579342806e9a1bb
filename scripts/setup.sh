#!/usr/bin/env bash
# setup.sh: installs every dependency Tessera needs on Debian 12.
# Idempotent and fast: when every package is already installed it asks dpkg
# and touches no network.  Run as root on a fresh machine; run as anyone on a
# prepared one.  Non-root with something missing: prints what and fails.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  clang libclang-rt-14-dev          # libFuzzer, LeakSanitizer runtimes
  libomp-dev                        # OpenMP for clang (fuzz build)
  libdlpack-dev libopenblas-dev libdnnl-dev
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev
  python3 python3-numpy python3-torch python3-torchvision python3-venv
  clang-format
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  case "$status" in
    ii*) ;;
    *) missing+=("$p") ;;
  esac
done

# The ONNX tests' Python environment (.venv-test: Debian's python3 plus
# `onnx` from PyPI); scripts/venv.sh does nothing when it is already there.
here=$(dirname "$0")
if [ ${#missing[@]} -eq 0 ]; then
  exec "$here/venv.sh"
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: missing packages: ${missing[*]}" >&2
  echo "setup.sh: run as root (or: sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi

echo "setup.sh: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
"$here/venv.sh"
