#!/bin/sh
# Fails when the release binary or its xz form passes its budget; the Run Command part
# scripts are checked against Azure's 256 KiB where they are built (runcommand/build.py)
# and by tests/delivery.
#   packaging/size/check-size.sh BINARY BINARY_BUDGET XZ_BUDGET
set -eu
binary=$1
binary_budget=$2
xz_budget=$3
size=$(wc -c < "$binary" | tr -d ' ')
xz_size=$(xz -c --x86 --lzma2=preset=9e,dict=4MiB < "$binary" | wc -c | tr -d ' ')
printf 'size: binary %s bytes (budget %s), xz %s bytes (budget %s)\n' \
  "$size" "$binary_budget" "$xz_size" "$xz_budget"
if [ "$size" -gt "$binary_budget" ] || [ "$xz_size" -gt "$xz_budget" ]; then
  echo "size: over budget" >&2
  exit 1
fi
