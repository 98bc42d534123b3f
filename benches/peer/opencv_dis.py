"""OpenCV's DIS optical flow on image pairs: the peer of benches/flow_vs_opencv.rs.

Usage: opencv_dis.py PAIRS.json REPEATS
PAIRS.json holds a list of {"name", "a", "b", "gt" (optional .flo)}. For every
pair, preset (ultrafast, fast, medium) and thread count (1, 2) it prints one
JSON line: name, preset, threads, median ms per pair, and EPE when gt is given.
"""
import json
import sys
import time

import cv2
import numpy as np

PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def read_flo(path):
    with open(path, "rb") as f:
        magic = np.fromfile(f, np.float32, 1)[0]
        if magic != 202021.25:
            raise ValueError(f"{path}: not a .flo file")
        w, h = np.fromfile(f, np.int32, 2)
        return np.fromfile(f, np.float32, 2 * w * h).reshape(h, w, 2)


def epe(flow, gt):
    known = (np.abs(gt[..., 0]) < 1e9) & (np.abs(gt[..., 1]) < 1e9)
    err = np.sqrt(((flow - gt) ** 2).sum(axis=2))
    return float(err[known].mean())


def main():
    pairs = json.load(open(sys.argv[1]))
    repeats = int(sys.argv[2])
    for pair in pairs:
        a = cv2.imread(pair["a"], cv2.IMREAD_GRAYSCALE)
        b = cv2.imread(pair["b"], cv2.IMREAD_GRAYSCALE)
        gt = read_flo(pair["gt"]) if pair.get("gt") else None
        for preset, code in PRESETS.items():
            for threads in (1, 2):
                cv2.setNumThreads(threads)
                dis = cv2.DISOpticalFlow_create(code)
                flow = dis.calc(a, b, None)
                times = []
                for _ in range(repeats):
                    t = time.perf_counter()
                    flow = dis.calc(a, b, None)
                    times.append((time.perf_counter() - t) * 1e3)
                line = {"name": pair["name"], "preset": preset, "threads": threads,
                        "ms": sorted(times)[len(times) // 2]}
                if gt is not None:
                    line["epe"] = epe(flow, gt)
                print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
