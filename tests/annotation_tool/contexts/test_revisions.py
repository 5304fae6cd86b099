"""The word diff shown to auditors of a revision and on the history timeline."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from annotation_tool.contexts.revisions import word_diff

words = st.lists(st.sampled_from(["a", "cup", "red", "table.", "on", "\n", "  "]), max_size=12)


@settings(max_examples=200, deadline=None, database=None)
@given(old=words, new=words)
def test_the_pieces_give_back_the_new_text_and_the_old_words(old, new):
    old_text, new_text = " ".join(old), " ".join(new)
    diff = word_diff(old_text, new_text)
    assert "".join(t for op, t in diff if op != "delete") == new_text
    assert "".join(t for op, t in diff if op != "insert").split() == old_text.split()
    assert all(op in {"equal", "insert", "delete"} and t for op, t in diff)


def test_a_replaced_word():
    assert word_diff("A red cup.", "A white cup.") == [
        ("equal", "A "),
        ("delete", "red "),
        ("insert", "white "),
        ("equal", "cup."),
    ]


def test_reflowed_whitespace_is_no_change():
    assert word_diff("A red\ncup.", "A red cup.") == [("equal", "A red cup.")]
