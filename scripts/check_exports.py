"""Loads maflow's exports with the real packages, as a lab would.

  lmms-eval     the task folder loads (TaskManager --include_path), every task's
                documents, prompts and videos are read, and process_results on
                the gold answers scores 100 % on every closed task;
  datasets      load_dataset reads the dataset folder: every item, in order;
  llamafactory  its own dataset loader reads the training export (dataset_info.json,
                ShareGPT with videos) and its argument parser takes the example config;
  starter-kit   MA-Bench's starter kit's own run.py loads the ma-bench-json export and
                builds its messages, with frames, for every item; the frame indices it
                reads equal those maflow's `sampling: starter-kit` sends;
  vlmevalkit    the dataset class registers in vlmeval.dataset, VLMEvalKit's own
                build_dataset_from_config builds it from the exported config entry,
                build_prompt gives the video (or its frames) and the text for every
                item, and evaluate on a prediction file of the gold answers gives
                100 on every closed task, and 0 on unreadable replies.

Run by scripts/check-exports.sh, one check per environment:
  python check_exports.py lmms-eval|datasets|llamafactory|vlmevalkit|starter-kit OUT_DIR
Prints one JSON line of findings; exits 1 on any failure.
"""

import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

CLOSED = {"CMAR", "FMAR", "SAD", "MAD", "MAS", "PPR"}


def bench_items(out):
    with open(os.path.join(out, "bench.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def check_lmms_eval(out, name):
    from lmms_eval.tasks import TaskManager, get_task_dict

    folder = os.path.join(out, "exports", "lmms-eval", name)
    manager = TaskManager("WARNING", include_path=folder)
    found = sorted(t for t in manager.all_tasks if t == name or t.startswith(name + "_"))
    tasks = {}

    def flatten(d):
        for key, value in d.items():
            if isinstance(value, dict):
                flatten(value)
            else:
                tasks[getattr(key, "group_name", key) if not isinstance(key, str) else key] = value

    flatten(get_task_dict([name], manager))
    items = bench_items(out)
    report = {"tasks": found, "per_task": {}}
    seen = 0
    for task_name, task in sorted(tasks.items()):
        docs = list(task.test_docs())
        seen += len(docs)
        for doc in docs:
            assert os.path.isfile(task.doc_to_visual(doc)[0]), doc["video"]
            assert doc["question"] in task.doc_to_text(doc)
        row = {"docs": len(docs)}
        if docs and docs[0]["task"] in CLOSED:
            scores = [task.process_results(doc, [doc["answer"]])["accuracy"] for doc in docs]
            wrong = [task.process_results(doc, ["I cannot tell."])["accuracy"] for doc in docs]
            row["gold_accuracy"] = task.aggregation()["accuracy"](scores)
            row["unreadable_accuracy"] = task.aggregation()["accuracy"](wrong)
            assert row["gold_accuracy"] == 100.0, (task_name, row)
        else:
            row["metrics"] = sorted(task.aggregation())
        report["per_task"][task_name] = row
    assert seen == len(items), (seen, len(items))
    report["documents"] = seen
    return report


def check_datasets(out, name):
    import datasets

    folder = os.path.join(out, "exports", "hf-datasets", name)
    bench = datasets.load_dataset(folder, split="test")
    items = bench_items(out)
    assert len(bench) == len(items), (len(bench), len(items))
    for row, item in zip(bench, items):
        assert (row["id"], row["answer"], row["options"]) == (item["id"], item["answer"], item.get("options", [])), row["id"]
    return {"datasets": datasets.__version__, "rows": len(bench), "columns": bench.column_names}


def check_llamafactory(out, dataset):
    import yaml
    from llamafactory.data.loader import _get_merged_dataset
    from llamafactory.hparams.parser import _parse_train_args

    folder = os.path.join(out, "train")
    with open(os.path.join(folder, "qwen3vl_lora_sft.yaml"), encoding="utf-8") as f:
        config = yaml.safe_load(f)
    config["dataset_dir"] = folder
    # Parsing only: a CPU cannot train in bf16, and the output folder is a scratch one.
    config["bf16"] = False
    config["output_dir"] = os.path.join(out, "train", "check-output")
    model_args, data_args, training_args, finetuning_args, _ = _parse_train_args(config)
    data = _get_merged_dataset([dataset], model_args, data_args, training_args, "sft")
    with open(os.path.join(folder, f"{dataset}.json"), encoding="utf-8") as f:
        exported = json.load(f)
    assert len(data) == len(exported), (len(data), len(exported))
    for row in data:
        assert row["_prompt"][0]["content"].startswith("<video>"), row["_prompt"]
        assert row["_response"][0]["content"], row
        assert all(os.path.isfile(v) for v in row["_videos"]), row["_videos"]
    return {
        "records": len(data),
        "columns": sorted(data.column_names),
        "lora": [finetuning_args.lora_rank, finetuning_args.lora_alpha, finetuning_args.lora_dropout],
        "learning_rate": training_args.learning_rate,
        "scheduler": str(training_args.lr_scheduler_type),
        "epochs": training_args.num_train_epochs,
        "batch": [training_args.per_device_train_batch_size, training_args.gradient_accumulation_steps],
        "video_fps": model_args.video_fps,
        "video_pixels": [model_args.video_min_pixels, model_args.video_max_pixels],
        "cutoff_len": data_args.cutoff_len,
    }


def check_vlmevalkit(out, name):
    import importlib.util
    import tempfile

    import pandas as pd

    folder = os.path.join(out, "exports", "vlmevalkit")
    spec = importlib.util.spec_from_file_location("maflow_vlmeval", os.path.join(folder, "maflow_vlmeval.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls = module.register()

    import vlmeval
    import vlmeval.dataset
    from vlmeval.dataset import build_dataset
    from vlmeval.run import build_dataset_from_config
    from vlmeval.smp import dump

    assert vlmeval.dataset.MaflowBench is cls
    with open(os.path.join(folder, f"{name}.config.json"), encoding="utf-8") as f:
        config = json.load(f)
    dataset = build_dataset_from_config(config["data"], name)
    assert isinstance(dataset, cls), type(dataset)
    # Once registered, a plain `--data <name>` finds the class too, not VLMEvalKit's text-only fallback.
    assert isinstance(build_dataset(name), cls)
    items = bench_items(out)
    assert len(dataset) == len(items), (len(dataset), len(items))
    parts = {"video": 0, "image": 0, "text": 0}
    for k, item in enumerate(items):
        line = dataset.data.iloc[k]
        assert line["id"] == item["id"], (line["id"], item["id"])
        for video_llm in (True, False):
            message = dataset.build_prompt(k, video_llm=video_llm)
            visual = [m for m in message if m["type"] != "text"]
            text = [m["value"] for m in message if m["type"] == "text"]
            assert len(text) == 1 and item["question"] in text[0], (item["id"], message)
            assert all(os.path.isfile(m["value"]) for m in visual), (item["id"], visual)
            assert len(visual) == (1 if video_llm else dataset.nframe), (item["id"], visual)
            for m in message:
                parts[m["type"]] += 1

    def evaluate(predictions):
        data = dataset.data.copy()
        data["prediction"] = predictions
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, f"check_{name}.xlsx")
            dump(data, path)
            return dataset.evaluate(path)

    gold = evaluate([i["answer"] or i.get("reference", "") for i in items])
    unreadable = evaluate(["I cannot tell." for _ in items])
    for task, row in gold.items():
        if task in CLOSED:
            assert row["accuracy"] == 100.0, (task, row)
            assert unreadable[task]["accuracy"] == 0.0, (task, unreadable[task])
    return {
        "vlmeval": getattr(vlmeval, "__version__", "?"),
        "class": f"{cls.__module__}.{cls.__name__}",
        "type": cls.TYPE,
        "items": len(dataset),
        "videos": len(dataset.videos),
        "prompt_parts": parts,
        "gold": gold,
        "unreadable": {t: r["accuracy"] for t, r in unreadable.items() if isinstance(r, dict) and "accuracy" in r},
    }


def check_starter_kit(out, name, maflow="target/release/maflow", kit="../shared/data/ma-bench/starter-kit"):
    """The kit's run.py, unchanged, on the ma-bench-json export; its frames beside maflow's own."""
    import http.server
    import subprocess
    import tempfile
    import threading

    folder = os.path.abspath(os.path.join(out, "exports", "ma-bench-json"))
    questions = os.path.join(folder, f"{name}.json")
    os.environ["INPUT_JSON"] = questions
    os.environ["VIDEO_DIR"] = os.path.join(folder, "videos")
    sys.path.insert(0, os.path.abspath(kit))
    import cv2
    import run  # the starter kit's runner, as published

    # The frames run.py reads: each position it seeks to and reads a frame at.
    opened = cv2.VideoCapture

    class Recording:
        def __init__(self, path):
            self.cap, self.path, self.at = opened(path), path, 0

        def set(self, prop, value):
            if prop == cv2.CAP_PROP_POS_FRAMES:
                self.at = int(value)
            return self.cap.set(prop, value)

        def read(self):
            ok, frame = self.cap.read()
            if ok:
                read_at.setdefault(os.path.basename(self.path)[: -len(".mp4")], []).append(self.at)
            return ok, frame

        def __getattr__(self, attr):
            return getattr(self.cap, attr)

    read_at = {}
    run.cv2.VideoCapture = Recording
    items = run.load_dataset(questions)
    images = 0
    # Tasks the kit's prompts.py has no system prompt for (it names some tasks otherwise).
    unprompted = set()
    for item in items:
        read_at.pop(item["video"], None)
        messages = run.build_messages(item)
        parts = messages[-1]["content"]
        frames = [p for p in parts if p.get("type") == "image_url"]
        texts = [p["text"] for p in parts if p.get("type") == "text"]
        assert frames and any(item["question"] in t for t in texts), (item["qid"], messages)
        assert messages[0]["role"] == "system", item["qid"]
        if not messages[0]["content"]:
            unprompted.add(item["task"])
        images += len(frames)
    kit_frames = dict(read_at)

    # maflow's starter-kit sampling on the same rows and videos, against a stand-in endpoint.
    class Endpoint(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.reply({"data": [{"id": "stand-in"}]})

        def do_POST(self):
            # Prompt tokens grow with what is sent, images included, as a vision model's do.
            sent = len(self.rfile.read(int(self.headers["Content-Length"])))
            self.reply({"choices": [{"message": {"content": "A"}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": sent // 4, "completion_tokens": 1}})

        def reply(self, body):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        spec = os.path.join(tmp, "kit.yaml")
        with open(spec, "w", encoding="utf-8") as f:
            f.write(f"""name: kit
defaults: {{out: {tmp}/out, store: {tmp}/store, workers: 2}}
sources:
  - {{id: bench, kind: ma-bench-json, params: {{questions: {json.dumps(questions)}, videos: {json.dumps(os.environ["VIDEO_DIR"])}}}}}
operators:
  - {{id: qa, kind: given-qa, inputs: [bench]}}
  - id: model
    kind: respond
    inputs: [qa]
    params:
      backend: llm
      sampling: starter-kit
      prompt: {json.dumps(os.path.abspath("pipelines/prompts/track3.md"))}
      llm: {{base_url: "http://127.0.0.1:{server.server_port}/v1", model: stand-in}}
sinks:
  - {{id: answers, kind: jsonl, inputs: [model]}}
""")
        done = subprocess.run([maflow, "run", spec, "-q"], capture_output=True, text=True)
        server.shutdown()
        assert done.returncode == 0, done.stderr
        with open(os.path.join(tmp, "out", "kit", "answers.jsonl"), encoding="utf-8") as f:
            records = [json.loads(line) for line in f]
    maflow_frames = {r["clip"]: r["frames"]["indices"] for r in records}
    assert maflow_frames == kit_frames, (maflow_frames, kit_frames)
    return {"items": len(items), "images": images, "videos": len(kit_frames),
            "no_system_prompt_in_the_kit": sorted(unprompted),
            "frames": {clip: len(at) for clip, at in kit_frames.items()}, "same_indices": True,
            "indices": kit_frames}


def main():
    check, out = sys.argv[1], sys.argv[2]
    name = sys.argv[3] if len(sys.argv) > 3 else "ma_bench"
    checks = {
        "lmms-eval": check_lmms_eval,
        "datasets": check_datasets,
        "llamafactory": check_llamafactory,
        "vlmevalkit": check_vlmevalkit,
        "starter-kit": check_starter_kit,
    }
    try:
        found = checks[check](out, name if check != "llamafactory" else "ma52_describe")
    except Exception as e:  # the finding is the failure, named
        print(json.dumps({"check": check, "ok": False, "error": f"{type(e).__name__}: {e}"}))
        raise
    print(json.dumps({"check": check, "ok": True, **found}))


if __name__ == "__main__":
    main()
