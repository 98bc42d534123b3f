"""OpenCV's DIS optical flow on image pairs: the peer of benches/flow_vs_opencv.rs.

Usage: opencv_dis.py PAIRS.json
PAIRS.json holds a list of {"name", "a", "b", "gt" (optional .flo)}. The peer
then answers requests on stdin, one per line: "NAME PRESET THREADS" runs one
timed DIS computation (preset ultrafast, fast or medium) and prints one JSON
line: ms for that run, and EPE when the pair has ground truth. Serving one run
at a time lets the caller interleave its own runs with the peer's, so both see
the same machine load.
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
    pairs = {}
    for pair in json.load(open(sys.argv[1])):
        a = cv2.imread(pair["a"], cv2.IMREAD_GRAYSCALE)
        b = cv2.imread(pair["b"], cv2.IMREAD_GRAYSCALE)
        gt = read_flo(pair["gt"]) if pair.get("gt") else None
        pairs[pair["name"]] = (a, b, gt)
    engines = {}
    for line in sys.stdin:
        name, preset, threads = line.rsplit(maxsplit=2)
        a, b, gt = pairs[name]
        cv2.setNumThreads(int(threads))
        dis = engines.setdefault(preset, cv2.DISOpticalFlow_create(PRESETS[preset]))
        t = time.perf_counter()
        flow = dis.calc(a, b, None)
        reply = {"ms": (time.perf_counter() - t) * 1e3}
        if gt is not None:
            reply["epe"] = epe(flow, gt)
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
