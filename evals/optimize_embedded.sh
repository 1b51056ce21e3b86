#!/usr/bin/env bash
# Meta-optimisation on the embedded models (offline, CPU). NOT run by the test suite: it takes a long time
# (every iteration runs the parent on a training minibatch and parent + child on all validation documents).
#
#   pip install -e '.[local]' matplotlib      # matplotlib only for DIR/pass_rate.png
#   bash evals/optimize_embedded.sh [OUT_DIR] [ITERATIONS] [BUDGET_CALLS]
#
# The documents are the real-document corpus of evals/corpus.py (made from files Python and Debian
# install), split by kind into 6 training and 6 validation documents that share none: two of each kind on
# either side. Roles "analyzer" and "editor" use the orchestrator's model of the embedded profile.
# Rerunning the same command resumes (--resume); it also extends a finished run to more iterations.
# Output: OUT_DIR/report.md, OUT_DIR/pass_rate.png, OUT_DIR/iterations.jsonl, OUT_DIR/variants/<id>/,
# OUT_DIR/best/ (then: autodata generate DOCS --out runs/best --prompts OUT_DIR/best).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/optimize-embedded}
ITERATIONS=${2:-3}
BUDGET=${3:-1500}
export LANGSMITH_TRACING=${LANGSMITH_TRACING:-false}

CORPUS="$OUT/corpus"
python -m autodata.evals.corpus "$CORPUS" >/dev/null
TRAIN=("$CORPUS"/maths/statistics_{means,variance}.md "$CORPUS"/cs/{heaps,semaphores}.md
  "$CORPUS"/legal/{apache_grants,gpl3_termination}.md)
VAL=("$CORPUS"/maths/statistics_{grouped_median,regression}.md "$CORPUS"/cs/{queues,condition_variables}.md
  "$CORPUS"/legal/{mpl2_responsibilities,psf_agreement}.md)

RESUME=()
[ -f "$OUT/meta.sqlite" ] && RESUME=(--resume)

autodata optimize --train "${TRAIN[@]}" --val "${VAL[@]}" \
  --iterations "$ITERATIONS" --budget "$BUDGET" --minibatch 2 --temperature 0.1 \
  --mode rubric --samples 2 --max-rounds 2 --profile local --out "$OUT" "${RESUME[@]}"
