#!/usr/bin/env bash
# Builds the portable slideformer binary for GPU hosts without a Swift toolchain: the Swift
# runtime is linked in statically (glibc and libstdc++ come from the host), the NVIDIA
# libraries are found at run time. Output: dist/slideformer (stripped).
set -euo pipefail
cd "$(dirname "$0")/.."
flags=(-c release --static-swift-stdlib --product slideformer)
swift build "${flags[@]}"
bin="$(swift build "${flags[@]}" --show-bin-path)/slideformer"
mkdir -p dist
strip -o dist/slideformer.tmp "$bin"
mv dist/slideformer.tmp dist/slideformer
size=$(stat -c %s dist/slideformer)
echo "dist/slideformer: $((size / 1024 / 1024)) MiB ($size bytes)"
