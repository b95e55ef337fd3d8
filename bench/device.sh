#!/usr/bin/env bash
# One prepared run on a GPU machine: install the pinned Python packages from carried wheels (.whl/, see bench/README.md),
# then the cuda checks and the GPU benchmark. Results go to $OUT (or ./bench-out).
set -uo pipefail
out=${OUT:-bench-out}; mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore TOKENIZERS_PARALLELISM=false
[ -d .tinycache ] && export BG2VEC_CACHE=$PWD/.tinycache
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
python3 bench/cuda_check.py 2>&1 | grep -v -i warn | tee "$out/cuda_check.log"
python3 bench/gpu.py --steps 3 --json "$out/gpu_bench.json" 2>&1 | grep -v -iE 'warn|past_key' | tee "$out/gpu_bench.log"
