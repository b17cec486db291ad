#!/bin/sh
# Debian's torch 1.13 (python3-torch) is linked against the reference BLAS (libblas.so.3 -> netlib), which makes
# training ~8x slower. This extracts Debian's OpenBLAS into a scratch directory WITHOUT installing it (the
# system's BLAS alternative is left alone); train.py is then run with LD_LIBRARY_PATH pointing there.
#   scripts/sample-model/get_openblas.sh [DIR]     (default /tmp/openblas)
# prints the directory to put on LD_LIBRARY_PATH.
set -eu
dir=${1:-/tmp/openblas}
lib="$dir/root/usr/lib/x86_64-linux-gnu/openblas-pthread"
if [ ! -e "$lib/libblas.so.3" ]; then
  mkdir -p "$dir"
  (cd "$dir" && apt-get download libopenblas0-pthread >/dev/null 2>&1)
  dpkg -x "$dir"/libopenblas0-pthread_*.deb "$dir/root"
fi
echo "$lib"
