# Sourced by the other scripts: puts NVRTC from the PyPI wheel (installed by
# setup.sh) on LD_LIBRARY_PATH, where the CUDA backend loads it from.
nvrtc_lib=$(python3 -c "import nvidia.cuda_nvrtc as m, os; print(os.path.join(list(m.__path__)[0], 'lib'))" 2>/dev/null || true)
if [ -n "$nvrtc_lib" ] && [ -d "$nvrtc_lib" ]; then
    export LD_LIBRARY_PATH="$nvrtc_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
