#!/usr/bin/env bash
# One visit to a GPU host: doctor, the full selftest (fixed seed, then a fresh one), the op
# benchmark. Usage: scripts/gpu-check.sh [binary] [log folder (default ./gpu-check-logs)]
set -uo pipefail
bin=${1:-dist/slideformer}
out=${2:-gpu-check-logs}
mkdir -p "$out"
export SLIDEFORMER_CACHE=${SLIDEFORMER_CACHE:-/tmp/slideformer-cache}
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null; } | tee "$out/host.log"
"$bin" doctor 2>&1 | tee "$out/doctor.log"
"$bin" selftest --seed 1 2>&1 | tee "$out/selftest.log"
"$bin" selftest 2>&1 | tail -n 4 | tee -a "$out/selftest.log"
stdbuf -oL "$bin" bench cuda 2>&1 | tee "$out/bench.log"
