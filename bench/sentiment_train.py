"""Train the `market` backend's learned layer (`core/sentiment/layer.py`) on the development
headlines, print its cross-validated accuracy there, and write its weights
(`src/cryptoagg/core/sentiment/layer.json`). Nothing here loads the held-out part.

    .venv/bin/python -m bench.sentiment_train [--l2 0.003] [--min-count 3] [--folds 5]

The scorer's outputs are taken as an unseen headline meets them: each development headline is
scored without the lexicon entries only it uses (`bench/sentiment_dev.py::jackknifed`), since
the lexicon was partly written from development errors. Multinomial logistic regression with
an L2 penalty, full-batch gradient descent in float64 from zero weights: the same data gives
the same file. Words and word pairs seen fewer than `--min-count` times are left out; weights
that round to zero are dropped from the file.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bench.sentiment_dev import jackknifed
from cryptoagg.core.sentiment.layer import LABELS, features
from cryptoagg.services.sentiment_result import label_of
from tests.fixtures.sentiment.headlines import load

OUT = Path(__file__).parents[1] / "src/cryptoagg/core/sentiment/layer.json"
VERSION = "market-layer-1"
EPOCHS = 600
STEP = 1.0

Rows = list[dict[str, float]]
Matrix = NDArray[np.float64]


def vocabulary(rows: Rows, min_count: int) -> dict[str, int]:
    seen = Counter(f for row in rows for f in row)
    kept = sorted(f for f, n in seen.items() if n >= min_count or not f.startswith(("w:", "b:")))
    return {f: i for i, f in enumerate(kept)}


def matrix(rows: Rows, vocab: dict[str, int]) -> Matrix:
    x = np.zeros((len(rows), len(vocab)))
    for r, row in enumerate(rows):
        for f, v in row.items():
            if (j := vocab.get(f)) is not None:
                x[r, j] = v
    return x


def train(x: Matrix, y: NDArray[np.int64], l2: float) -> tuple[Matrix, Matrix]:
    w, b = np.zeros((x.shape[1], len(LABELS))), np.zeros(len(LABELS))
    target = np.eye(len(LABELS))[y]
    for _ in range(EPOCHS):
        z = x @ w + b
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        w -= STEP * (x.T @ (p - target) / len(y) + l2 * w)
        b -= STEP * (p - target).mean(axis=0)
    return w, b


def figures(predicted: Sequence[int], gold: Sequence[int]) -> tuple[float, float]:
    right = [p == g for p, g in zip(predicted, gold, strict=True)]
    polar = [ok for ok, g in zip(right, gold, strict=True) if LABELS[g] != "neutral"]
    return sum(polar) / len(polar), sum(right) / len(right)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--l2", type=float, default=3e-3)
    parser.add_argument("--min-count", type=int, default=3)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()

    dev = load("dev")
    scored = jackknifed(dev, SentimentIntensityAnalyzer().lexicon)
    rows = [features(h.text, s) for h, s in zip(dev, scored, strict=True)]
    y = np.array([LABELS.index(h.label) for h in dev])  # type: ignore[arg-type]
    rule = [LABELS.index(label_of(s.score)) for s in scored]

    order = list(range(len(dev)))
    random.Random(0).shuffle(order)
    layer_pred, rule_pred, gold = [], [], []
    for fold in range(args.folds):
        held = order[fold :: args.folds]
        trained = [i for n, i in enumerate(order) if n % args.folds != fold]
        vocab = vocabulary([rows[i] for i in trained], args.min_count)
        w, b = train(matrix([rows[i] for i in trained], vocab), y[trained], args.l2)
        z = matrix([rows[i] for i in held], vocab) @ w + b
        layer_pred += [int(k) for k in z.argmax(axis=1)]
        rule_pred += [rule[i] for i in held]
        gold += [int(y[i]) for i in held]
    print(f"dev: {len(dev)} headlines, {args.folds}-fold cross-validation (pos/neg, overall)")
    print("  the score's sign (lexicon alone): {:.1%} / {:.1%}".format(*figures(rule_pred, gold)))
    print("  with the learned layer:           {:.1%} / {:.1%}".format(*figures(layer_pred, gold)))

    vocab = vocabulary(rows, args.min_count)
    w, b = train(matrix(rows, vocab), y, args.l2)
    weights = {
        f: [round(float(v), 4) for v in w[j]]
        for f, j in vocab.items()
        if any(round(float(v), 4) for v in w[j])
    }
    head = {
        "version": VERSION,
        "trained_on": f"{len(dev)} development headlines of tests/fixtures/sentiment",
        "l2": args.l2,
        "min_count": args.min_count,
        "labels": list(LABELS),
        "bias": [round(float(v), 4) for v in b],
    }
    # one feature a line: a retrained file's diff shows what changed
    rows_out = [f"    {json.dumps(f)}: {json.dumps(w)}" for f, w in weights.items()]
    fields = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in head.items()]
    fields.append('  "weights": {\n' + ",\n".join(rows_out) + "\n  }")
    OUT.write_text("{\n" + ",\n".join(fields) + "\n}\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(Path.cwd())}: {len(weights)} features")


if __name__ == "__main__":
    main()
