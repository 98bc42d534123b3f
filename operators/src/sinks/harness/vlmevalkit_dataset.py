"""A maflow benchmark as a VLMEvalKit video dataset.

This folder holds ``<name>.tsv`` (one row per item: ``index``, ``id``,
``video`` as the clip's suffix-free name, ``question``, ``options`` as a JSON
list, ``answer``, ``category`` (the task), ``reference``, ``level``,
``action``), ``videos/<clip>.mp4`` (links to the clips), ``prompts.json``
(maflow's instruction per task and its judge rubrics), ``<name>.config.json``
and this file.

``MaflowBench`` reads the TSV with ``videos/`` as its root. Its prompt is the
clip (or its frames, for a model that takes images only) and maflow's
instruction for the item's task with the question and lettered options. Its
``evaluate`` reads replies as maflow does: accuracy per closed task, and
MADU and MARE judged L1..L3 with maflow's rubrics by the endpoint in
``MAFLOW_JUDGE_BASE_URL``, ``MAFLOW_JUDGE_MODEL`` and ``MAFLOW_JUDGE_API_KEY``;
without one they are left to maflow's own judge and said so.

VLMEvalKit looks dataset classes up in ``vlmeval.dataset`` only, so run it
through this file, which puts the class there first:

    python maflow_vlmeval.py --config <name>.config.json [VLMEvalKit's options]

or call ``register()`` before VLMEvalKit's own ``run.main()``.
Written by maflow's ``harness-export``.
"""

import json
import os
import re
import urllib.request

# <maflow: replies>

HERE = os.path.dirname(os.path.abspath(__file__))

try:
    from vlmeval.dataset.video_base import VideoBaseDataset
except ImportError:  # the reading and scoring below work without VLMEvalKit
    VideoBaseDataset = object


def datasets():
    """The benchmarks in this folder, one per TSV."""
    return sorted(f[: -len(".tsv")] for f in os.listdir(HERE) if f.endswith(".tsv"))


def _text(value):
    """A TSV cell as text; pandas reads an empty cell as NaN."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def item(line):
    """A row (a dict, or a pandas row) as the item maflow reads replies against."""
    def get(key):
        return _text(line[key]) if key in line else ""

    options = get("options")
    return {
        "id": get("id") or get("index"),
        "task": get("category"),
        "question": get("question"),
        "options": json.loads(options) if options else [],
        "answer": get("answer"),
        "reference": get("reference"),
    }


def score(rows):
    """Scores of (row, prediction) pairs, per task.

    A closed task gets its accuracy in percent; an open one its mean L1..L3
    (0..5) when a judge endpoint is set, else only its item count and who
    scores it. ``closed`` is the mean of the closed tasks' accuracies, and
    ``final`` MA-Bench's final score when all twelve sub-scores are there.
    """
    judged = judge_configured()
    tasks = {}
    for line, prediction in rows:
        doc = item(line)
        reply = _text(prediction)
        entry = tasks.setdefault(doc["task"], {"items": 0, "sums": {}})
        entry["items"] += 1
        if doc["task"] in CLOSED:
            values = {"accuracy": closed_accuracy(doc, reply)}
        elif judged:
            values = judge(doc, reply.strip())
        else:
            continue
        for key, value in values.items():
            entry["sums"][key] = entry["sums"].get(key, 0.0) + value
    out = {}
    for task in [t for t in TASKS if t in tasks]:
        entry = tasks[task]
        row = {"items": entry["items"]}
        row.update({k: round(v / entry["items"], 2) for k, v in entry["sums"].items()})
        if task in OPEN and not judged:
            row["scored_by"] = "maflow's judge (set MAFLOW_JUDGE_BASE_URL and MAFLOW_JUDGE_MODEL to judge here)"
        out[task] = row
    closed = [out[t]["accuracy"] for t in out if t in CLOSED]
    if closed:
        out["closed"] = round(sum(closed) / len(closed), 2)
    subs = [out[t]["accuracy"] for t in CLOSED if t in out]
    subs += [out[t][f"L{k}"] * 20 for t in OPEN if t in out and "L1" in out[t] for k in (1, 2, 3)]
    if len(subs) == len(CLOSED) + 3 * len(OPEN):
        out["final"] = round(sum(subs) / len(subs), 2)
    return out


class MaflowBench(VideoBaseDataset):
    """A maflow benchmark: the clip and maflow's prompt per item, scored as maflow scores."""

    TYPE = "Video-VQA"
    MODALITY = "VIDEO"

    def __init__(self, dataset=None, nframe=8, fps=-1, pack=False):
        names = datasets()
        if dataset is None and len(names) == 1:
            dataset = names[0]
        super().__init__(dataset=dataset, nframe=nframe, fps=fps, pack=pack)

    @classmethod
    def supported_datasets(cls):
        return datasets()

    def prepare_dataset(self, dataset):
        data_file = os.path.join(HERE, f"{dataset}.tsv")
        if not os.path.isfile(data_file):
            raise ValueError(f"{dataset}: no {data_file}; this folder holds {', '.join(datasets()) or 'no benchmark'}")
        return dict(root=os.path.join(HERE, "videos"), data_file=data_file)

    def build_prompt(self, line, video_llm):
        if isinstance(line, int):
            line = self.data.iloc[line]
        video = _text(line["video"])
        if video_llm:
            visual = [dict(type="video", value=os.path.join(self.data_root, video + ".mp4"))]
        else:
            visual = [dict(type="image", value=path) for path in self.save_video_frames(video)]
        return visual + [dict(type="text", value=prompt_text(item(line)))]

    def evaluate(self, eval_file, **judge_kwargs):
        import pandas as pd

        data = pd.read_excel(eval_file) if eval_file.endswith(".xlsx") else pd.read_csv(eval_file, sep="\t")
        scores = score((row, row.get("prediction")) for _, row in data.iterrows())
        with open(os.path.splitext(eval_file)[0] + "_maflow_score.json", "w", encoding="utf-8") as f:
            json.dump(scores, f, indent=2)
        return scores


def register():
    """Makes ``MaflowBench`` a class VLMEvalKit finds, by config (``"class": "MaflowBench"``) or by ``--data``."""
    import vlmeval.dataset

    vlmeval.dataset.MaflowBench = MaflowBench
    classes = getattr(vlmeval.dataset, "DATASET_CLASSES", None)
    if isinstance(classes, list) and MaflowBench not in classes:
        classes.append(MaflowBench)
    return MaflowBench


if __name__ == "__main__":
    register()
    from vlmeval.run import main

    main()
