#!/usr/bin/env bash
# Meta-optimisation on the embedded models (offline, CPU). NOT run by the test suite: it takes a long time
# (every iteration runs the parent on a training minibatch and parent + child on all validation documents).
#
#   pip install -e '.[local]' matplotlib      # matplotlib only for DIR/pass_rate.png
#   bash evals/optimize_embedded.sh [OUT_DIR] [ITERATIONS] [BUDGET_CALLS]
#
# Roles "analyzer" and "editor" use the orchestrator's model (Qwen2.5-0.5B on the embedded profile).
# Rerunning the same command resumes (--resume); it also extends a finished run to more iterations.
# Output: OUT_DIR/report.md, OUT_DIR/pass_rate.png, OUT_DIR/iterations.jsonl, OUT_DIR/variants/<id>/,
# OUT_DIR/best/ (then: autodata generate examples/ --out runs/best --prompts OUT_DIR/best).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/optimize-embedded}
ITERATIONS=${2:-3}
BUDGET=${3:-400}
export LANGSMITH_TRACING=${LANGSMITH_TRACING:-false}

RESUME=()
[ -f "$OUT/meta.sqlite" ] && RESUME=(--resume)

autodata optimize \
  --train examples/cs_note_adaptive_batching.md examples/math_note_recurrences.md \
  --val examples/legal_tenancy_notice.md examples/cs_note_adaptive_batching.md \
  --iterations "$ITERATIONS" --budget "$BUDGET" --minibatch 1 --temperature 0.1 \
  --samples 2 --max-rounds 2 --profile local --out "$OUT" "${RESUME[@]}"
