#!/usr/bin/env python3
"""Reads back what `dlp run --track …` wrote, with each tool's own reader,
and prints it as JSON for the integration tests (tests/it/track/).

  track-check.py mlflow URI EXPERIMENT   runs of EXPERIMENT via MlflowClient
  track-check.py tensorboard LOGDIR      every run under LOGDIR via EventAccumulator

Runs in the venv .ci/run installs (target/track-venv).
"""
import json
import os
import sys


def mlflow_dump(uri, experiment):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    out = []
    for run in client.search_runs([exp.experiment_id], max_results=1000):
        rid = run.info.run_id
        metrics = {}
        for key in run.data.metrics:
            hist = client.get_metric_history(rid, key)
            metrics[key] = sorted([m.step, m.value] for m in hist)
        arts = []
        stack = [None]
        while stack:
            path = stack.pop()
            for f in client.list_artifacts(rid, path):
                if f.is_dir:
                    stack.append(f.path)
                else:
                    arts.append([f.path, f.file_size])
        out.append(
            {
                "run_id": rid,
                "name": run.info.run_name,
                "status": run.info.status,
                "end_time": run.info.end_time,
                "params": dict(run.data.params),
                "tags": dict(run.data.tags),
                "metrics": metrics,
                "artifacts": sorted(arts),
                "parent": run.data.tags.get("mlflow.parentRunId"),
            }
        )
    out.sort(key=lambda r: r["name"])
    return out


def tensorboard_dump(logdir):
    from google.protobuf import json_format
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2
    from tensorboard.util import tensor_util

    runs = {}
    for root, _dirs, files in sorted(os.walk(logdir)):
        if not any("tfevents" in f for f in files):
            continue
        acc = EventAccumulator(root, size_guidance={"scalars": 0, "images": 0, "tensors": 0})
        acc.Reload()
        tags = acc.Tags()
        run = {"scalars": {}, "images": {}, "text": {}, "hparams": {}}
        for tag in tags["scalars"]:
            run["scalars"][tag] = [[e.step, e.value] for e in acc.Scalars(tag)]
        for tag in tags["images"]:
            run["images"][tag] = [
                [e.step, e.width, e.height, len(e.encoded_image_string)] for e in acc.Images(tag)
            ]
        for tag in tags["tensors"]:
            run["text"][tag] = [
                tensor_util.make_ndarray(e.tensor_proto).item().decode() for e in acc.Tensors(tag)
            ]
        try:
            hparams = acc.PluginTagToContent("hparams")
        except KeyError:
            hparams = {}
        for tag, content in hparams.items():
            data = plugin_data_pb2.HParamsPluginData.FromString(content)
            run["hparams"][tag] = json_format.MessageToDict(data)
        runs[os.path.relpath(root, logdir)] = run
    return runs


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "mlflow":
        print(json.dumps(mlflow_dump(sys.argv[2], sys.argv[3])))
    elif len(sys.argv) == 3 and sys.argv[1] == "tensorboard":
        print(json.dumps(tensorboard_dump(sys.argv[2])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
