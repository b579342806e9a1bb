#!/usr/bin/env bash
# run_errors.sh TESSERA: the error corpus.  expected.txt holds one line per
# bad file, `NAME.tvmscript: EXPECTED MESSAGE` (blank lines and lines starting
# with '#' are skipped).  For each, `tessera print NAME.tvmscript` (run in
# this folder, so messages carry the bare file name) must exit non-zero
# without crashing, print nothing on stdout, and the first line of stderr
# must equal EXPECTED MESSAGE exactly.
set -uo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 TESSERA" >&2
  exit 2
fi
tessera=$1
cd "$(dirname "${BASH_SOURCE[0]}")" || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass=0
fail=0
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    '' | '#'*) continue ;;
  esac
  name=${line%%: *}
  expected=${line#*: }
  if [ "$name" = "$line" ]; then
    echo "FAIL: malformed line in expected.txt: $line"
    fail=$((fail + 1))
    continue
  fi
  if [ ! -f "$name" ]; then
    echo "FAIL $name: file not found"
    fail=$((fail + 1))
    continue
  fi
  "$tessera" print "$name" > "$tmp/out" 2> "$tmp/err"
  rc=$?
  first=$(head -n 1 "$tmp/err")
  why=""
  if [ $rc -eq 0 ]; then
    why="exit status 0, expected non-zero"
  elif [ $rc -ge 128 ]; then
    why="crashed (exit status $rc)"
  elif [ -s "$tmp/out" ]; then
    why="stdout not empty"
  elif [ "$first" != "$expected" ]; then
    why="first stderr line differs"
  fi
  if [ -z "$why" ]; then
    echo "PASS $name"
    pass=$((pass + 1))
  else
    echo "FAIL $name: $why"
    echo "  expected: $expected"
    echo "  got:      $first"
    if [ $rc -ge 128 ] || [ "$first" != "$expected" ]; then
      sed 's/^/  stderr| /' "$tmp/err" | head -n 40
    fi
    fail=$((fail + 1))
  fi
done < expected.txt

echo "$pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
