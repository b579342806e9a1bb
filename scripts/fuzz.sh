#!/usr/bin/env bash
# fuzz.sh TARGET SECONDS: build the libFuzzer targets with clang in
# build-fuzz/ and run TARGET (fuzz_pyast, fuzz_script, fuzz_npy, ...) for
# SECONDS seconds.  The corpus lives in build-fuzz/corpus/TARGET, seeded from
# the project's TVMScript files (text targets) or from generated .npy files
# (everything else).  Crash inputs land in build-fuzz/artifacts/TARGET/.
# Exits non-zero when the fuzzer finds a crash, a leak or UB.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 TARGET SECONDS   (e.g. $0 fuzz_script 60)" >&2
  exit 2
fi
target=$1
seconds=$2
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=build-fuzz

CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTESSERA_FUZZ=ON > /dev/null
cmake --build "$build" -j"$(nproc)" --target "$target"

corpus=$build/corpus/$target
artifacts=$build/artifacts/$target
mkdir -p "$corpus" "$artifacts"

case "$target" in
  fuzz_pyast | fuzz_script)
    for f in tests/script/*.tvmscript tests/errors/*.tvmscript \
             examples/*.tvmscript; do
      [ -f "$f" ] && cp "$f" "$corpus/"
    done
    ;;
  fuzz_onnx)
    # small ONNX models: the node tests of the onnx wheel (scripts/venv.sh)
    for f in .venv-test/lib/python3*/site-packages/onnx/backend/test/data/node/*/model.onnx; do
      [ -f "$f" ] && [ "$(stat -c %s "$f")" -lt 65536 ] &&
        cp "$f" "$corpus/$(basename "$(dirname "$f")").onnx"
    done
    ;;
  *)
    # .npy seeds: a few dtypes, shapes and byte orders.
    /usr/bin/python3 - "$corpus" <<'PY'
import sys, numpy as np
d = sys.argv[1]
np.random.seed(0)
arrays = {
    "f32_2d": np.random.rand(3, 4).astype("float32"),
    "f64_1d": np.arange(5, dtype="float64"),
    "i64_scalar": np.array(7, dtype="int64"),
    "i32_3d": np.arange(24, dtype="int32").reshape(2, 3, 4),
    "u8_empty": np.zeros((0, 3), dtype="uint8"),
    "bool_1d": np.array([True, False, True]),
    "f16_2d": np.ones((2, 2), dtype="float16"),
    "f32_fortran": np.asfortranarray(np.random.rand(2, 3).astype("float32")),
    "f32_bigendian": np.arange(4, dtype=">f4"),
}
for name, a in arrays.items():
    np.save(f"{d}/{name}.npy", a)
PY
    ;;
esac

bin=$build/tests/fuzz/$target
if [ ! -x "$bin" ]; then
  echo "fuzz.sh: no fuzz target $bin (is tests/fuzz/$target.c there?)" >&2
  exit 2
fi
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$bin" -max_total_time="$seconds" -artifact_prefix="$artifacts/" "$corpus"
