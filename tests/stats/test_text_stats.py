from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from paraimage.manifest import MANIFEST_SCHEMA, to_table
from stats.definitions import stat_columns
from stats.text_stats import CaptionStats, TextStatsExtractor

# Sentences whose spaCy tags were checked by hand (tags in the comments) and are
# unambiguous; each tag group and each Penn tag of a group appears at least once.
HAND_CHECKED = [
    # A/DT dog/NN sits/VBZ on/IN the/DT red/JJ mat/NN ./.
    ("A dog sits on the red mat.",
     dict(n_words=7, n_nouns=2, n_adj_adv=1, n_prep=1, n_clip_tokens=10, n_sentences=1),
     ["dog", "mat"]),
    # Two/CD small/JJ cats/NNS sleep/VBP under/IN a/DT wooden/JJ table/NN near/IN the/DT
    # window/NN ./.
    ("Two small cats sleep under a wooden table near the window.",
     dict(n_words=11, n_nouns=3, n_adj_adv=2, n_prep=2, n_clip_tokens=14, n_sentences=1),
     ["cats", "table", "window"]),
    # The/DT old/JJ man/NN quickly/RB walks/VBZ across/IN the/DT busy/JJ street/NN ./.
    ("The old man quickly walks across the busy street.",
     dict(n_words=9, n_nouns=2, n_adj_adv=3, n_prep=1, n_clip_tokens=12, n_sentences=1),
     ["man", "street"]),
    # A/DT very/RB tall/JJ tree/NN stands/VBZ beside/IN a/DT quiet/JJ lake/NN in/IN the/DT
    # morning/NN ./. It/PRP is/VBZ green/JJ ./.
    ("A very tall tree stands beside a quiet lake in the morning. It is green.",
     dict(n_words=15, n_nouns=3, n_adj_adv=4, n_prep=2, n_clip_tokens=19, n_sentences=2),
     ["tree", "lake", "morning"]),
    # The/DT tallest/JJS building/NN in/IN Paris/NNP is/VBZ taller/JJR than/IN the/DT
    # older/JJR tower/NN ./.
    ("The tallest building in Paris is taller than the older tower.",
     dict(n_words=11, n_nouns=3, n_adj_adv=3, n_prep=2, n_clip_tokens=14, n_sentences=1),
     ["building", "paris", "tower"]),
    # She/PRP runs/VBZ faster/RBR and/CC works/VBZ hardest/JJS of/IN all/PDT the/DT
    # students/NNS ./.
    ("She runs faster and works hardest of all the students.",
     dict(n_words=10, n_nouns=1, n_adj_adv=2, n_prep=1, n_clip_tokens=13, n_sentences=1),
     ["students"]),
    # John/NNP and/CC Mary/NNP visited/VBD the/DT Alps/NNPS with/IN their/PRP$ friends/NNS ./.
    ("John and Mary visited the Alps with their friends.",
     dict(n_words=9, n_nouns=4, n_adj_adv=0, n_prep=1, n_clip_tokens=12, n_sentences=1),
     ["john", "mary", "alps", "friends"]),
    # He/PRP drove/VBD more/RBR slowly/RB than/IN his/PRP$ brother/NN ./.
    ("He drove more slowly than his brother.",
     dict(n_words=7, n_nouns=1, n_adj_adv=2, n_prep=1, n_clip_tokens=10, n_sentences=1),
     ["brother"]),
    # Distinct lower-cased surface forms: Dog/NNP dog/NN DOG/NN are three nouns, one entry.
    ("The Dog chased the dog and the DOG barked.",
     dict(n_words=9, n_nouns=3, n_adj_adv=0, n_prep=0, n_clip_tokens=13, n_sentences=1),
     ["dog"]),
]


@pytest.mark.parametrize(("text", "counts", "nouns"), HAND_CHECKED, ids=lambda v: str(v)[:20])
def test_hand_checked_sentences(extractor: TextStatsExtractor, text, counts, nouns) -> None:
    (stats,) = extractor.extract([text])
    assert stats == {**counts, "nouns": nouns}


def test_tags_come_from_the_expected_pipeline(extractor: TextStatsExtractor) -> None:
    assert extractor.nlp.pipe_names == ["tok2vec", "tagger"]
    doc = extractor.nlp("The tallest building in Paris is taller than the older tower.")
    assert [t.tag_ for t in doc] == [
        "DT", "JJS", "NN", "IN", "NNP", "VBZ", "JJR", "IN", "DT", "JJR", "NN", ".",
    ]


def test_numpy_blas_tags_equal_blis_tags(extractor: TextStatsExtractor) -> None:
    """The stage's layers run on numpy's BLAS (``use_numpy_blas``); spaCy's default, BLIS,
    must tag the same: every tag of varied prose, and the probabilities within float32
    rounding."""
    import random

    from thinc.api import NumpyOps

    from stats.text_stats import load_tagger

    blis_nlp = load_tagger(numpy_blas=False)
    layers = [layer for _, c in extractor.nlp.pipeline for layer in c.model.walk()]
    assert {(type(layer.ops), layer.ops.use_blis) for layer in layers} == {(NumpyOps, False)}
    assert {layer.ops.use_blis for _, c in blis_nlp.pipeline for layer in c.model.walk()} == {
        True}
    rng = random.Random(3)
    vocabulary = [t for t, _, _ in HAND_CHECKED if t] + [
        "A woman in a red coat walks her dog past the old bakery on a rainy morning.",
        "Close-up of wet cobblestones; neon signs (pink, blue) reflect in puddles!",
        "Les enfants jouent dans le parc.", "3 cats, 2 dogs & 1 very tired owner",
    ]
    texts = [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 6)))
             for _ in range(150)]
    ours = [[t.tag_ for t in doc] for doc in extractor.nlp.pipe(texts)]
    reference = [[t.tag_ for t in doc] for doc in blis_nlp.pipe(texts)]
    assert sum(map(len, ours)) > 5000
    assert ours == reference
    # the tag probabilities, not just their argmax
    scores = extractor.nlp.get_pipe("tagger").model.predict(
        list(extractor.nlp.pipe(texts[:20])))
    blis_scores = blis_nlp.get_pipe("tagger").model.predict(list(blis_nlp.pipe(texts[:20])))
    assert len(scores) == 20
    for ours_doc, blis_doc in zip(scores, blis_scores, strict=True):
        assert ours_doc.dtype == np.float32 and ours_doc.shape == blis_doc.shape
        assert np.abs(ours_doc - blis_doc).max() < 1e-4


def test_batch_equals_one_by_one(extractor: TextStatsExtractor) -> None:
    texts = [t for t, _, _ in HAND_CHECKED]
    assert extractor.extract(texts) == [extractor.extract([t])[0] for t in texts]


@pytest.mark.parametrize("text", ["", " ", "\n\t  \n", "\u3000"])
def test_empty_text_is_zero_with_two_clip_tokens(extractor: TextStatsExtractor, text) -> None:
    assert extractor.extract([text]) == [{
        "n_words": 0, "n_nouns": 0, "n_adj_adv": 0, "n_prep": 0, "n_clip_tokens": 2,
        "n_sentences": 0, "nouns": [],
    }]


def test_none_is_none(extractor: TextStatsExtractor) -> None:
    assert extractor.extract([None, "A dog.", None])[0::2] == [None, None]


def test_non_text_value_is_an_error(extractor: TextStatsExtractor) -> None:
    with pytest.raises(TypeError, match="text #1 is int"):
        extractor.extract(["ok", 3])  # type: ignore[list-item]


def test_trailing_whitespace_is_not_a_sentence(extractor: TextStatsExtractor) -> None:
    (stats,) = extractor.extract(["A dog sits.   \n  "])
    assert stats["n_sentences"] == 1


@pytest.mark.parametrize(
    "text",
    [
        "Привет мир. Это кошка на столе.",  # Cyrillic
        "猫が座っている。犬もいる。",  # Japanese: no spaces, one "word"
        "Un chien rouge est assis sur le tapis.",  # French
        "a\u200bb zero\u200bwidth",  # zero-width space does not split words
        "café naïve e\u0301 🐱🐶 \u202eevil\u202c",  # accents, combining, emoji, bidi
        "tab\tnbsp\u00a0ideographic\u3000space",  # Unicode whitespace splits words
        "nul\x00byte and bell\x07",
        "\ufeffBOM at start",
        "A" * 5000,  # one very long word
    ],
)
def test_odd_text_gives_defined_counts(extractor: TextStatsExtractor, text: str) -> None:
    from open_clip.tokenizer import SimpleTokenizer

    (stats,) = extractor.extract([text])
    assert stats["n_words"] == len(text.split())
    assert stats["n_clip_tokens"] == len(SimpleTokenizer().encode(text)) + 2
    for name in ("n_nouns", "n_adj_adv", "n_prep", "n_sentences"):
        assert isinstance(stats[name], int) and 0 <= stats[name] <= max(1, len(text))
    assert len(stats["nouns"]) == len(set(stats["nouns"])) <= stats["n_nouns"]
    assert all(noun == noun.lower() for noun in stats["nouns"])


def test_lone_surrogate_is_replaced(extractor: TextStatsExtractor) -> None:
    (stats,) = extractor.extract(["bad \ud800 text"])
    (same,) = extractor.extract(["bad ? text"])
    assert stats == same


def test_ten_thousand_words(extractor: TextStatsExtractor) -> None:
    unit = "Two small cats sleep under a wooden table near the window. "
    text = unit * 910  # 10,010 words, ~55k characters, no truncation anywhere
    (stats,) = extractor.extract([text])
    assert stats["n_words"] == 11 * 910
    assert stats["n_clip_tokens"] == 12 * 910 + 2
    assert stats["n_nouns"] == 3 * 910
    assert stats["n_adj_adv"] == 2 * 910
    assert stats["n_prep"] == 2 * 910
    assert stats["n_sentences"] == 910
    assert stats["nouns"] == ["cats", "table", "window"]


def test_texts_past_the_chunk_size_are_tagged_in_pieces() -> None:
    small = TextStatsExtractor(max_chunk_chars=1000)
    text = "Two small cats sleep under a wooden table near the window. " * 100
    (stats,) = small.extract([text])
    # Cuts fall after a sentence end, so even the tag counts stay exact here.
    assert stats == {
        "n_words": 1100, "n_nouns": 300, "n_adj_adv": 200, "n_prep": 200,
        "n_clip_tokens": 1202, "n_sentences": 100, "nouns": ["cats", "table", "window"],
    }


def test_bad_options_are_errors() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        TextStatsExtractor(batch_size=0)
    with pytest.raises(ValueError, match="text_columns is empty"):
        CaptionStats(text_columns={})
    with pytest.raises(ValueError, match="one prefix"):
        CaptionStats(text_columns={"a": "", "b": ""})


@pytest.fixture(scope="module")
def stage() -> CaptionStats:
    return CaptionStats()


def _objects(values: list) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def test_numpy_batch_fills_caption_and_alt_columns(stage: CaptionStats) -> None:
    batch = {
        "id": _objects(["a", "b", "c"]),
        "caption": _objects(["A dog sits on the red mat.", None, ""]),
        "alt_text": _objects(["red mat", "He drove more slowly than his brother.", None]),
    }
    out = stage(batch)
    assert list(out["id"]) == ["a", "b", "c"]
    assert list(out["n_words"]) == [7, None, 0]
    assert list(out["n_clip_tokens"]) == [10, None, 2]
    assert list(out["nouns"]) == [["dog", "mat"], None, []]
    assert list(out["alt_n_words"]) == [2, 7, None]
    assert list(out["alt_n_adj_adv"]) == [1, 2, None]
    assert list(out["alt_nouns"])[1:] == [["brother"], None]
    # What the recaption job does next: rows into the manifest schema.
    rows = [
        {k: out[k][i] for k in out} | {"source": "s", "source_key": "k", "shard_id": "0",
                                       "run_id": "r", "schema_version": 1, "status": "kept"}
        for i in range(3)
    ]
    assert to_table(rows).column("n_words").to_pylist() == [7, None, 0]


def test_numpy_batch_without_alt_text_gets_null_alt_stats(stage: CaptionStats) -> None:
    out = stage({"caption": np.array(["A dog sits on the red mat."])})  # numpy unicode array
    assert out["n_nouns"].tolist() == [2]
    assert out["alt_n_words"].tolist() == [None]
    assert out["alt_nouns"].tolist() == [None]


def test_empty_numpy_batch(stage: CaptionStats) -> None:
    out = stage({"caption": _objects([]), "alt_text": _objects([])})
    assert all(len(out[c]) == 0 for c in stat_columns("") + stat_columns("alt_"))


def test_arrow_batch_is_typed_like_the_manifest(stage: CaptionStats) -> None:
    table = pa.table({
        "caption": pa.array(["A dog sits on the red mat.", None]),
        "alt_text": pa.array([None, "red mat"]),
        "n_words": pa.array([99, 99], pa.int32()),  # stale values are replaced
    })
    out = stage(table)
    for name in stat_columns("") + stat_columns("alt_"):
        assert out.schema.field(name).type == MANIFEST_SCHEMA.field(name).type, name
    assert out.column("n_words").to_pylist() == [7, None]
    assert out.column("alt_nouns").to_pylist() == [None, ["mat"]]


def test_sentences_split_as_spacys_sentencizer(extractor: TextStatsExtractor) -> None:
    """``sentence_starts`` against the component itself, on fuzzed texts full of
    sentence ends, runs of punctuation, Unicode enders, quotes and whitespace."""
    import random

    import numpy as np
    from spacy.attrs import IS_PUNCT, ORTH, SENT_START

    from stats.text_stats import sentence_punct_chars, sentence_starts

    sentencizer = extractor.nlp.add_pipe("sentencizer", name="check_sentencizer")
    try:
        rng = random.Random(7)
        pieces = ["cat", "Dog", "a", "the", ".", "!", "?", "...", "?!", '"', ")", "(", "-",
                  "।", "。", "\n", " ", "\u3000", "e.g.", "3.5", ":", ";", ","]
        texts = ["".join(rng.choice(pieces) + rng.choice(["", " ", "  "])
                         for _ in range(rng.randint(0, 40))) for _ in range(400)]
        texts += [". . .", "!", "  .", "Hi. ", "Hi.\n\nThere", "a.b. c"]
        for text in texts:
            doc = extractor.nlp(text)
            expected = doc.to_array([SENT_START]).reshape(-1) == 1
            (stats,) = extractor.extract([text])
            assert stats["n_sentences"] == len([
                s for s in doc.sents if not all(t.is_space for t in s)
            ]), text
            own = extractor.nlp.make_doc(text)
            for name, proc in extractor.nlp.pipeline:
                if name != "check_sentencizer":
                    own = proc(own)
            arrays = own.to_array([ORTH, IS_PUNCT])
            ends = np.isin(arrays[:, 0], [own.vocab.strings.add(c)
                                          for c in sentence_punct_chars()])
            assert sentence_starts(ends, arrays[:, 1] != 0).tolist() == expected.tolist(), text
        assert sentencizer.punct_chars == set(sentence_punct_chars())
    finally:
        extractor.nlp.remove_pipe("check_sentencizer")
