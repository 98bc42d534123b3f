#!/usr/bin/env bash
# The benchmark's check at full scale: 3,024 rendered clips (336 per action) through
# pipelines/qa-check.yaml, with the assertions of tests/qa_check.rs (random at the
# chance rates within 3 standard errors and 2 points, the descriptor oracle at 95 % or more on the
# yes/no tasks, yes/no balanced within 2 points). Prints every model's accuracy per task.
# On 2 cores: about 6.5 minutes, after a release build of the tests (6.5 more, cold). Usage: bash scripts/qa-check.sh [clips per action]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/cuda-libs.sh
MAFLOW_QA_CHECK_PER_ACTION="${1:-336}" cargo test --release --test integration -- \
    --exact qa_check::rendered_benchmark_is_balanced_answerable_and_random_is_at_chance --nocapture
