#!/usr/bin/env bash
# Every GPU benchmark in one go, within 8 minutes on one GPU, figures into one file:
#   1. feature visualization throughput: InceptionV1 mixed4b, 512 channels, 224 px, 512
#      steps, in one batch (target >= 20 vis/s) against one-unit-at-a-time loops, ours and
#      Lucent's render_vis, on the same GPU (target >= 30x): benchmarks/optvis.py throughput;
#   2. the whole demo atlas of both demo models, end to end (target < 60 s):
#      benchmarks/demo_atlas.py;
#   3. the gpu-marked tests (tests/gpu/).
# The file is $OUT/gpu-results.txt when $OUT is set (the lent GPU machine's folder that
# comes back), else benchmarks/gpu-results/gpu-<time>.txt.
#
#   bash benchmarks/gpu.sh            # on a CUDA machine; fails at once without one
#   bash benchmarks/gpu.sh --smoke    # (or ATLAS_GPU_SMOKE=1) tiny sizes on the CPU: checks the script only
set -uo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
SMOKE="${ATLAS_GPU_SMOKE:-0}"
[ "${1:-}" = "--smoke" ] && SMOKE=1

if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "benchmarks/gpu.sh: $PY cannot import torch: run make install first, or set PYTHON" >&2
  exit 1
fi
if [ "$SMOKE" = 1 ]; then
  SCALE=3  # a CPU is slower than the limits below allow, even at tiny sizes
  DEVICE=cpu
  OPTVIS=(--units 4 --size 64 --steps 4 --baseline-units 1)
  DEMO=(--smoke)
else
  if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "benchmarks/gpu.sh: no CUDA GPU: torch.cuda.is_available() is False here; nothing was run" \
         "(bash benchmarks/gpu.sh --smoke checks the script on a CPU)" >&2
    exit 1
  fi
  SCALE=1  # the limits add up to 8 minutes
  DEVICE=cuda
  OPTVIS=(--units 512 --size 224 --steps 512 --baseline-units 2)
  DEMO=()
fi

if [ -n "${OUT:-}" ]; then
  RESULTS="$OUT/gpu-results.txt"
else
  RESULTS="benchmarks/gpu-results/gpu-$(date +%Y%m%d-%H%M%S).txt"
fi
mkdir -p "$(dirname "$RESULTS")"
: > "$RESULTS"
FAILED=()

# step NAME SECONDS COMMAND...: run it with a time limit, its output on the terminal and in
# the results file (progress bars left out of the file); a failure is noted and the rest run.
step() {
  local name="$1" limit="$2"; shift 2
  echo "== $name ($(date -u +%H:%M:%S) UTC, limit $((limit * SCALE)) s)" | tee -a "$RESULTS"
  local start=$SECONDS
  timeout "$((limit * SCALE))" "$@" 2>&1 | tee >(grep -v $'\r' >> "$RESULTS") > /dev/null
  local rc=${PIPESTATUS[0]}
  echo "-- $name: exit $rc after $((SECONDS - start)) s" | tee -a "$RESULTS"
  [ "$rc" = 0 ] || FAILED+=("$name")
}

echo "benchmarks/gpu.sh $( [ "$SMOKE" = 1 ] && echo '--smoke (tiny sizes on the CPU: no figure here is a measurement)' ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')" | tee -a "$RESULTS"
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())])' | tee -a "$RESULTS"
step "optvis throughput" 270 "$PY" -m benchmarks.optvis throughput --device "$DEVICE" "${OPTVIS[@]}"
step "demo atlas" 120 "$PY" -m benchmarks.demo_atlas --device "$DEVICE" "${DEMO[@]}"
step "gpu tests" 90 "$PY" -m pytest -q -p no:cacheprovider -m gpu -rs tests/gpu

echo "results: $RESULTS"
if [ "${#FAILED[@]}" -gt 0 ]; then
  echo "benchmarks/gpu.sh: failed: ${FAILED[*]}" | tee -a "$RESULTS" >&2
  exit 1
fi
