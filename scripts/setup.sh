#!/usr/bin/env bash
# Installs what maflow needs on a fresh Debian machine, idempotently:
# FFmpeg's development libraries (decode), clang (bindings), pkg-config, the
# ffmpeg command, GNU time (peak memory in the benchmarks), Chromium (the
# report's browser test), OpenCV and PyAV
# for Python (the benchmarks' peers), MediaPipe's Python in .maflow/peer-venv, NVRTC, CUDA's run-time compiler
# (compiles the flow kernels; needs no GPU), ONNX Runtime and the
# pose/segmentation models. Safe to run again.
set -euo pipefail

packages=(pkg-config clang libclang-dev libavcodec-dev libavformat-dev libavutil-dev
          libswscale-dev libavfilter-dev libavdevice-dev ffmpeg time chromium)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: system packages already installed"
else
    echo "setup: installing ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python peers of the benchmarks (OpenCV's DIS optical flow), pinned.
if python3 -c "import cv2, numpy; assert cv2.__version__.startswith('5.0.0')" 2>/dev/null; then
    echo "setup: opencv-python-headless already installed"
else
    echo "setup: installing opencv-python-headless==5.0.0.93 and numpy (benchmark peer)"
    python3 -m pip install -q --root-user-action=ignore "opencv-python-headless==5.0.0.93" numpy
fi

# PyAV for the end-to-end benchmark's Python peer (benches/peer/pipeline.py), pinned.
if python3 -c "import av; assert av.__version__ == '18.1.0'" 2>/dev/null; then
    echo "setup: av already installed"
else
    echo "setup: installing av==18.1.0 (end-to-end benchmark peer)"
    python3 -m pip install -q --root-user-action=ignore "av==18.1.0"
fi

# MediaPipe's own Python for the end-to-end benchmark's peer (benches/peer/pipeline.py
# --models), pinned. mediapipe==0.10.21 needs numpy < 2, so it gets an environment of
# its own, .maflow/peer-venv; of its dependencies only those its Pose and
# SelfieSegmentation import are installed (not jax, sounddevice or sentencepiece).
peer=.maflow/peer-venv
if "$peer/bin/python" -c "import mediapipe, cv2, av; assert mediapipe.__version__ == '0.10.21'" 2>/dev/null; then
    echo "setup: mediapipe==0.10.21 already installed in $peer"
else
    echo "setup: installing mediapipe==0.10.21 into $peer (end-to-end benchmark peer)"
    rm -rf "$peer"
    python3 -m venv "$peer"
    "$peer/bin/pip" install -q --disable-pip-version-check --no-deps "mediapipe==0.10.21"
    "$peer/bin/pip" install -q --disable-pip-version-check "numpy==1.26.4" "protobuf==4.25.9" "absl-py==2.5.1" \
        "attrs==26.1.0" "flatbuffers==25.12.19" "matplotlib==3.11.2" "opencv-contrib-python-headless==4.11.0.86" "av==18.1.0" \
        2>"$peer/pip.log" || { cat "$peer/pip.log" >&2; exit 1; }
    # (pip names the dependencies left out on purpose in pip.log.)
fi

# NVRTC from PyPI: the CUDA kernels are compiled to PTX with it, on any machine.
if python3 -c "import importlib.metadata as m; assert m.version('nvidia-cuda-nvrtc-cu12') == '12.9.86'" 2>/dev/null; then
    echo "setup: nvidia-cuda-nvrtc-cu12 already installed"
else
    echo "setup: installing nvidia-cuda-nvrtc-cu12==12.9.86 (CUDA's run-time compiler, no GPU needed)"
    python3 -m pip install -q --root-user-action=ignore "nvidia-cuda-nvrtc-cu12==12.9.86"
fi

# ONNX Runtime from PyPI: the pose and segmentation models run on its shared library,
# linked into .maflow/lib where maflow looks first.
if python3 -c "import onnxruntime; assert onnxruntime.__version__ == '1.31.1'" 2>/dev/null; then
    echo "setup: onnxruntime already installed"
else
    echo "setup: installing onnxruntime==1.31.1 (runs the pose and segmentation models)"
    python3 -m pip install -q --root-user-action=ignore "onnxruntime==1.31.1"
fi
ort_lib=$(python3 -c "import onnxruntime, os, glob; print(sorted(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi', 'libonnxruntime.so*')))[0])")
mkdir -p .maflow/lib
ln -sf "$ort_lib" .maflow/lib/libonnxruntime.so
echo "setup: ONNX Runtime linked at .maflow/lib/libonnxruntime.so -> $ort_lib"

# The MediaPipe models: ../shared/models when it is there (checked against its
# SHA256SUMS), otherwise rebuilt from the PyPI mediapipe wheel into .maflow/models.
if [ -f ../shared/models/SHA256SUMS ]; then
    (cd ../shared/models && sha256sum --quiet -c SHA256SUMS) \
        || { echo "setup: ../shared/models does not match its SHA256SUMS" >&2; exit 1; }
    echo "setup: models found in ../shared/models (checksums match)"
elif [ -f .maflow/models/SHA256SUMS ] && (cd .maflow/models && sha256sum --quiet -c SHA256SUMS 2>/dev/null); then
    echo "setup: models found in .maflow/models"
else
    echo "setup: ../shared/models is absent; rebuilding the models from PyPI mediapipe==0.10.21 (several minutes)"
    bash scripts/build-models.sh .maflow/models
fi

if ! command -v cargo-nextest >/dev/null 2>&1 && ! cargo nextest --version >/dev/null 2>&1; then
    echo "setup: cargo-nextest not found; tests will run with cargo test"
fi
echo "setup: done"
