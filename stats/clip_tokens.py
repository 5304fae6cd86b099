"""Exact CLIP token counts without building token ids.

The count is ``len(SimpleTokenizer().encode(text)) + 2`` (start and end tokens, no
truncation at 77), and it must stay exactly that: tests compare it with open_clip's
``encode`` on fuzzed text. It is computed with open_clip's own cleaning, regex and BPE,
plus two shortcuts that do not change the result:

* plain printable ASCII without ``&`` skips ``ftfy.fix_text`` and ``html.unescape``,
  which leave such text unchanged (no mojibake, entities, control or terminal escapes
  are possible), and which cost more than the rest of the count;
* such text is counted word by word (whitespace-separated, lower-cased), each word's
  count memoised: no regex alternative matches whitespace, so the regex's pieces never
  span two words and a text's count is the sum of its words'. A repeated word costs one
  dict lookup instead of a regex pass, a byte re-encoding and a list split;
* other text is counted piece by piece (what the regex yields), each piece memoised.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

from stats.definitions import CLIP_SPECIAL_TOKENS

# Characters ftfy or html.unescape may rewrite in ASCII text: control characters other
# than tab and newline (ftfy drops or converts them) and "&" (HTML entities).
_ASCII_NEEDS_CLEANING = re.compile(r"[\x00-\x08\x0b-\x1f\x7f&]")
# Bound on memoised pieces, so a stream of unique junk cannot grow it without limit.
_MAX_CACHED_PIECES = 500_000
# Our own name for open_clip's tokenizer module when it is loaded on its own (below).
_TOKENIZER_MODULE = "stats._open_clip_tokenizer"


def _open_clip_tokenizer() -> ModuleType:
    """open_clip's ``tokenizer`` module, without running ``open_clip/__init__.py``.

    The package's ``__init__`` imports its model zoo (torchvision, transformers, timm):
    ~6 CPU-seconds per process, paid by every Ray worker before its first text, for a
    module that needs only ftfy, regex, torch and the BPE file beside it. The same file
    is loaded on its own instead, so the BPE is still exactly open_clip's; if it ever
    stops loading that way (a relative import), the package is imported as usual.
    """
    if "open_clip.tokenizer" in sys.modules:
        return sys.modules["open_clip.tokenizer"]
    if _TOKENIZER_MODULE in sys.modules:
        return sys.modules[_TOKENIZER_MODULE]
    package = importlib.util.find_spec("open_clip")  # locates it without importing it
    if package is not None and package.submodule_search_locations:
        path = Path(next(iter(package.submodule_search_locations))) / "tokenizer.py"
        spec = importlib.util.spec_from_file_location(_TOKENIZER_MODULE, path)
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            sys.modules[_TOKENIZER_MODULE] = module
            try:
                spec.loader.exec_module(module)
                return module
            except ImportError:
                del sys.modules[_TOKENIZER_MODULE]
    import open_clip.tokenizer

    return open_clip.tokenizer


def _memoised_sum(keys: Iterable[str], memo: dict[str, int], count: Callable[[str], int]) -> int:
    """The sum of ``count`` over ``keys``, each key's count memoised (up to a bound)."""
    total = 0
    for key in keys:
        n = memo.get(key)
        if n is None:
            n = count(key)
            if len(memo) < _MAX_CACHED_PIECES:
                memo[key] = n
        total += n
    return total


def _is_plain_ascii(text: str) -> bool:
    return text.isascii() and _ASCII_NEEDS_CLEANING.search(text) is None


class ClipTokenCounter:
    """Counts CLIP BPE tokens of a text, start and end tokens included."""

    def __init__(self) -> None:
        # open_clip's tokenizer imports torch at module level: load it here, once per worker.
        self._tokenizer = _open_clip_tokenizer().SimpleTokenizer()
        self._pattern = self._tokenizer.pat
        self._byte_encoder = self._tokenizer.byte_encoder
        self._pieces: dict[str, int] = {}
        self._words: dict[str, int] = {}

    def clean(self, text: str) -> str:
        """The text as open_clip's default ("lower") cleaning leaves it."""
        if _is_plain_ascii(text):
            return " ".join(text.split()).lower()
        return self._tokenizer.clean_fn(text)

    def count(self, text: str) -> int:
        if not _is_plain_ascii(text):
            return CLIP_SPECIAL_TOKENS + self._count_pieces(self._tokenizer.clean_fn(text))
        words = self._words
        # str.split and the regex agree on ASCII whitespace (space, \t, \n, \r; the
        # other ASCII whitespace characters are controls, which take the path above).
        lowered = text.lower().split()
        try:  # every word seen before (the usual case): one pass in C, no Python loop
            return CLIP_SPECIAL_TOKENS + sum(map(words.__getitem__, lowered))
        except KeyError:
            pass
        return CLIP_SPECIAL_TOKENS + _memoised_sum(lowered, words, self._count_pieces)

    def _count_pieces(self, cleaned: str) -> int:
        return _memoised_sum(self._pattern.findall(cleaned), self._pieces, self._bpe_length)

    def _bpe_length(self, piece: str) -> int:
        encoded = "".join(self._byte_encoder[b] for b in piece.encode("utf-8"))
        return len(self._tokenizer.bpe(encoded).split(" "))
