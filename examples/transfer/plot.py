"""Validation curves of the transfer example beside training from scratch:
python3 examples/transfer/plot.py /tmp/scratch /tmp/transfer /tmp/finetune OUT.png
(needs matplotlib)."""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

*runs, out = sys.argv[1:]
labels = ["from scratch", "frozen 0–4 convolutions", "0–4 convolutions, fine-tuned"]
fig, (acc, loss) = plt.subplots(1, 2, figsize=(9, 3.4))
for run, label in zip(runs, labels):
    rows = list(csv.DictReader(open(f"{run}/train.csv")))
    epochs = [int(r["epoch"]) for r in rows]
    acc.plot(epochs, [float(r["val_accuracy"]) for r in rows], marker="o", ms=3, label=label)
    loss.plot(epochs, [float(r["val_loss"]) for r in rows], marker="o", ms=3, label=label)
acc.set(xlabel="epoch", ylabel="val_accuracy", title="digits 5–9, 50 training images")
loss.set(xlabel="epoch", ylabel="val_loss")
acc.legend(fontsize=8)
for ax in (acc, loss):
    ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(out, dpi=110)
