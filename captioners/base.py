"""Bookkeeping shared by captioner backends: backends only turn images into text.

A backend implements ``generate(images) -> list[Generation]`` for a list of RGB
arrays. The base class picks the rows to caption, retries a failed batch in halves so
one poisonous image cannot take its neighbours down, turns an image that fails alone
into an ``error`` row, and fills the caption columns of the manifest.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from captioners.prepare import CAPTION_IMAGE, CAPTION_IMAGE_SHAPE, caption_pixels
from captioners.qa import clean_caption
from paraimage.batches import Batch, batch_to_rows, rows_to_batch
from paraimage.manifest import STATUS_ERROR, STATUS_KEPT

ERROR_CAPTION_FAILED = "caption_failed"


@dataclass(frozen=True)
class Generation:
    text: str
    finish_reason: str | None
    n_tokens: int


class BaseCaptioner(ABC):
    """Callable class for ``map_batches``: subclasses load the model in ``__init__``."""

    model_name: str  # what lands in ``caption_model``
    prompt_text: str  # the user prompt, without chat-template decoration
    params_json: str  # sampling parameters, as stored in ``caption_params``

    def __init__(self) -> None:
        self.stats: Counter[str] = Counter()

    @abstractmethod
    def generate(self, images: list[np.ndarray]) -> list[Generation]:
        """One generation per image, in order; may raise for the whole batch."""

    def _generate_isolating_failures(
        self, images: list[np.ndarray]
    ) -> list[Generation | Exception]:
        try:
            return list(self.generate(images))
        except Exception as exc:  # noqa: BLE001 - any engine failure is retried smaller
            if len(images) == 1:
                return [exc]
            self.stats["batch_retried_smaller"] += 1
            middle = len(images) // 2
            return self._generate_isolating_failures(
                images[:middle]
            ) + self._generate_isolating_failures(images[middle:])

    def __call__(self, batch: Batch) -> Batch:
        rows = batch_to_rows(batch)
        todo = [
            row
            for row in rows
            if row["status"] == STATUS_KEPT and row.get(CAPTION_IMAGE) is not None
        ]
        results = self._generate_isolating_failures([caption_pixels(row) for row in todo])
        for row, result in zip(todo, results, strict=True):
            row.update(self._columns(result))
        for row in rows:
            row.pop(CAPTION_IMAGE, None)
            row.pop(CAPTION_IMAGE_SHAPE, None)
        return rows_to_batch(rows, like=batch)

    def _columns(self, result: Generation | Exception) -> dict[str, Any]:
        columns: dict[str, Any] = {
            "caption_model": self.model_name,
            "caption_prompt": self.prompt_text,
            "caption_params": self.params_json,
        }
        if isinstance(result, Exception):
            self.stats["failed"] += 1
            message = f"{type(result).__name__}: {result}".splitlines()[0][:500]
            columns.update(status=STATUS_ERROR, error=f"{ERROR_CAPTION_FAILED}: {message}")
            return columns
        cleaned = clean_caption(result.text, result.finish_reason)
        self.stats["captioned"] += 1
        columns.update(
            caption_raw=result.text,
            caption=cleaned.caption,
            caption_finish_reason=result.finish_reason,
            caption_flags=cleaned.flags,
            caption_n_tokens=result.n_tokens,
        )
        return columns
