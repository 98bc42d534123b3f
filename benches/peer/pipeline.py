"""The per-clip descriptor chain as a researcher would write it in Python:
the peer of benches/e2e.rs.

With --models (run it in the environment scripts/setup.sh makes, with
mediapipe==0.10.21): PyAV decodes RGB frames; MediaPipe's own Pose
(model_complexity=1, its tracking and smoothing) gives the 33 landmarks and
its SelfieSegmentation (model_selection=0, on the whole frame) the person
mask, cut to the skeleton's widened capsules as maflow's `both` does; the
rest is as below. Writes <out>/<clip>.landmarks.json too, and prints the
seconds spent in each stage.

Without --models, for each clip: PyAV decodes the video and keeps the luma plane; OpenCV's
DIS (OpenCV's preset of the name maflow's spec starts from, at the same
reduced scale, each pair started from the previous pair's flow) gives the flow; the skeleton comes from a COCO-17
keypoint file (the person with the highest mean score per frame); numpy
builds the 14 body-part capsules on the skeleton (the same geometry as
maflow: radii as fractions of the torso length), masks the body with their
widened union at a quarter of the resolution, gives each flow sample to the
part whose capsule reaches it most closely, and takes the per-part median
(y flipped, so vy > 0 is upward). Unsure parts are interpolated between
sure frames. Writes <out>/<clip>.json in the benchmark's shape.

Usage: pipeline.py --clips DIR (--skeletons DIR | --models) --out DIR
       [--preset medium] [--scale 0.5] [--threads 1]
Prints one JSON line: clips, frames, seconds, and seconds per stage.
"""
import argparse
import json
import os
import time

import av
import cv2
import numpy as np

PARTS = ["Head", "Torso", "Left_Upper_Arm", "Right_Upper_Arm", "Left_Lower_Arm", "Right_Lower_Arm",
         "Left_Hand", "Right_Hand", "Left_Upper_Leg", "Right_Upper_Leg", "Left_Lower_Leg",
         "Right_Lower_Leg", "Left_Foot", "Right_Foot"]
PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
           "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
RADII = {"head": 0.42, "torso": 0.38, "upper_arm": 0.17, "lower_arm": 0.14, "hand": 0.17,
         "upper_leg": 0.22, "lower_leg": 0.17, "foot": 0.15}
MASK_RESOLUTION, MASK_MARGIN, MIN_SCORE, MIN_PIXELS, SELFIE_THRESHOLD = 0.25, 1.3, 0.5, 20, 0.5


def read_skeletons(path):
    """Per frame: (17, 3) keypoints of the most confident person, or None."""
    with open(path) as f:
        data = json.load(f)
    items = data["annotations"] if isinstance(data, dict) else data
    frames = {}
    for item in items:
        k = np.asarray(item["keypoints"], np.float32).reshape(17, 3)
        k[:, 2] = np.clip(k[:, 2], 0, 1)
        i = int(item["image_id"])
        if i not in frames or k[:, 2].mean() > frames[i][:, 2].mean():
            frames[i] = k
    return frames


def coco_joints(k):
    """The joints the parts rest on, from COCO-17 keypoints: (xy, score) each, pairs (left, right)."""
    j = lambda i: (k[i, :2].astype(np.float32), float(k[i, 2]))
    pair = lambda a, b: [j(a), j(b)]
    return {"nose": j(0), "head": mean_joint(k, [0, 3, 4]), "shoulder": pair(5, 6), "elbow": pair(7, 8),
            "wrist": pair(9, 10), "hand": pair(9, 10), "hip": pair(11, 12), "knee": pair(13, 14),
            "ankle": pair(15, 16), "toe": pair(15, 16)}


def blazepose_joints(k):
    """The same joints from MediaPipe's 33 landmarks (pixels, score)."""
    j = lambda i: (k[i, :2].astype(np.float32), float(k[i, 2]))
    pair = lambda a, b: [j(a), j(b)]
    return {"nose": j(0), "head": mean_joint(k, [0, 7, 8]), "shoulder": pair(11, 12), "elbow": pair(13, 14),
            "wrist": pair(15, 16), "hand": [mean_joint(k, [15, 17, 19]), mean_joint(k, [16, 18, 20])],
            "hip": pair(23, 24), "knee": pair(25, 26), "ankle": pair(27, 28), "toe": pair(31, 32)}


def mean_joint(k, idx):
    return k[idx, :2].mean(axis=0), float(min(1.0, *k[idx, 2]))


def capsules(joints):
    """The 14 parts as (a, b, radius, anchor, score)."""
    def mid(a, b):
        return (a[0] + b[0]) / 2, min(a[1], b[1])
    J = joints
    nose, head = J["nose"], J["head"]
    neck, pelvis = mid(*J["shoulder"]), mid(*J["hip"])
    sh = J["shoulder"]
    s = max(np.hypot(*(neck[0] - pelvis[0])), np.hypot(*(sh[0][0] - sh[1][0])), 1.0)
    def capsule(a, b, r, anchor):
        return (a[0], b[0], r * s, anchor, min(a[1], b[1]))
    shapes = [(head[0], head[0], RADII["head"] * s, nose[0], min(nose[1], head[1]))]
    torso_top = (neck[0] * 0.85 + pelvis[0] * 0.15, neck[1])
    shapes.append(capsule(torso_top, pelvis, RADII["torso"], (neck[0] + pelvis[0]) / 2))
    sides = []
    for i in range(2):
        sh, el, wr, hd = J["shoulder"][i], J["elbow"][i], J["wrist"][i], J["hand"][i]
        hp, kn, an, to = J["hip"][i], J["knee"][i], J["ankle"][i], J["toe"][i]
        sides.append([
            capsule(sh, el, RADII["upper_arm"], (sh[0] + el[0]) / 2),
            capsule(el, wr, RADII["lower_arm"], (el[0] + wr[0]) / 2),
            capsule(wr, hd, RADII["hand"], hd[0]),
            capsule(hp, kn, RADII["upper_leg"], (hp[0] + kn[0]) / 2),
            capsule(kn, an, RADII["lower_leg"], (kn[0] + an[0]) / 2),
            capsule(an, to, RADII["foot"], (an[0] + to[0]) / 2),
        ])
    for a, b in zip(sides[0], sides[1]):
        shapes += [a, b]
    return shapes


def reach(shape, x, y):
    """Distance from points (x, y) to the capsule's segment over its radius."""
    a, b, r = shape[0], shape[1], shape[2]
    d = b - a
    len2 = float(d @ d)
    t = np.clip(((x - a[0]) * d[0] + (y - a[1]) * d[1]) / len2, 0, 1) if len2 > 0 else 0.0
    return np.hypot(x - a[0] - t * d[0], y - a[1] - t * d[1]) / r


def bounds(shapes, margin=1.0):
    """Union bounding box (x0, y0, x1, y1) of the capsules, radii times `margin`."""
    lo = np.min([np.minimum(s[0], s[1]) - s[2] * margin for s in shapes], axis=0)
    hi = np.max([np.maximum(s[0], s[1]) + s[2] * margin for s in shapes], axis=0)
    return lo[0], lo[1], hi[0], hi[1]


def window(lo, hi, k, n):
    """Grid cells (centres at (i + 0.5) * k) that can fall in [lo, hi]."""
    return max(int(np.floor(lo / k)), 0), min(int(np.floor(hi / k)) + 1, n)


def mask_grid(w, h):
    mw, mh = max(round(w * MASK_RESOLUTION), 1), max(round(h * MASK_RESOLUTION), 1)
    return mw, mh, mw / w


def body_mask(shapes, w, h):
    mw, mh, scale = mask_grid(w, h)
    mask = np.zeros((mh, mw), bool)
    x0, y0, x1, y1 = bounds(shapes, MASK_MARGIN)
    (c0, c1), (r0, r1) = window(x0, x1, 1 / scale, mw), window(y0, y1, 1 / scale, mh)
    ys, xs = np.mgrid[r0:r1, c0:c1]
    x, y = (xs + 0.5) / scale, (ys + 0.5) / scale
    for s in shapes:
        mask[r0:r1, c0:c1] |= reach((s[0], s[1], s[2] * MASK_MARGIN), x, y) <= 1.0
    return mask, scale


def selfie_on_grid(probability, w, h):
    """The selfie model's full-frame probability, read at the mask grid's pixel centres."""
    mw, mh, scale = mask_grid(w, h)
    cols = np.minimum(((np.arange(mw) + 0.5) / scale).astype(int), w - 1)
    rows = np.minimum(((np.arange(mh) + 0.5) / scale).astype(int), h - 1)
    return probability[np.ix_(rows, cols)] > SELFIE_THRESHOLD


class Stages:
    """Seconds spent per stage."""

    def __init__(self):
        self.seconds = {}

    def time(self, stage):
        stages = self

        class Span:
            def __enter__(self):
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                stages.seconds[stage] = stages.seconds.get(stage, 0.0) + time.perf_counter() - self.start

        return Span()


class Models:
    """MediaPipe's Pose and SelfieSegmentation, new per clip (tracking starts afresh)."""

    def __init__(self, stages):
        import mediapipe as mp
        self.stages = stages
        self.pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1)
        self.selfie = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)

    def landmarks(self, rgb):
        """(33, 3) pixels and visibility (the solutions API leaves presence at 0), or None."""
        h, w = rgb.shape[:2]
        with self.stages.time("library:pose"):
            found = self.pose.process(rgb).pose_landmarks
        if found is None:
            return None
        return np.array([[p.x * w, p.y * h, p.visibility] for p in found.landmark], np.float32)

    def close(self):
        self.pose.close()
        self.selfie.close()


def measure(flow, k, shapes, mask, scale):
    """Per part: median flow (px/frame at input size, y up) over mask ∩ nearest capsule, and sample count."""
    fh, fw = flow.shape[:2]
    x0, y0, x1, y1 = bounds(shapes)
    (c0, c1), (r0, r1) = window(x0, x1, k, fw), window(y0, y1, k, fh)
    flow = flow[r0:r1, c0:c1]
    ys, xs = np.mgrid[r0:r1, c0:c1]
    x, y = (xs + 0.5) * k, (ys + 0.5) * k
    mx, my = (x * scale).astype(int), (y * scale).astype(int)
    inside = (mx < mask.shape[1]) & (my < mask.shape[0])
    on_body = np.zeros_like(inside)
    on_body[inside] = mask[my[inside], mx[inside]]
    reaches = np.stack([reach(s, x, y) for s in shapes])
    reaches[:, ~on_body] = np.inf
    best = reaches.argmin(axis=0)
    owned = reaches.min(axis=0) <= 1.0
    out = []
    for p in range(14):
        sel = owned & (best == p)
        n = int(sel.sum())
        if n == 0:
            out.append(((0.0, 0.0), 0))
            continue
        u, v = flow[..., 0][sel] * k, flow[..., 1][sel] * k
        out.append(((float(np.median(u)), -float(np.median(v))), n))
    return out


def fill_unsure(values, sure):
    values = np.asarray(values, np.float32)
    known = np.flatnonzero(sure)
    if len(known) == 0:
        return values
    t = np.arange(len(values))
    return np.stack([np.interp(t, known, values[known, c]) for c in range(values.shape[1])], axis=1)


def clip_descriptor(video, skeletons, preset, scale, stages):
    """`skeletons`: per frame COCO-17 keypoints, or None to run the models."""
    dis = cv2.DISOpticalFlow_create(PRESETS[preset])
    models = Models(stages) if skeletons is None else None
    frames = []
    with stages.time("decode"), av.open(video) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if models is not None:
                frames.append(frame.to_ndarray(format="rgb24"))
                continue
            plane = frame.planes[0]
            y = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[: frame.height, : frame.width]
            frames.append(np.ascontiguousarray(y))
    h, w = frames[0].shape[:2]
    work = (max(round(w * scale), 1), max(round(h * scale), 1))
    k = 1.0 / scale
    vectors, coords, sure, landmarks = [], [], [], []
    last_coord = np.full((14, 2), 0.5, np.float32)
    previous, prev_flow = None, None
    for t, image in enumerate(frames):
        selfie = None
        if models is not None:
            with stages.time("pose"):
                kp = models.landmarks(image)
            landmarks.append([] if kp is None else [[round(float(v), 2) for v in p] for p in kp])
            with stages.time("segment"):
                with stages.time("library:segment"):
                    probability = models.selfie.process(image).segmentation_mask
                selfie = selfie_on_grid(probability, w, h)
            joints = None if kp is None else blazepose_joints(kp)
        else:
            kp = skeletons.get(t)
            joints = None if kp is None else coco_joints(kp)
        shapes = capsules(joints) if joints is not None else None
        with stages.time("segment"):
            if shapes is None:
                mask, mscale = np.zeros(mask_grid(w, h)[1::-1], bool), mask_grid(w, h)[2]
            else:
                mask, mscale = body_mask(shapes, w, h)
            if selfie is not None:
                mask &= selfie
        with stages.time("flow"):
            gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
            small = cv2.resize(gray, work, interpolation=cv2.INTER_AREA) if work != (w, h) else gray
            flow = None
            if previous is not None:
                # A flow argument of the right size is DIS's initial field.
                with stages.time("library:flow"):
                    flow = dis.calc(previous[0], small, None if prev_flow is None else prev_flow.copy())
                prev_flow = flow
        with stages.time("align"):
            vec, ok = np.zeros((14, 2), np.float32), np.zeros(14, bool)
            if shapes is not None:
                last_coord = np.array([np.clip(s[3] / (w, h), 0, 1) for s in shapes], np.float32)
            if previous is not None:
                _, prev_shapes, prev_mask = previous
                if prev_shapes is not None:
                    for p, ((u, v), n) in enumerate(measure(flow, k, prev_shapes, *prev_mask)):
                        vec[p] = (u, v)
                        score = min(prev_shapes[p][4], shapes[p][4] if shapes is not None else 0.0)
                        ok[p] = score >= MIN_SCORE and n >= MIN_PIXELS
            elif shapes is not None:
                ok = np.array([s[4] >= MIN_SCORE for s in shapes])
        previous = (small, shapes, (mask, mscale))
        vectors.append(vec)
        coords.append(last_coord.copy())
        sure.append(ok)
    if models is not None:
        models.close()
    with stages.time("descriptor"):
        vectors, coords, sure = np.stack(vectors), np.stack(coords), np.stack(sure)
        out = {}
        for p, name in enumerate(PARTS):
            v, c = fill_unsure(vectors[:, p], sure[:, p]), fill_unsure(coords[:, p], sure[:, p])
            out[name] = [{"vector": [round(float(a), 2), round(float(b), 2)], "coord": [round(float(x), 3), round(float(y), 3)]}
                         for (a, b), (x, y) in zip(v, c)]
    return out, landmarks, len(frames)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", required=True, help="folder of <clip>.mp4")
    ap.add_argument("--skeletons", help="folder of <clip>.json (COCO-17)")
    ap.add_argument("--models", action="store_true", help="run MediaPipe's Pose and SelfieSegmentation instead of reading skeletons")
    ap.add_argument("--out", required=True)
    ap.add_argument("--preset", default="medium", choices=sorted(PRESETS))
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if args.models == (args.skeletons is not None):
        ap.error("give either --skeletons or --models")
    cv2.setNumThreads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    start, clips, frames, stages = time.perf_counter(), 0, 0, Stages()
    for name in sorted(os.listdir(args.clips)):
        if not name.endswith(".mp4"):
            continue
        clip = name[:-4]
        skeletons = None if args.models else read_skeletons(os.path.join(args.skeletons, clip + ".json"))
        descriptor, landmarks, n = clip_descriptor(os.path.join(args.clips, name), skeletons, args.preset, args.scale, stages)
        with open(os.path.join(args.out, clip + ".json"), "w") as f:
            json.dump(descriptor, f)
        if args.models:
            with open(os.path.join(args.out, clip + ".landmarks.json"), "w") as f:
                json.dump(landmarks, f)
        clips, frames = clips + 1, frames + n
    print(json.dumps({"clips": clips, "frames": frames, "seconds": time.perf_counter() - start, "stages": stages.seconds}))


if __name__ == "__main__":
    main()
