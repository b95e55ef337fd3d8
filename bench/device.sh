#!/usr/bin/env bash
# One prepared run on a GPU machine without network access (see bench/README.md): install two stacks from carried wheels,
# the current one (.whl/ -> /tmp/site) and llm2vec's legacy one (.whl-legacy/ -> /tmp/site-legacy), then the cuda checks and
# bg2vec's rows of the GPU benchmark on the current stack, llm2vec's rows on the legacy stack, and the ratios of the two.
# Results go to $OUT (or ./bench-out).
set -uo pipefail
out=${OUT:-bench-out}; mkdir -p "$out"
pipi() { python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$1" "${@:2}"; }
pipi /tmp/site .whl/*.whl || exit 1
pipi /tmp/site-legacy .whl-legacy/*.whl || exit 1
export PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore TOKENIZERS_PARALLELISM=false
[ -d .tinycache ] && export BG2VEC_CACHE=$PWD/.tinycache
current() { PYTHONPATH=/tmp/site:$PWD python3 "$@"; }
legacy() { PYTHONPATH=/tmp/site-legacy:$PWD python3 "$@"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
current -c 'import transformers, peft, sentence_transformers; print("current stack: transformers", transformers.__version__, "peft", peft.__version__, "sentence-transformers", sentence_transformers.__version__)' | tee "$out/stacks.txt"
legacy -c 'import transformers, llm2vec; print("legacy stack: transformers", transformers.__version__, "llm2vec imported")' | tee -a "$out/stacks.txt"
current bench/cuda_check.py 2>&1 | grep -v -i warn | tee "$out/cuda_check.log"
current bench/gpu.py --steps 3 --json "$out/gpu_bench.json" 2>&1 | grep -v -iE 'warn|past_key' | tee "$out/gpu_bench.log"
legacy bench/gpu.py --steps 3 --json "$out/gpu_bench_llm2vec.json" 2>&1 | grep -v -iE 'warn|past_key' | tee "$out/gpu_bench_llm2vec.log"
current bench/compare_gpu.py "$out/gpu_bench_llm2vec.json" "$out/gpu_bench.json" --json "$out/gpu_compare.json" 2>&1 \
    | tee "$out/gpu_compare.log"
