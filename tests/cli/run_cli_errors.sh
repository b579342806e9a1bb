#!/usr/bin/env bash
# run_cli_errors.sh TESSERA: bad command lines.  Each case must exit non-zero
# without crashing and print its exact message as the first stderr line
# (`exact`), or a first line containing the text (`contains`, for messages
# that embed an OS error whose wording is the C library's).  Runs in a
# scratch folder so relative file names are under our control; no case may
# leave an output file behind.
set -uo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 TESSERA" >&2
  exit 2
fi
tessera=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seed=$root/examples/seed_mlp.tvmscript
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 2
cp "$seed" seed.tvmscript
touch notadir # a regular file, used where a directory is expected

pass=0
fail=0
# check MODE EXPECTED ARGS...
check() {
  local mode=$1 expected=$2
  shift 2
  local rc first why=""
  "$tessera" "$@" > out.txt 2> err.txt
  rc=$?
  first=$(head -n 1 err.txt)
  if [ $rc -eq 0 ]; then
    why="exit status 0, expected non-zero"
  elif [ $rc -ge 128 ]; then
    why="crashed (exit status $rc)"
  elif [ "$mode" = exact ] && [ "$first" != "$expected" ]; then
    why="first stderr line differs"
  elif [ "$mode" = contains ] && [[ "$first" != *"$expected"* ]]; then
    why="first stderr line lacks the expected text"
  fi
  if [ -z "$why" ]; then
    echo "PASS tessera $*"
    pass=$((pass + 1))
  else
    echo "FAIL tessera $*: $why"
    echo "  expected ($mode): $expected"
    echo "  got:              $first"
    fail=$((fail + 1))
  fi
  rm -f out.txt err.txt
}

check exact "tessera: unknown command 'frob' (try 'tessera --help')" \
  frob seed.tvmscript
check exact "tessera print: missing FILE argument" print
check exact "tessera run: missing FILE argument" run
check exact "tessera run: unknown option '--frobnicate'" \
  run seed.tvmscript --frobnicate
check exact "tessera run: option '--func' needs a value" \
  run seed.tvmscript --func
check exact "tessera run: --input expects NAME=FILE.npy, got 'x'" \
  run seed.tvmscript --input x
check exact "x.npy: cannot open: No such file or directory" \
  run seed.tvmscript --interpret --input x=x.npy
check exact "tessera run: --random-inputs expects an integer seed, got 'abc'" \
  run seed.tvmscript --interpret --random-inputs abc
check contains "Not a directory" \
  run seed.tvmscript --interpret --random-inputs 0 --output-dir notadir/out
check exact "tessera equal: expected two files, got 1" equal seed.tvmscript
check exact "tessera equal: expected two files, got 3" \
  equal seed.tvmscript seed.tvmscript seed.tvmscript
check exact "nope.tvmscript: cannot open: No such file or directory" \
  print nope.tvmscript

# No case may leave files behind (no partial outputs).
# ---- compiled runs and artifacts (issue: build and run) ----
/usr/bin/python3 - <<'PY'
import numpy as np
np.save("x_short.npy", np.zeros((1, 783), np.float32))
np.save("x_f64.npy", np.zeros((1, 784), np.float64))
np.save("x_rank3.npy", np.zeros((1, 1, 784), np.float32))
PY
check exact "input 'x': dimension 1 is 784, got 783" \
  run seed.tvmscript --input x=x_short.npy --random-inputs 0
check exact "input 'x': expected float32, got float64" \
  run seed.tvmscript --input x=x_f64.npy --random-inputs 0
check exact "input 'x': expected rank 2, got rank 3" \
  run seed.tvmscript --input x=x_rank3.npy --random-inputs 0
check exact "tessera run: no function 'nope' in seed.tvmscript" \
  run seed.tvmscript --func nope --random-inputs 0
check exact "tessera run: 'out' is not an input of 'main'" \
  run seed.tvmscript --input out=x_short.npy --random-inputs 0
check exact "tessera build: missing -o ARTIFACT.so" build seed.tvmscript
cat > nolib.tvmscript <<'TS'
@R.function
def main(x: R.Tensor((2, 3), "float32")):
    y = R.call_dps_packed("env.nope", (x,), out_sinfo=R.Tensor((2, 3), "float32"))
    return y
TS
check exact "unresolved library function 'env.nope'" \
  run nolib.tvmscript --random-inputs 0
# A compiler failure: one message, no artifact left behind.
TESSERA_CC=false check contains "C compiler failed (exit status 1)" \
  build seed.tvmscript -o cc_false.so
if [ -e cc_false.so ] || ls cc_false.so.tmp.* > /dev/null 2>&1; then
  echo "FAIL: a failed build left a file behind"
  fail=$((fail + 1))
fi
# Artifacts: truncated, not an artifact, missing.
"$tessera" build seed.tvmscript -o good.so > /dev/null 2>&1
head -c 2000 good.so > trunc.so
check contains "trunc.so: cannot load:" run trunc.so --random-inputs 0
printf 'not an elf' > junk.so
check contains "junk.so: cannot load:" run junk.so --random-inputs 0
check contains "missing.so: cannot load:" run missing.so --random-inputs 0
check exact "tessera run: --interpret needs a TVMScript file, not an artifact" \
  run good.so --interpret
check exact "main: parameter 'x': dimension 1 is 784, got 783" \
  run good.so --input x=x_short.npy --random-inputs 0
rm -f x_short.npy x_f64.npy x_rank3.npy nolib.tvmscript good.so trunc.so junk.so

left=$(find . -mindepth 1 ! -name seed.tvmscript ! -name notadir | head)
if [ -n "$left" ]; then
  echo "FAIL: files left behind: $left"
  fail=$((fail + 1))
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
