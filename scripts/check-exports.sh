#!/usr/bin/env bash
# Loads the demo's exports with the real harness packages, from PyPI:
#   lmms-eval==0.7.3 (and datasets)  the task folder, the gold answers scoring 100 %,
#                                    and load_dataset on the dataset folder;
#   llamafactory==0.9.5              its dataset loader on the training export,
#                                    its argument parser on the example config;
#   nvidia-vlmeval==26.3 (VLMEvalKit, NVIDIA's packaging; imports as vlmeval)
#                                    the dataset class built from its config entry,
#                                    every item's prompt, the gold answers scoring 100;
#   opencv-python-headless, openai, tqdm (MA-Bench's starter kit's packages)
#                                    the kit's own run.py on the ma-bench-json export:
#                                    messages with frames for every item, and the
#                                    frame indices maflow's `sampling: starter-kit` sends.
# Each package gets an environment of its own under .maflow/export-check (about
# 7 GB each with torch; the first run takes some 10 minutes). Not part of the
# test suite: the suite checks the exports with plain Python.
#   bash scripts/check-exports.sh [OUT_DIR]     (default: out/demo, made if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/demo}
envs=.maflow/export-check
mkdir -p "$envs"

venv() {  # venv DIR PACKAGE==VERSION IMPORT
    if "$1/bin/python" -c "import $3" 2>/dev/null; then
        echo "check-exports: $2 already installed in $1" >&2
    else
        echo "check-exports: installing $2 into $1" >&2
        rm -rf "$1"
        python3 -m venv "$1"
        # shellcheck disable=SC2086  # $2 may name several packages
        "$1/bin/pip" install -q --disable-pip-version-check $2 >"$1.pip.log" 2>&1 || { tail -20 "$1.pip.log" >&2; exit 1; }
    fi
}
venv "$envs/lmms-eval" "lmms-eval==0.7.3" lmms_eval
venv "$envs/llamafactory" "llamafactory==0.9.5" llamafactory
venv "$envs/vlmevalkit" "nvidia-vlmeval==26.3" vlmeval
venv "$envs/starter-kit" "opencv-python-headless==4.12.0.88 openai tqdm" "cv2, openai, tqdm"

source scripts/cuda-libs.sh
cargo build --release -q
if [ ! -f "$out/bench.jsonl" ] || [ ! -d "$out/exports" ]; then
    target/release/maflow run pipelines/demo.yaml -q
fi

status=0
for check in lmms-eval datasets; do
    "$envs/lmms-eval/bin/python" scripts/check_exports.py "$check" "$out" 2>"$envs/$check.log" || { status=1; tail -20 "$envs/$check.log" >&2; }
done
"$envs/llamafactory/bin/python" scripts/check_exports.py llamafactory "$out" 2>"$envs/llamafactory.log" || { status=1; tail -20 "$envs/llamafactory.log" >&2; }
# VLMEvalKit keeps its frames under $LMUData/images; a scratch one here, not ~/LMUData.
LMUData="$PWD/$envs/LMUData" "$envs/vlmevalkit/bin/python" scripts/check_exports.py vlmevalkit "$out" 2>"$envs/vlmevalkit.log" || { status=1; tail -20 "$envs/vlmevalkit.log" >&2; }
"$envs/starter-kit/bin/python" scripts/check_exports.py starter-kit "$out" 2>"$envs/starter-kit.log" || { status=1; tail -20 "$envs/starter-kit.log" >&2; }
exit $status
