"""Bookkeeping shared by captioner backends: backends only turn images into text.

A backend implements ``generate(images, retry) -> list[Generation]`` for a list of RGB
arrays (``retry=True``: the QA retry's other sampling). The base class picks the rows
to caption, retries a failed batch in halves so one poisonous image cannot take its
neighbours down, turns an image that fails alone into an ``error`` row, runs caption
QA with the configured policy per flag, and fills the caption columns of the manifest.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from captioners.prepare import CAPTION_IMAGE, CAPTION_IMAGE_SHAPE, caption_pixels
from captioners.qa import CleanCaption, QAConfig, clean_caption
from paraimage.batches import Batch, batch_to_rows, rows_to_batch
from paraimage.manifest import STATUS_ERROR, STATUS_KEPT, STATUS_REJECTED

ERROR_CAPTION_FAILED = "caption_failed"
FLAG_RETRIED = "retried"


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
    retry_params_json: str  # the QA retry's sampling parameters

    def __init__(self, qa: QAConfig | None = None, target_words: int | None = None) -> None:
        self.stats: Counter[str] = Counter()
        self.qa = qa or QAConfig()
        self.target_words = target_words

    @abstractmethod
    def generate(
        self, images: list[np.ndarray], retry: bool = False
    ) -> list[Generation | Exception]:
        """One result per image, in order: a generation, or the exception of that image
        alone (remote backends); raising fails the whole batch (local engines)."""

    def _generate_isolating_failures(
        self, images: list[np.ndarray], retry: bool = False
    ) -> list[Generation | Exception]:
        if not images:
            return []
        try:
            return list(self.generate(images, retry=retry))  # may hold per-image errors
        except Exception as exc:  # noqa: BLE001 - any engine failure is retried smaller
            if len(images) == 1:
                return [exc]
            self.stats["batch_retried_smaller"] += 1
            middle = len(images) // 2
            return self._generate_isolating_failures(
                images[:middle], retry
            ) + self._generate_isolating_failures(images[middle:], retry)

    def _clean(self, result: Generation) -> CleanCaption:
        return clean_caption(result.text, result.finish_reason, self.target_words, self.qa)

    def __call__(self, batch: Batch) -> Batch:
        rows = batch_to_rows(batch)
        todo = [
            row
            for row in rows
            if row["status"] == STATUS_KEPT and row.get(CAPTION_IMAGE) is not None
        ]
        images = [caption_pixels(row) for row in todo]
        results = self._generate_isolating_failures(images)
        retry_at = [
            index
            for index, result in enumerate(results)
            if isinstance(result, Generation)
            and self._clean(result).worst_policy(self.qa)[0] == "retry"
        ]
        retried = self._generate_isolating_failures([images[i] for i in retry_at], retry=True)
        for index, second in zip(retry_at, retried, strict=True):
            self.stats["qa_retried"] += 1
            if isinstance(second, Generation):  # a failed retry keeps the first caption
                results[index] = second
        retried_rows = {retry_at[i] for i, r in enumerate(retried) if isinstance(r, Generation)}
        for index, (row, result) in enumerate(zip(todo, results, strict=True)):
            row.update(self._columns(result, retried=index in retried_rows))
        for row in rows:
            row.pop(CAPTION_IMAGE, None)
            row.pop(CAPTION_IMAGE_SHAPE, None)
        return rows_to_batch(rows, like=batch)

    def _columns(self, result: Generation | Exception, retried: bool = False) -> dict[str, Any]:
        columns: dict[str, Any] = {
            "caption_model": self.model_name,
            "caption_prompt": self.prompt_text,
            "caption_params": self.retry_params_json if retried else self.params_json,
        }
        if isinstance(result, Exception):
            self.stats["failed"] += 1
            message = f"{type(result).__name__}: {result}".splitlines()[0][:500]
            columns.update(status=STATUS_ERROR, error=f"{ERROR_CAPTION_FAILED}: {message}")
            return columns
        cleaned = self._clean(result)
        self.stats["captioned"] += 1
        columns.update(
            caption_raw=result.text,
            caption=cleaned.caption,
            caption_finish_reason=result.finish_reason,
            caption_flags=cleaned.flags + ([FLAG_RETRIED] if retried else []),
            caption_n_tokens=result.n_tokens,
        )
        policy, flag = cleaned.worst_policy(self.qa)
        if policy == "reject":
            self.stats[f"rejected_caption_{flag}"] += 1
            columns.update(status=STATUS_REJECTED, reject_reason=f"caption_{flag}")
        return columns
