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

from captioners.config import CaptionerConfig, PromptSpec
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
    """Callable class for ``map_batches``: subclasses load the model in ``__init__``.

    ``primary``: this captioner's main caption fills the manifest's caption columns and
    its QA verdict the row's status; otherwise (another model compared over the same
    images) its captions only go to ``caption_variants``. Every caption, the main one
    too, is also a ``caption_variants`` entry. ``drop_images``: the last captioning
    stage removes the prepared pixels from the rows.
    """

    model_name: str  # what lands in ``caption_model``
    prompt_text: str  # the user prompt, without chat-template decoration
    params_json: str  # sampling parameters, as stored in ``caption_params``
    retry_params_json: str  # the QA retry's sampling parameters

    def __init__(
        self,
        qa: QAConfig | None = None,
        target_words: int | None = None,
        config: CaptionerConfig | None = None,
        primary: bool = True,
        drop_images: bool = True,
    ) -> None:
        self.stats: Counter[str] = Counter()
        self.qa = qa or (config.qa if config else QAConfig())
        self.target_words = target_words or (config.target_words if config else None)
        self.primary = primary
        self.drop_images = drop_images
        self.captioner_name = config.name if config else None
        self.main_spec = config.spec() if config else None
        self.variant_specs = config.variant_specs() if config else []

    @abstractmethod
    def generate(
        self, images: list[np.ndarray], retry: bool = False, spec: PromptSpec | None = None
    ) -> list[Generation | Exception]:
        """One result per image, in order: a generation, or the exception of that image
        alone (remote backends); raising fails the whole batch (local engines).
        ``spec``: another prompt and sampling than the main caption's (variants)."""

    def _generate_isolating_failures(
        self, images: list[np.ndarray], retry: bool = False, spec: PromptSpec | None = None
    ) -> list[Generation | Exception]:
        if not images:
            return []
        try:
            # may hold per-image errors
            return list(self.generate(images, retry=retry, spec=spec))
        except Exception as exc:  # noqa: BLE001 - any engine failure is retried smaller
            if len(images) == 1:
                return [exc]
            self.stats["batch_retried_smaller"] += 1
            middle = len(images) // 2
            return self._generate_isolating_failures(
                images[:middle], retry, spec
            ) + self._generate_isolating_failures(images[middle:], retry, spec)

    def _clean(self, result: Generation, target_words: int | None = None) -> CleanCaption:
        return clean_caption(result.text, result.finish_reason,
                             target_words or self.target_words, self.qa)

    def _caption_all(
        self, images: list[np.ndarray], spec: PromptSpec | None
    ) -> list[tuple[Generation | Exception, bool]]:
        """(result, retried) per image: QA's retry policy gets one more try, with the
        retry sampling; a failed retry keeps the first caption."""
        target = spec.target_words if spec else None
        results = self._generate_isolating_failures(images, spec=spec)
        retry_at = [
            index
            for index, result in enumerate(results)
            if isinstance(result, Generation)
            and self._clean(result, target).worst_policy(self.qa)[0] == "retry"
        ]
        retried = self._generate_isolating_failures(
            [images[i] for i in retry_at], retry=True, spec=spec
        )
        done = [(result, False) for result in results]
        for index, second in zip(retry_at, retried, strict=True):
            self.stats["qa_retried"] += 1
            if isinstance(second, Generation):
                done[index] = (second, True)
        return done

    def __call__(self, batch: Batch) -> Batch:
        rows = batch_to_rows(batch)
        todo = [
            row
            for row in rows
            if row["status"] == STATUS_KEPT and row.get(CAPTION_IMAGE) is not None
        ]
        images = [caption_pixels(row) for row in todo]
        specs = list(self.variant_specs)
        if self.primary:
            for row, (result, retried) in zip(todo, self._caption_all(images, None),
                                              strict=True):
                columns = self._columns(result, retried=retried)
                row.update(columns)
                if self.main_spec is not None:
                    self._append_variant(row, self.main_spec, result, retried)
        elif self.main_spec is not None:
            specs.insert(0, self.main_spec)
        for spec in specs:
            for row, (result, retried) in zip(todo, self._caption_all(images, spec),
                                              strict=True):
                self._append_variant(row, spec, result, retried)
        if self.drop_images:
            for row in rows:
                row.pop(CAPTION_IMAGE, None)
                row.pop(CAPTION_IMAGE_SHAPE, None)
        return rows_to_batch(rows, like=batch)

    def _append_variant(
        self, row: dict[str, Any], spec: PromptSpec, result: Generation | Exception,
        retried: bool,
    ) -> None:
        entry: dict[str, Any] = {
            "captioner": self.captioner_name or self.model_name,
            "variant": spec.variant,
            "model": self.model_name,
            "prompt": spec.prompt_text,
            "target_words": spec.target_words,
            "params": spec.params_json(retried),
        }
        if isinstance(result, Exception):
            message = f"{type(result).__name__}: {result}".splitlines()[0][:500]
            entry.update(status="error", reason=f"{ERROR_CAPTION_FAILED}: {message}")
        else:
            cleaned = self._clean(result, spec.target_words)
            policy, flag = cleaned.worst_policy(self.qa)
            entry.update(
                status="rejected" if policy == "reject" else "ok",
                reason=f"caption_{flag}" if policy == "reject" else None,
                caption=cleaned.caption,
                caption_raw=result.text,
                finish_reason=result.finish_reason,
                flags=cleaned.flags + ([FLAG_RETRIED] if retried else []),
                n_tokens=result.n_tokens,
                n_words=len(cleaned.caption.split()) if cleaned.caption else 0,
            )
        row["caption_variants"] = [*(row.get("caption_variants") or []), entry]

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
