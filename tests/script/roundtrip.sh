#!/usr/bin/env bash
# roundtrip.sh TESSERA FILE: the golden round trip of one TVMScript file.
#   tessera print FILE > a.txt; tessera print a.txt > b.txt
#   a.txt and b.txt must be byte-identical (printing is a fixed point), and
#   `tessera equal FILE a.txt` must exit 0 (printing keeps the structure).
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 TESSERA FILE.tvmscript" >&2
  exit 2
fi
tessera=$1
file=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! "$tessera" print "$file" > "$tmp/a.txt"; then
  echo "FAIL: tessera print $file" >&2
  exit 1
fi
if ! "$tessera" print "$tmp/a.txt" > "$tmp/b.txt"; then
  echo "FAIL: tessera print of the printed text; it was:" >&2
  cat -n "$tmp/a.txt" >&2
  exit 1
fi
if ! cmp -s "$tmp/a.txt" "$tmp/b.txt"; then
  echo "FAIL: printing is not a fixed point for $file (print vs print∘print):" >&2
  diff -u "$tmp/a.txt" "$tmp/b.txt" >&2 || true
  exit 1
fi
if ! "$tessera" equal "$file" "$tmp/a.txt"; then
  echo "FAIL: tessera equal $file <printed> exited non-zero; printed:" >&2
  cat -n "$tmp/a.txt" >&2
  exit 1
fi
echo "PASS: $file"
