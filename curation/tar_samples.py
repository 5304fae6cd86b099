"""Tar shards read member by member, keeping the row contract of ``BaseSource.read``.

A sample is the run of consecutive members sharing a key (``dir/key.ext``). Both tar
sources (``webdataset``, ``sa1b``) count samples when planning and must then yield
exactly that many rows (``curation/base.py``), whatever happened to the tar since.
``read_planned_samples`` is that one contract, shared:

* a tar that grew after planning: reading stops at the planned count;
* a key met again later in the tar (its members are not adjacent): that second run
  becomes an error row with a key of its own (``<source_key>#<row>``), so a shard
  never holds one id twice;
* a tar that broke, shrank or vanished after planning: the samples not reached
  become error rows (``<tar>/#unread-<row>``).

Tars are streamed (``r|*``), never unpacked to disk.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from curation.base import ShardSpec, error_record

# (source_key, {extension: bytes}, {extension: member name}) -> the sample's row
SampleRow = Callable[[str, dict[str, bytes], dict[str, str]], dict[str, Any]]


def split_member_name(name: str) -> tuple[str, str]:
    """``a/b/000123.jpg`` -> (``a/b/000123``, ``jpg``); webdataset keys end at the first dot
    of the base name, so ``x.seg.png`` belongs to sample ``x``."""
    directory, _, base = name.rpartition("/")
    stem, _, extension = base.partition(".")
    key = f"{directory}/{stem}" if directory else stem
    return key, extension.lower()


def iter_samples(path: Path) -> Iterator[tuple[str, dict[str, bytes], dict[str, str]]]:
    """(key, {extension: bytes}, {extension: member name}) for each run of consecutive
    members with one key."""
    key: str | None = None
    files: dict[str, bytes] = {}
    names: dict[str, str] = {}
    with tarfile.open(path, mode="r|*") as tar:
        for member in tar:
            if not member.isfile():
                continue
            member_key, extension = split_member_name(member.name)
            if key is not None and member_key != key:
                yield key, files, names
                files, names = {}, {}
            key = member_key
            extracted = tar.extractfile(member)
            files[extension] = extracted.read() if extracted else b""
            names[extension] = member.name
    if key is not None:
        yield key, files, names


def count_samples(path: Path) -> int:
    """Samples of the tar at ``path``: its runs of consecutive members with one key, the
    grouping ``iter_samples`` uses (a key split apart counts once per run)."""
    with tarfile.open(path, mode="r:*") as tar:
        keys = [split_member_name(m.name)[0] for m in tar.getmembers() if m.isfile()]
    return sum(1 for i, key in enumerate(keys) if i == 0 or keys[i - 1] != key)


def read_planned_samples(
    shard: ShardSpec,
    run_id: str,
    sample_row: SampleRow,
    *,
    split_error: str,
    unreadable_error: str,
    strip_prefix: str = "",
) -> Iterator[dict[str, Any]]:
    """Exactly ``shard.n_records`` rows of the tar ``shard.uri``, one per sample.

    ``sample_row`` turns one sample into its row (kept, or an error the source
    decides); ``split_error`` and ``unreadable_error`` are the source's error kinds for
    a key met twice and for samples the tar no longer holds. ``strip_prefix`` is cut
    from each key (SA-1B members are ``./sa_<n>.jpg``).
    """
    tar_path = Path(shard.uri)
    emitted = 0
    seen: set[str] = set()
    reason = f"{unreadable_error}: tar has fewer samples than planned"
    try:
        for raw_key, files, names in iter_samples(tar_path):
            if emitted == shard.n_records:
                break  # the tar grew since planning: the plan is the row contract
            key = raw_key.removeprefix(strip_prefix)
            source_key = f"{tar_path.name}/{key}"
            if key in seen:
                yield error_record(
                    shard, f"{source_key}#{emitted}", run_id,
                    f"{split_error}: members of {key} are not adjacent in the tar",
                )
            else:
                yield sample_row(source_key, files, names)
            seen.add(key)
            emitted += 1
    except (tarfile.TarError, OSError) as exc:
        reason = f"{unreadable_error}: {exc}"
    for missing in range(emitted, shard.n_records):
        yield error_record(shard, f"{tar_path.name}/#unread-{missing}", run_id, reason)
