"""Evaluation of the mosaic detectors on families they were, and were not, tuned on:
``python -m filters.mosaic_eval``.

Families (``families.py``) are positives (blur or pixelation pasted through a shape) and
negatives (photos and pictures that must not fire), each calibration or held out, each
at a small size and at SA-1B's 1500x2250. Every image is then JPEG-compressed at
quality 40-95 (heavy JPEG 8-30), a quarter of them twice.

A positive counts as found only when a detected region overlaps a pasted one (at least
a quarter of the detected box on a pasted box, or half of a pasted box under a detected
box at most 9 times its size); a positive that fires elsewhere is a miss *and* a false detection. A
family's precision is at equal prior against the negatives of its own split and size:
TP / (TP + misplaced + FPR * n).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from filters.mosaic_eval.families import BY_NAME, FAMILIES, SIZES, Family
from filters.mosaic_eval.regions import Box, Region

Detector = Callable[[Image.Image], tuple[float, list[Box]]]


@dataclass(frozen=True)
class Sample:
    family: str
    size: str
    positive: bool
    held_out: bool
    image: Image.Image
    regions: tuple[Region, ...] = field(default=(), repr=False)
    data: bytes = field(default=b"", repr=False)  # the JPEG file the image was read from

    @property
    def boxes(self) -> list[Box]:
        return [r.box for r in self.regions]


def _jpeg(pixels: np.ndarray, rng: np.random.Generator, heavy: bool
          ) -> tuple[Image.Image, bytes]:
    quality = int(rng.integers(8, 31) if heavy else rng.integers(40, 96))
    image = Image.fromarray(pixels)
    passes = [quality] + ([int(rng.integers(40, 96))] if rng.random() < 0.25 else [])
    data = b""
    for q in passes:
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=q)
        data = buf.getvalue()
        image = Image.open(io.BytesIO(data)).convert("RGB")
    return image, data


def family_rng(seed: int, family: str, size: str) -> np.random.Generator:
    """Each (family, size) draws from its own generator: asking for fewer families gives
    the same images, and adding a family moves none."""
    return np.random.default_rng([seed, zlib.crc32(family.encode()), SIZES.index(size)])


def generate(n: int, seed: int = 0, families: Sequence[str] | None = None,
             sizes: Sequence[str] = SIZES) -> Iterator[Sample]:
    """``n`` samples per family and size, reproducible from ``seed``."""
    names = list(families) if families is not None else [f.name for f in FAMILIES]
    unknown = sorted(set(names) - set(BY_NAME)) + sorted(set(sizes) - set(SIZES))
    if unknown:
        raise ValueError(f"unknown families or sizes {unknown}; families: "
                         f"{', '.join(BY_NAME)}; sizes: {', '.join(SIZES)}")
    for name in names:
        fam = BY_NAME[name]
        for size in sizes:
            rng = family_rng(seed, name, size)
            for _ in range(n):
                yield make_sample(fam, size, rng)


def make_sample(fam: Family, size: str, rng: np.random.Generator) -> Sample:
    made = fam.make(rng, size, fam.held_out)
    pixels, regions = made if isinstance(made, tuple) else (made, [])
    image, data = _jpeg(np.ascontiguousarray(pixels), rng, heavy=fam.name == "heavy_jpeg")
    return Sample(fam.name, size, fam.positive, fam.held_out, image, tuple(regions), data)


def overlaps(detected: Box, pasted: Box) -> bool:
    """A detection on a pasted region: a quarter of the detected box on it, or half of
    the pasted box under a detected box at most 9 times its size (3 times each way: a
    box around the whole image is on no region)."""
    iy = max(0, min(detected[2], pasted[2]) - max(detected[0], pasted[0]))
    ix = max(0, min(detected[3], pasted[3]) - max(detected[1], pasted[1]))
    inter = iy * ix
    area_d = max(1, (detected[2] - detected[0]) * (detected[3] - detected[1]))
    area_p = max(1, (pasted[2] - pasted[0]) * (pasted[3] - pasted[1]))
    return inter >= 0.25 * area_d or (inter >= 0.5 * area_p and area_d <= 9 * area_p)


def judge(sample: Sample, score: float, boxes: list[Box], threshold: float) -> str:
    """``tp``, ``misplaced`` (fired, but on no pasted region), ``fn``, ``fp`` or ``tn``."""
    fired = score >= threshold
    if not sample.positive:
        return "fp" if fired else "tn"
    if not fired:
        return "fn"
    on = any(overlaps(d, p) for d in boxes for p in sample.boxes)
    return "tp" if on else "misplaced"


SPLITS = ("calibration", "held_out")


def _split(held_out: bool) -> str:
    return SPLITS[int(held_out)]


def summarise(outcomes: list[tuple[Sample, str]]) -> dict[str, dict[str, float]]:
    """Rows per (family, size) and per (split, size) with counts and rates."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    meta: dict[tuple[str, str], tuple[bool, bool]] = {}
    for sample, outcome in outcomes:
        for key in ((sample.family, sample.size),
                    (f"{_split(sample.held_out)}", sample.size),
                    (f"{_split(sample.held_out)}", "all")):
            c = counts.setdefault(key, {"tp": 0, "misplaced": 0, "fn": 0, "fp": 0, "tn": 0,
                                        "pos": 0, "neg": 0})
            c[outcome] += 1
            c["pos" if sample.positive else "neg"] += 1
        meta[(sample.family, sample.size)] = (sample.positive, sample.held_out)
    table: dict[str, dict[str, float]] = {}

    def fpr(split: str, size: str) -> float:
        c = counts.get((split, size), {"neg": 0, "fp": 0})
        return c["fp"] / c["neg"] if c["neg"] else 0.0

    def rates(c: dict[str, int], neg_rate: float) -> dict[str, float]:
        row: dict[str, float] = {"n": c["pos"] + c["neg"]}
        if c["pos"]:
            tp = c["tp"]
            false = c["misplaced"] + neg_rate * c["pos"]
            row.update(tp=tp, misplaced=c["misplaced"],
                       precision=tp / (tp + false) if tp + false else 1.0,
                       recall=tp / c["pos"])
        if c["neg"]:
            row.update(fp=c["fp"], false_positive_rate=c["fp"] / c["neg"])
        return row

    for (name, size), c in counts.items():
        if name in SPLITS:
            table[f"{name}/{size}"] = rates(c, fpr(name, size))
        else:
            positive, held_out = meta[(name, size)]
            table[f"{name}/{size}"] = {**rates(c, fpr(_split(held_out), size)),
                                       "held_out": float(held_out)}
    return table


def evaluate(n: int, seed: int = 0, detector: Detector | None = None,
             threshold: float = 1.0, families: Sequence[str] | None = None,
             sizes: Sequence[str] = SIZES) -> dict[str, dict[str, float]]:
    """Per family and size, and per split and size: precision, recall, FP rate."""
    if detector is None:
        detector = mosaic_detector()
    outcomes = []
    for sample in generate(n, seed, families, sizes):
        score, boxes = detector(sample.image)
        outcomes.append((sample, judge(sample, score, boxes, threshold)))
    return summarise(outcomes)


def compare(n: int, seed: int = 0, families: Sequence[str] | None = None,
            sizes: Sequence[str] = SIZES, threshold: float = 1.0
            ) -> dict[str, dict[str, dict[str, float]]]:
    """The hand-built and learned detectors on the same images, and their combination
    (either firing fires, with the regions of both): one table each."""
    hand, learned = mosaic_detector("hand_built"), mosaic_detector("learned")
    outcomes: dict[str, list[tuple[Sample, str]]] = {"hand_built": [], "learned": [],
                                                     "combined": []}
    for sample in generate(n, seed, families, sizes):
        (hs, hb), (ls, lb) = hand(sample.image), learned(sample.image)
        score = max(hs, ls)
        boxes = (hb if hs >= threshold else []) + (lb if ls >= threshold else [])
        for name, (sc, bx) in (("hand_built", (hs, hb)), ("learned", (ls, lb)),
                               ("combined", (score, boxes))):
            outcomes[name].append((sample, judge(sample, sc, bx, threshold)))
    return {name: summarise(rows) for name, rows in outcomes.items()}


def mosaic_detector(kind: str | None = None) -> Detector:
    """``detect_mosaic`` with the default config, or with ``detector=kind``."""
    from filters.mosaic import MosaicFilterConfig, detect_mosaic

    cfg = MosaicFilterConfig() if kind is None else MosaicFilterConfig(detector=kind)

    def run(image: Image.Image) -> tuple[float, list[Box]]:
        result = detect_mosaic(image, cfg)
        return result.score, list(result.boxes)

    return run


def format_table(table: dict[str, dict[str, float]]) -> str:
    head = f"{'family / size':<34}{'split':>6}{'n':>5}{'prec':>7}{'recall':>8}{'misp':>6}{'fpr':>7}"
    lines = [head]

    def cell(row: dict[str, float], key: str, fmt: str = ".3f") -> str:
        return format(row[key], fmt) if key in row else "-"

    def line(key: str, split: str) -> str:
        row = table[key]
        return (f"{key:<34}{split:>6}{int(row['n']):>5}{cell(row, 'precision'):>7}"
                f"{cell(row, 'recall'):>8}{cell(row, 'misplaced', '.0f'):>6}"
                f"{cell(row, 'false_positive_rate'):>7}")

    for fam in FAMILIES:
        for size in SIZES:
            key = f"{fam.name}/{size}"
            if key in table:
                lines.append(line(key, "held" if fam.held_out else "cal"))
    for split in SPLITS:
        for size in (*SIZES, "all"):
            key = f"{split}/{size}"
            if key in table:
                lines.append(line(key, split[:4]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="samples per family and size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sizes", default=",".join(SIZES), help="small,sa1b")
    parser.add_argument("--families", help="comma-separated (default: all)")
    parser.add_argument("--detector", choices=("learned", "hand_built", "combined"),
                        help="default: the filter's default")
    parser.add_argument("--compare", action="store_true",
                        help="hand-built, learned and combined on the same images")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    families = args.families.split(",") if args.families else None
    sizes = args.sizes.split(",")
    if args.compare:
        tables = compare(args.n, args.seed, families, sizes)
    else:
        tables = {args.detector or "default": evaluate(
            args.n, args.seed, mosaic_detector(args.detector), families=families, sizes=sizes)}
    for name, table in tables.items():
        print(f"== detector: {name}")
        print(format_table(table))
    table = next(iter(tables.values()))
    print(f"{sum(int(v['n']) for k, v in table.items() if k.endswith('/all'))} images "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
