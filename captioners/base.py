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
    n_prompt_tokens: int | None = None  # where the backend reports it (estimates use it)


@dataclass(frozen=True)
class Captioned:
    """One request's outcome, judged once: the generation (or the exception of that
    image alone), whether the QA retry made it, and what the manifest takes from it,
    the QA-cleaned caption or the error message. The main caption of a primary
    captioner fills the caption columns and a ``caption_variants`` entry from this one
    judgement (it was cleaned three times before: retry check, columns, variant)."""

    result: Generation | Exception
    retried: bool = False
    cleaned: CleanCaption | None = None  # for a generation
    error: str | None = None  # for an exception: ``caption_failed: <type>: <message>``


@dataclass(frozen=True)
class CaptionWork:
    """One batch's captioning: its rows, the rows to caption with their pixels, and the
    requests per image (``None`` is the primary captioner's main caption)."""

    batch: Batch
    rows: list[dict[str, Any]]
    todo: list[dict[str, Any]]
    images: list[np.ndarray]
    specs: list[PromptSpec | None]


class CaptionerCore:
    """What every captioner shares, sync or async: which rows and requests a batch
    holds (``_plan``), QA retries (``_retry_indices``, ``_with_retries``) and the
    manifest columns and ``caption_variants`` a result becomes (``_finish``).

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
        # batch id -> prompt tokens of its requests, kept only while an estimate asks
        self.prompt_tokens_by_batch: dict[int, int] | None = None
        self.qa = qa or (config.qa if config else QAConfig())
        self.target_words = target_words or (config.target_words if config else None)
        self.primary = primary
        self.drop_images = drop_images
        self.captioner_name = config.name if config else None
        self.main_spec = config.spec() if config else None
        self.variant_specs = config.variant_specs() if config else []

    def _clean(self, result: Generation, target_words: int | None = None) -> CleanCaption:
        return clean_caption(result.text, result.finish_reason,
                             target_words or self.target_words, self.qa)

    def _judge(
        self, results: list[Generation | Exception], spec: PromptSpec | None,
        retried: bool = False,
    ) -> list[Captioned]:
        """Each result cleaned by QA (against ``spec``'s target length) or its error
        message built: the one time either is done."""
        target = spec.target_words if spec else None
        return [
            Captioned(result, retried, cleaned=self._clean(result, target))
            if isinstance(result, Generation)
            else Captioned(result, retried, error=_error_message(result))
            for result in results
        ]

    def _retry_indices(self, judged: list[Captioned]) -> list[int]:
        return [
            index
            for index, captioned in enumerate(judged)
            if captioned.cleaned is not None
            and captioned.cleaned.worst_policy(self.qa)[0] == "retry"
        ]

    def _with_retries(
        self, judged: list[Captioned], retry_at: list[int], retried: list[Captioned]
    ) -> list[Captioned]:
        done = list(judged)
        for index, second in zip(retry_at, retried, strict=True):
            self.stats["qa_retried"] += 1
            if isinstance(second.result, Generation):
                done[index] = second
        return done

    def _plan(self, batch: Batch) -> CaptionWork:
        """The rows of ``batch``, those to caption, their pixels, and the requests of
        each image: the main caption (``None``: the captioner's own sampling) when this
        captioner is primary, then every variant."""
        rows = batch_to_rows(batch)
        todo = [
            row
            for row in rows
            if row["status"] == STATUS_KEPT and row.get(CAPTION_IMAGE) is not None
        ]
        specs: list[PromptSpec | None] = list(self.variant_specs)
        if self.primary:
            specs.insert(0, None)
        elif self.main_spec is not None:
            specs.insert(0, self.main_spec)
        return CaptionWork(batch, rows, todo, [caption_pixels(row) for row in todo], specs)

    def _finish(self, work: CaptionWork, results: list[list[Captioned]]) -> Batch:
        """Each spec's results into its rows' columns and ``caption_variants``."""
        if self.prompt_tokens_by_batch is not None:  # paraimage estimate is timing us
            self.prompt_tokens_by_batch[id(work.batch)] = sum(
                captioned.result.n_prompt_tokens or 0 for spec_results in results
                for captioned in spec_results if isinstance(captioned.result, Generation))
        for spec, spec_results in zip(work.specs, results, strict=True):
            for row, captioned in zip(work.todo, spec_results, strict=True):
                if spec is None:
                    row.update(self._columns(captioned))
                    if self.main_spec is not None:  # its target is the config's too
                        self._append_variant(row, self.main_spec, captioned)
                else:
                    self._append_variant(row, spec, captioned)
        if self.drop_images:
            for row in work.rows:
                row.pop(CAPTION_IMAGE, None)
                row.pop(CAPTION_IMAGE_SHAPE, None)
        return rows_to_batch(work.rows, like=work.batch)

    def _append_variant(self, row: dict[str, Any], spec: PromptSpec, captioned: Captioned) -> None:
        result, retried, cleaned = captioned.result, captioned.retried, captioned.cleaned
        entry: dict[str, Any] = {
            "captioner": self.captioner_name or self.model_name,
            "variant": spec.variant,
            "model": self.model_name,
            "prompt": spec.prompt_text,
            "target_words": spec.target_words,
            "params": spec.params_json(retried),
        }
        if not isinstance(result, Generation) or cleaned is None:
            entry.update(status="error", reason=captioned.error)
        else:
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

    def _columns(self, captioned: Captioned) -> dict[str, Any]:
        result, retried, cleaned = captioned.result, captioned.retried, captioned.cleaned
        columns: dict[str, Any] = {
            "caption_model": self.model_name,
            "caption_prompt": self.prompt_text,
            "caption_params": self.retry_params_json if retried else self.params_json,
        }
        if not isinstance(result, Generation) or cleaned is None:
            self.stats["failed"] += 1
            columns.update(status=STATUS_ERROR, error=captioned.error)
            return columns
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


class BaseCaptioner(CaptionerCore, ABC):
    """Callable class for ``map_batches`` around a synchronous engine: subclasses load
    the model in ``__init__`` and implement ``generate``; a batch is captioned spec by
    spec, and a batch the engine fails is retried in halves."""

    def __call__(self, batch: Batch) -> Batch:
        work = self._plan(batch)
        return self._finish(work, [self._caption_all(work.images, spec) for spec in work.specs])

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

    def _caption_all(
        self, images: list[np.ndarray], spec: PromptSpec | None
    ) -> list[Captioned]:
        """The judged result per image: QA's retry policy gets one more try, with the
        retry sampling; a failed retry keeps the first caption."""
        judged = self._judge(self._generate_isolating_failures(images, spec=spec), spec)
        retry_at = self._retry_indices(judged)
        retried = self._generate_isolating_failures(
            [images[i] for i in retry_at], retry=True, spec=spec
        )
        return self._with_retries(judged, retry_at, self._judge(retried, spec, retried=True))


def _error_message(exc: Exception) -> str:
    """A failed image's error: the exception's type and first line, capped."""
    return f"{ERROR_CAPTION_FAILED}: " + f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
