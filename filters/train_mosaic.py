"""Train the learned mosaic detector: ``python -m filters.train_mosaic``.

Generates the calibration families of ``filters.mosaic_eval`` (never the held-out
ones) at both sizes from a data seed of its own, computes the block features, and
trains ``filters.mosaic.learned.build_net`` to mark the blocks of pasted regions (a
block is a positive when half of it is under a region's mask, ignored when a tenth to a
half is). The region rule (``RegionRule``: which blocks form a region, which count as
its evidence, how that scales with the image) and its threshold are then chosen on a
validation draw of the same families with another seed: the best recall among the
rules that leave at most ``--max-fpr`` of the calibration negatives firing. Writes the
weights, the config, the seeds, the losses and the validation scores to ``--out``
(default: the packaged weights).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from filters.mosaic.features import BLOCK, CHANNELS
from filters.mosaic.learned import (
    DEFAULT_WEIGHTS,
    LearnedModel,
    RegionRule,
    build_net,
    features_of,
    load_model,
    probability_of,
    regions,
    save_model,
)
from filters.mosaic_eval import Sample, generate, overlaps
from filters.mosaic_eval.families import FAMILIES, SIZES

CALIBRATION_FAMILIES = tuple(f.name for f in FAMILIES if not f.held_out)
POSITIVE_AT, IGNORED_FROM = 0.5, 0.1  # block coverage: positive at, ignored from


def block_targets(sample: Sample, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per block: 1 inside a pasted region, 0 outside, and a weight of 0 on the blocks
    a region only grazes."""
    bh, bw = shape
    cover = np.zeros((bh * BLOCK, bw * BLOCK), np.float32)
    for region in sample.regions:
        y0, x0, y1, x1 = region.box
        ya, xa = min(y1, bh * BLOCK), min(x1, bw * BLOCK)
        if ya > y0 and xa > x0:
            cover[y0:ya, x0:xa] = np.maximum(cover[y0:ya, x0:xa],
                                             region.alpha[: ya - y0, : xa - x0] > 0.5)
    share = cover.reshape(bh, BLOCK, bw, BLOCK).mean((1, 3))
    target = (share >= POSITIVE_AT).astype(np.float32)
    weight = ((share >= POSITIVE_AT) | (share < IGNORED_FROM)).astype(np.float32)
    return target, weight


def _dataset(n: int, seed: int, sizes: list[str], cache: Path | None = None
             ) -> list[tuple[Sample, np.ndarray]]:
    """(sample without its pixels, block features) of the calibration families; kept in
    ``cache`` (a folder) when given, since generating them is most of the time."""
    file = cache / f"features-{n}-{seed}-{'-'.join(sizes)}.pkl" if cache else None
    if file is not None and file.is_file():
        with file.open("rb") as fh:
            return pickle.load(fh)  # noqa: S301 - our own cache file
    out = []
    for sample in generate(n, seed, CALIBRATION_FAMILIES, sizes):
        feats = features_of(sample.image)
        if min(feats.shape[1:]) >= 2:
            out.append((replace(sample, image=None, data=b""), feats))
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        with file.open("wb") as fh:
            pickle.dump(out, fh)
    return out


def _best_evidence(sample: Sample, found: list[tuple[float, tuple]]) -> float:
    """Raw summed probability of the best region that counts: any for a negative, one
    on a pasted region for a positive."""
    if sample.positive:
        found = [f for f in found if any(overlaps(f[1], p) for p in sample.boxes)]
    return max((f[0] for f in found), default=0.0)


def train(n: int, val_n: int, epochs: int, seed: int, sizes: list[str], width: int,
          max_fpr: float, out: Path, log=print, cache: Path | None = None) -> dict:
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    start = time.perf_counter()
    data = _dataset(n, seed, sizes, cache)
    log(f"{len(data)} training images ({n} per family and size) in "
        f"{time.perf_counter() - start:.0f} s")
    stacked = np.concatenate([f.reshape(len(CHANNELS), -1) for _, f in data], axis=1)
    mean, std = stacked.mean(1).astype(np.float32), stacked.std(1).astype(np.float32) + 1e-3
    items = []
    for sample, feats in data:
        target, weight = block_targets(sample, feats.shape[1:])
        x = (feats - mean[:, None, None]) / std[:, None, None]
        items.append((torch.from_numpy(x)[None], torch.from_numpy(target)[None, None],
                      torch.from_numpy(weight)[None, None]))
    positives = sum(float((t * w).sum()) for _, t, w in items)
    negatives = sum(float(((1 - t) * w).sum()) for _, t, w in items)
    pos_weight = torch.tensor(min(20.0, negatives / max(positives, 1.0)))
    net = build_net(len(CHANNELS), width)
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, max(1, epochs))
    rng = np.random.default_rng(seed)
    losses = []
    for epoch in range(epochs):
        total = 0.0
        for k, i in enumerate(rng.permutation(len(items))):
            x, t, w = items[i]
            logits = net(x)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, t, weight=w * (1 + (pos_weight - 1) * t), reduction="sum")
            (loss / max(1.0, float(w.sum())) / 8).backward()
            total += float(loss.detach()) / max(1.0, float(w.sum()))
            if k % 8 == 7 or k == len(items) - 1:
                optimiser.step()
                optimiser.zero_grad()
        sched.step()
        losses.append(round(total / len(items), 5))
        log(f"epoch {epoch + 1}/{epochs}: loss {losses[-1]:.4f}")
    net.eval()
    val = _dataset(val_n, seed + 1, sizes, cache)
    model = LearnedModel(net, mean, std, RegionRule(), {})
    rule, validation, scores = calibrate(model, val, max_fpr)
    meta = {
        "config": {"n": n, "val_n": val_n, "epochs": epochs, "width": width,
                   "sizes": sizes, "max_fpr": max_fpr, "families": list(CALIBRATION_FAMILIES),
                   "positive_at": POSITIVE_AT, "ignored_from": IGNORED_FROM},
        "data_seed": seed, "validation_seed": seed + 1, "losses": losses,
        "validation": validation, "scores": scores,
        "seconds": round(time.perf_counter() - start, 1),
    }
    save_model(out, net, mean, std, rule, width, meta)
    log(f"rule {rule.as_dict()}; calibration validation: recall {validation['recall']:.3f}, "
        f"FPR {validation['false_positive_rate']:.3f}")
    log(f"wrote {out}")
    return meta


# Region rules tried on the validation draw: blocks in a region from ``member``, counted
# from ``confident``, over (blocks / 1000) ** ``size_power``.
RULE_GRID = [RegionRule(m, c, p) for m in (0.5, 0.8) for c in (0.9, 0.98) for p in (0.0, 0.25, 0.5)]
MIN_EVIDENCE = 2.0


def calibrate(model: LearnedModel, val: list[tuple[Sample, np.ndarray]], max_fpr: float
              ) -> tuple[RegionRule, dict, list[float]]:
    """The region rule and threshold with the best recall on the validation draw among
    those leaving at most ``max_fpr`` of its negatives firing; its figures; and the
    learned score of the first validation images (to check loaded weights against)."""
    probs = [probability_of(model, f) for _, f in val]
    best = None
    for rule in RULE_GRID:
        raw = [(s, _best_evidence(s, regions(p, rule))) for (s, _), p in zip(val, probs,
                                                                              strict=True)]
        neg = np.array([e for s, e in raw if not s.positive] or [0.0])
        pos = np.array([e for s, e in raw if s.positive] or [0.0])
        threshold = max(MIN_EVIDENCE, float(np.quantile(neg, 1 - max_fpr, method="higher")) * 1.05)
        recall, fpr = float((pos >= threshold).mean()), float((neg >= threshold).mean())
        if best is None or (recall, -fpr) > (best[1], -best[2]):
            chosen = RegionRule(rule.member, rule.confident, rule.size_power, threshold)
            best = (chosen, recall, fpr)
    rule, recall, fpr = best
    # The learned score (best region) of the first validation images, in order, to check
    # that loaded weights give the same (tests/filters/test_mosaic_train.py).
    scores = [round(r[0][0], 6) if (r := regions(p, rule)) else 0.0 for p in probs[:16]]
    return rule, {"recall": recall, "false_positive_rate": fpr}, scores


def recalibrate(path: Path, val_n: int, seed: int, sizes: list[str], max_fpr: float,
                cache: Path | None, log=print) -> dict:
    """Choose the region rule of existing weights again (the net unchanged)."""
    model = load_model(str(path))
    load_model.cache_clear()
    val = _dataset(val_n, seed + 1, sizes, cache)
    rule, validation, scores = calibrate(model, val, max_fpr)
    meta = {**model.meta, "validation": validation, "scores": scores}
    meta["config"] = {**meta["config"], "val_n": val_n, "max_fpr": max_fpr}
    save_model(path, model.net, model.mean, model.std, rule, int(meta["config"]["width"]), meta)
    log(f"rule {rule.as_dict()}; calibration validation: recall {validation['recall']:.3f}, "
        f"FPR {validation['false_positive_rate']:.3f}")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="training images per family and size")
    parser.add_argument("--val-n", type=int, default=15, help="validation images per family/size")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1000, help="data seed (the eval uses 0)")
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--width", type=int, default=16, help="channels of the net")
    parser.add_argument("--max-fpr", type=float, default=0.02)
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--cache", type=Path, help="keep the generated features here")
    parser.add_argument("--recalibrate", action="store_true",
                        help="keep the net of --out, choose its region rule again")
    args = parser.parse_args(argv)
    if args.recalibrate:
        recalibrate(args.out, args.val_n, args.seed, args.sizes.split(","), args.max_fpr,
                    args.cache)
        return 0
    train(args.n, args.val_n, args.epochs, args.seed, args.sizes.split(","), args.width,
          args.max_fpr, args.out, cache=args.cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
