"""One registration per source kind: the job's union, download folders, the funnel's
first steps and the card's terms come from it."""

from __future__ import annotations

from typing import Literal

import pytest

import demo  # noqa: F401  (registers the demo kinds, as the job config does)
from curation.base import SourceConfig
from curation.folder import FolderSource, FolderSourceConfig
from curation.registry import (
    UNKNOWN_TERMS,
    SourceKind,
    build_source,
    downloads,
    register_source,
    source_kind,
    source_kinds,
    source_terms,
)


def test_every_kind_is_registered_once_with_what_it_does() -> None:
    kinds = source_kinds()
    assert sorted(kinds) == ["demo_laion", "folder", "laion", "sa1b", "sample_photos",
                             "url_text", "webdataset"]
    assert kinds["laion"] is kinds["url_text"]  # one config model, one reader, two kinds
    assert sorted(k for k in kinds if downloads(k)) == ["demo_laion", "laion", "url_text"]
    assert kinds["laion"].reject_steps == ("prefilter", "download")
    assert kinds["folder"].reject_steps == ()


def test_terms_by_preset_then_kind() -> None:
    assert source_terms("url_text", "coyo")[0] == "COYO-700M"
    assert source_terms("laion")[0] == "LAION-Aesthetics"
    assert source_terms("url_text") == UNKNOWN_TERMS  # a custom layout: terms unknown
    assert source_terms("sa1b")[1].startswith("Images under the SA-1B Dataset Research "
                                              "License (Meta)")
    assert source_terms("nobody") == UNKNOWN_TERMS


def test_an_unknown_kind_and_a_clashing_registration_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"^source kind 'nope' has no implementation; "
                                         r"known: \['demo_laion', 'folder', "):
        source_kind("nope")

    class ClashConfig(SourceConfig):
        kind: Literal["folder"]

    with pytest.raises(ValueError, match="^source kind 'folder' is registered twice "
                                         r"\(FolderSourceConfig and ClashConfig\)$"):
        register_source(SourceKind(ClashConfig, FolderSource))


def test_the_source_name_rule_lives_in_one_place(tmp_path) -> None:
    named = build_source(FolderSourceConfig(kind="folder", path=tmp_path, name="mine"))
    unnamed = build_source(FolderSourceConfig(kind="folder", path=tmp_path))
    assert (named.name, unnamed.name) == ("mine", "folder")
