#!/usr/bin/env bash
# Rebuilds the ONNX pose and segmentation models from the Apache-2.0 TFLite
# files of the PyPI mediapipe==0.10.21 wheel, for machines without ../shared:
#   bash scripts/build-models.sh [OUT_DIR]      (default .maflow/models)
# Tools (tensorflow, tf2onnx, onnx) go into a private virtualenv beside the
# output; nothing outside the registries is fetched. The wheel carries the
# pose detector, the `full` landmark model and the selfie segmenter; the
# `lite` landmark model is not in it, so `model: lite` needs ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-.maflow/models}
work=.maflow/model-build
mkdir -p "$out" "$work"

if [ ! -x "$work/venv/bin/python" ]; then
    echo "build-models: creating a virtualenv with tensorflow-cpu, tf2onnx and onnx"
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install -q "tensorflow-cpu==2.18.1" "tf2onnx==1.17.0" "onnx==1.17.0" "numpy<2" "onnxruntime==1.31.1"
fi
py="$work/venv/bin/python"

wheel=$(ls "$work"/mediapipe-0.10.21-*.whl 2>/dev/null | head -1 || true)
if [ -z "$wheel" ]; then
    echo "build-models: downloading the mediapipe==0.10.21 wheel from PyPI"
    "$work/venv/bin/pip" download -q --no-deps "mediapipe==0.10.21" -d "$work"
    wheel=$(ls "$work"/mediapipe-0.10.21-*.whl | head -1)
fi
rm -rf "$work/tflite" && mkdir -p "$work/tflite"
"$py" - "$wheel" "$work/tflite" <<'PY'
import sys, zipfile
wheel, dst = sys.argv[1], sys.argv[2]
wanted = {
    "mediapipe/modules/pose_detection/pose_detection.tflite": "pose_detection.tflite",
    "mediapipe/modules/pose_landmark/pose_landmark_full.tflite": "pose_landmark_full.tflite",
    "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite": "selfie_segmentation.tflite",
}
with zipfile.ZipFile(wheel) as z:
    for src, name in wanted.items():
        with open(f"{dst}/{name}", "wb") as f:
            f.write(z.read(src))
PY

for name in pose_detection pose_landmark_full selfie_segmentation; do
    echo "build-models: converting $name"
    "$py" scripts/models/materialise_sparse.py "$work/tflite/$name.tflite" "$work/tflite/$name.dense.tflite"
    "$py" -m tf2onnx.convert --tflite "$work/tflite/$name.dense.tflite" --opset 17 \
        --output "$work/$name.raw.onnx" >"$work/$name.log" 2>&1 \
        || { echo "build-models: tf2onnx failed on $name, see $work/$name.log" >&2; exit 1; }
    "$py" scripts/models/replace_transposed_conv.py "$work/$name.raw.onnx" "$out/$name.onnx"
done
(cd "$out" && sha256sum pose_detection.onnx pose_landmark_full.onnx selfie_segmentation.onnx > SHA256SUMS)
echo "build-models: models written to $out"
