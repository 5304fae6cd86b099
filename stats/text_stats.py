"""Per-text statistics (docs/statistics.md) and their Ray Data stage.

``TextStatsExtractor`` turns texts into counts; ``CaptionStats`` is the callable class
that ``map_batches`` runs, filling the caption and alt-text statistic columns of a batch.

Defined results for odd input (tests pin each one):

* ``None`` (no text) gives ``None`` for every statistic, the noun list included.
* An empty or whitespace-only text gives 0 words, nouns, adjectives/adverbs,
  prepositions and sentences, an empty noun list, and 2 CLIP tokens (start + end).
* Non-English text is tagged by the English model as it is (no language detection):
  the counts are deterministic but mean little; words and CLIP tokens stay exact.
* Lone surrogates (possible in Python strings, never in Arrow) become ``?`` first.
* Texts longer than ``MAX_CHUNK_CHARS`` are tagged in pieces cut at whitespace, so
  memory stays flat; words and CLIP tokens are still counted on the whole text.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from stats import heap
from stats.clip_tokens import ClipTokenCounter
from stats.definitions import (
    ADJ_ADV_TAGS,
    ALT_TEXT_SIDE,
    CAPTION_SIDE,
    COUNT_FIELDS,
    NOUN_TAGS,
    NOUNS_FIELD,
    PREP_TAGS,
    SIDE_PREFIX,
    SPACY_MODEL,
    SPACY_TRAINED_COMPONENTS,
    STAT_FIELDS,
    stat_columns,
    stat_schema,
)

TextStats = dict[str, Any]

# spaCy refuses texts over nlp.max_length (1M chars) because the parser and NER need
# memory quadratic in it; the tagger does not, but pieces keep each batch small anyway.
MAX_CHUNK_CHARS = 100_000
DEFAULT_NLP_BATCH_SIZE = 256
# Token attributes read from each doc, and their columns.
_TOKEN_ATTRS = ("TAG", "LOWER", "ORTH", "IS_PUNCT", "IS_SPACE")
_TAG, _LOWER, _ORTH, _IS_PUNCT, _IS_SPACE = range(len(_TOKEN_ATTRS))
# Tag categories counted per doc.
_OTHER, _NOUN, _ADJ_ADV, _PREP = range(4)
_N_CATEGORIES = 4
# Manifest columns the stage reads, and the column prefix of their statistics.
DEFAULT_TEXT_COLUMNS: Mapping[str, str] = {
    CAPTION_SIDE: SIDE_PREFIX[CAPTION_SIDE],
    ALT_TEXT_SIDE: SIDE_PREFIX[ALT_TEXT_SIDE],
}


def _valid_text(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="replace").decode("utf-8")
    return text


def _chunks(text: str, size: int) -> Iterator[str]:
    """Consecutive pieces of at most ``size`` chars (unless one word is longer), cut
    after a sentence end where the window has one, else at whitespace, so no word is
    split and few sentences are."""
    start = 0
    while len(text) - start > size:
        end = start + size
        cut = max(text.rfind(". ", start + 1, end), text.rfind("! ", start + 1, end))
        cut = max(cut, text.rfind("? ", start + 1, end))
        cut = cut + 1 if cut > start else text.rfind(" ", start + 1, end)
        if cut <= start:
            cut = start + size
            while cut < len(text) and not text[cut].isspace():
                cut += 1
        yield text[start:cut]
        start = cut
    yield text[start:]


def empty_stats() -> TextStats:
    return {**dict.fromkeys(COUNT_FIELDS, 0), NOUNS_FIELD: []}


class TextStatsExtractor:
    """Loads spaCy (tok2vec + tagger) and the CLIP BPE once; counts texts."""

    def __init__(
        self,
        model: str = SPACY_MODEL,
        batch_size: int = DEFAULT_NLP_BATCH_SIZE,
        max_chunk_chars: int = MAX_CHUNK_CHARS,
        retain_heap: bool = True,
    ) -> None:
        """``retain_heap``: keep this process's freed memory for the next batch
        (``stats.heap``; the process's allocator changes, so pass False where the
        process is not the stage's own)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_chunk_chars < 1000:
            raise ValueError(f"max_chunk_chars must be >= 1000, got {max_chunk_chars}")
        if retain_heap:
            heap.retain_heap()
        self.nlp = load_tagger(model)
        self.clip = ClipTokenCounter()
        self.batch_size = batch_size
        self.max_chunk_chars = max_chunk_chars
        strings = self.nlp.vocab.strings
        # Tags compared as hashes from Doc.to_array (a sorted key array, searched), not
        # as a Python attribute lookup per token.
        tag_codes = {strings.add(tag): code for tags, code in
                     ((NOUN_TAGS, _NOUN), (ADJ_ADV_TAGS, _ADJ_ADV), (PREP_TAGS, _PREP))
                     for tag in tags}
        self._tag_keys = np.array(sorted(tag_codes), dtype=np.uint64)
        self._tag_codes = np.array([tag_codes[k] for k in sorted(tag_codes)], dtype=np.int64)
        self._sentence_end_ids = np.array(
            [strings.add(c) for c in sentence_punct_chars()], dtype=np.uint64
        )

    def extract(self, texts: Sequence[str | None]) -> list[TextStats | None]:
        results: list[TextStats | None] = [None] * len(texts)
        owners: list[int] = []
        pieces: list[str] = []
        for i, text in enumerate(texts):
            if text is None:
                continue
            if not isinstance(text, str):
                raise TypeError(f"text #{i} is {type(text).__name__}, not str")
            text = _valid_text(text)
            results[i] = {
                **empty_stats(),
                "n_words": len(text.split()),
                "n_clip_tokens": self.clip.count(text),
            }
            for piece in _chunks(text, self.max_chunk_chars):
                owners.append(i)
                pieces.append(piece)
        # One attribute array per doc (a C call each), then every count of the batch in
        # a few vectorised passes: per-doc numpy calls cost more than the counting.
        # Each pipe batch is piped on its own and its docs read once spaCy is done with
        # them (it holds a batch anyway): reading each doc as the pipe yields it
        # scattered the small arrays through the heap that spaCy's big buffers are
        # freed to, for 2.5x a bare pipe's page faults where the heap is not retained.
        arrays: list[np.ndarray] = []
        for start in range(0, len(pieces), self.batch_size):
            docs = list(self.nlp.pipe(pieces[start : start + self.batch_size],
                                      batch_size=self.batch_size))
            arrays.extend(doc.to_array(_TOKEN_ATTRS).reshape(-1, len(_TOKEN_ATTRS))
                          for doc in docs)
            del docs  # freed before spaCy makes the next batch
        if pieces:
            self._add_docs(results, owners, arrays)
        return results

    def _add_docs(
        self, results: list[TextStats | None], owners: list[int], arrays: list[np.ndarray]
    ) -> None:
        """Adds the counts of docs (their ``_TOKEN_ATTRS`` arrays) to their texts'."""
        lengths = np.array([len(a) for a in arrays], dtype=np.int64)
        if not lengths.any():
            return
        tokens = np.concatenate(arrays)
        doc_of = np.repeat(np.arange(len(arrays)), lengths)
        tags = tokens[:, _TAG]
        slot = np.minimum(np.searchsorted(self._tag_keys, tags), len(self._tag_keys) - 1)
        category = np.where(self._tag_keys[slot] == tags, self._tag_codes[slot], _OTHER)
        per_doc = np.bincount(doc_of * _N_CATEGORIES + category,
                              minlength=len(arrays) * _N_CATEGORIES).reshape(-1, _N_CATEGORIES)
        starts = sentence_starts(np.isin(tokens[:, _ORTH], self._sentence_end_ids),
                                 tokens[:, _IS_PUNCT] != 0, doc_of)
        # A sentence of only whitespace (after a final "." and trailing spaces) is none:
        # count the sentence ids of non-space tokens, per doc.
        words = np.flatnonzero(tokens[:, _IS_SPACE] == 0)
        sentence = np.cumsum(starts)[words]
        first = np.r_[True, sentence[1:] != sentence[:-1]] if len(words) else words.astype(bool)
        sentences = np.bincount(doc_of[words][first], minlength=len(arrays))
        for d, (counts, n_sentences) in enumerate(zip(per_doc.tolist(), sentences.tolist(),
                                                      strict=True)):
            stats = results[owners[d]]
            assert stats is not None
            stats["n_nouns"] += counts[_NOUN]
            stats["n_adj_adv"] += counts[_ADJ_ADV]
            stats["n_prep"] += counts[_PREP]
            stats["n_sentences"] += n_sentences
        strings = self.nlp.vocab.strings
        seen: dict[int, dict[str, None]] = {}
        nouns = np.flatnonzero(category == _NOUN)
        for d, lower in zip(doc_of[nouns].tolist(), tokens[nouns, _LOWER].tolist(), strict=True):
            seen.setdefault(owners[d], {})[strings[lower]] = None  # keeps first-seen order
        for i, found in seen.items():
            results[i][NOUNS_FIELD] = list(found)  # type: ignore[index]


def sentence_punct_chars() -> list[str]:
    """The sentence-final characters of spaCy's rule-based sentencizer (its default)."""
    from spacy.pipeline import Sentencizer

    return list(Sentencizer.default_punct_chars)


def sentence_starts(
    is_end_char: np.ndarray, is_punct: np.ndarray, doc_of: np.ndarray | None = None
) -> np.ndarray:
    """Sentence starts by spaCy's ``sentencizer`` rule, on token arrays of one doc, or
    of several concatenated (``doc_of``: each token's doc, non-decreasing).

    The sentencizer walks a doc's tokens: after a token whose text is a sentence-final
    character, the next token that is neither punctuation nor such a character starts
    a sentence (the first token always does). That is: the first "plain" token of the
    same doc after each sentence-final token. Computed with one search instead of a
    Python ``Token`` per token (the component's loop, ~7% of the stage); a test
    compares the two on fuzzed text."""
    n = len(is_end_char)
    doc_of = np.zeros(n, dtype=np.int64) if doc_of is None else doc_of
    starts = np.zeros(n, dtype=bool)
    if n:
        starts[np.r_[True, doc_of[1:] != doc_of[:-1]]] = True
        plain = np.flatnonzero(~is_punct & ~is_end_char)
        ends = np.flatnonzero(is_end_char)
        after = np.searchsorted(plain, ends, side="right")
        found = after < len(plain)
        following = plain[after[found]]
        starts[following[doc_of[following] == doc_of[ends[found]]]] = True
    return starts


def load_tagger(model: str = SPACY_MODEL, numpy_blas: bool = True) -> Any:
    """The spaCy pipeline used for counts: tok2vec + tagger, nothing else (sentences are
    split by the sentencizer's rule on the tagged docs' arrays: ``sentence_starts``).

    With ``numpy_blas`` (the default) the components' matrix products run on numpy's
    BLAS instead of thinc's bundled BLIS: ``use_numpy_blas``."""
    import spacy

    nlp = spacy.load(model, exclude=["parser", "senter", "attribute_ruler", "lemmatizer", "ner"])
    for name in list(nlp.pipe_names):
        if name not in SPACY_TRAINED_COMPONENTS:
            nlp.remove_pipe(name)
    missing = [c for c in SPACY_TRAINED_COMPONENTS if c not in nlp.pipe_names]
    if missing:
        raise ValueError(f"spaCy model {model!r} lacks components {missing}")
    if numpy_blas:
        use_numpy_blas(nlp)
    return nlp


def use_numpy_blas(nlp: Any) -> None:
    """Runs the pipeline's CPU matrix products through numpy's BLAS (OpenBLAS in numpy's
    wheels) rather than BLIS, which thinc uses by default.

    The matrix products are ~75% of tagging, and the BLIS kernels that thinc ships run
    them at a third of OpenBLAS's speed on the machines we measured (AMD EPYC, AVX2:
    19 vs 69 GFLOP/s single-threaded), so tagging gets ~2.5x faster. The tags come out
    the same (a test compares them; the benchmark's 288,768 tokens and 63,343 of prose
    had no difference). Layers on another backend (a GPU) are left alone. OpenBLAS
    threads follow ``OMP_NUM_THREADS``, which Ray sets to an actor's CPUs."""
    from thinc.api import NumpyOps

    numpy_ops = NumpyOps(use_blis=False)
    for _name, component in nlp.pipeline:
        model = getattr(component, "model", None)
        if model is None:
            continue
        for layer in model.walk():
            if type(layer.ops) is NumpyOps:
                layer.ops = numpy_ops


class CaptionStats:
    """Ray Data stage: adds the statistics of each text column to a batch.

    ``text_columns`` maps a text column to the prefix of its statistic columns; the
    default reads ``caption`` (-> ``n_words``, ...) and ``alt_text`` (-> ``alt_n_words``,
    ...), as the manifest names them. A batch without one of those columns (every row
    rejected before captioning) gets null statistics for it. Batches may be pyarrow
    tables (``batch_format="pyarrow"``, the engine's format; the statistic columns are
    typed exactly as in the manifest, replacing any already there) or numpy dicts
    (``batch_format="numpy"``; object arrays of ints/lists with None for null).
    """

    def __init__(
        self,
        text_columns: Mapping[str, str] | None = None,
        model: str = SPACY_MODEL,
        nlp_batch_size: int = DEFAULT_NLP_BATCH_SIZE,
    ) -> None:
        self.text_columns = dict(DEFAULT_TEXT_COLUMNS if text_columns is None else text_columns)
        if not self.text_columns:
            raise ValueError("text_columns is empty: nothing to compute")
        prefixes = list(self.text_columns.values())
        if len(set(prefixes)) != len(prefixes):
            raise ValueError(f"text_columns map two columns to one prefix: {self.text_columns}")
        self.extractor = TextStatsExtractor(model=model, batch_size=nlp_batch_size)

    def __call__(self, batch: Any) -> Any:
        if isinstance(batch, pa.Table):
            return self._call_arrow(batch)
        return self._call_numpy(batch)

    def compute(self, columns: Mapping[str, Sequence[Any] | None], n_rows: int) -> dict[str, list]:
        """Statistic columns (prefixed names -> values) for texts given per text column."""
        texts: list[str | None] = []
        for column in self.text_columns:
            values = columns.get(column)
            texts.extend([None] * n_rows if values is None else list(values))
        stats = self.extractor.extract(texts)
        out: dict[str, list] = {}
        for k, prefix in enumerate(self.text_columns.values()):
            part = stats[k * n_rows : (k + 1) * n_rows]
            for name, full in zip(STAT_FIELDS, stat_columns(prefix), strict=True):
                out[full] = [None if s is None else s[name] for s in part]
        return out

    def _call_numpy(self, batch: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        n_rows = len(next(iter(batch.values()))) if batch else 0
        columns = {c: _plain_texts(batch[c]) for c in self.text_columns if c in batch}
        out = dict(batch)
        for name, values in self.compute(columns, n_rows).items():
            array = np.empty(n_rows, dtype=object)  # ints and None, lists and None
            array[:] = values
            out[name] = array
        return out

    def _call_arrow(self, table: pa.Table) -> pa.Table:
        columns = {
            c: table.column(c).to_pylist() for c in self.text_columns if c in table.column_names
        }
        stats = self.compute(columns, table.num_rows)
        for prefix in self.text_columns.values():
            for field in stat_schema(prefix):
                array = pa.array(stats[field.name], type=field.type)
                if field.name in table.column_names:
                    index = table.column_names.index(field.name)
                    table = table.set_column(index, field, array)
                else:
                    table = table.append_column(field, array)
        return table


def _plain_texts(values: np.ndarray) -> list[str | None]:
    # Ray hands string columns as object arrays (or numpy unicode arrays when no row is
    # null); NaN is how pandas-origin blocks spell a missing string.
    out: list[str | None] = []
    for value in values.tolist():
        if value is None or (isinstance(value, float) and value != value):
            out.append(None)
        elif isinstance(value, bytes):
            out.append(value.decode("utf-8", errors="replace"))
        else:
            out.append(value)
    return out
