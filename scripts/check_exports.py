"""Loads maflow's exports with the real packages, as a lab would.

  lmms-eval     the task folder loads (TaskManager --include_path), every task's
                documents, prompts and videos are read, and process_results on
                the gold answers scores 100 % on every closed task;
  datasets      load_dataset reads the dataset folder: every item, in order;
  llamafactory  its own dataset loader reads the training export (dataset_info.json,
                ShareGPT with videos) and its argument parser takes the example config;
  vlmevalkit    the dataset class registers in vlmeval.dataset, VLMEvalKit's own
                build_dataset_from_config builds it from the exported config entry,
                build_prompt gives the video (or its frames) and the text for every
                item, and evaluate on a prediction file of the gold answers gives
                100 on every closed task, and 0 on unreadable replies.

Run by scripts/check-exports.sh, one check per environment:
  python check_exports.py lmms-eval|datasets|llamafactory|vlmevalkit OUT_DIR
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


def main():
    check, out = sys.argv[1], sys.argv[2]
    name = sys.argv[3] if len(sys.argv) > 3 else "ma_bench"
    checks = {
        "lmms-eval": check_lmms_eval,
        "datasets": check_datasets,
        "llamafactory": check_llamafactory,
        "vlmevalkit": check_vlmevalkit,
    }
    try:
        found = checks[check](out, name if check != "llamafactory" else "ma52_describe")
    except Exception as e:  # the finding is the failure, named
        print(json.dumps({"check": check, "ok": False, "error": f"{type(e).__name__}: {e}"}))
        raise
    print(json.dumps({"check": check, "ok": True, **found}))


if __name__ == "__main__":
    main()
