"""SA-1B tar shards (``sa_000000.tar`` ... ``sa_000999.tar``): one tar = one shard.

A sample is ``sa_<n>.jpg`` with its ``sa_<n>.json``; the JPEG becomes the record. Of
the JSON only ``image`` is read (``width``, ``height``, ``file_name``, ``image_id``), to
check the pair belongs together; the mask annotations are dropped with the parsed
document. A JPEG without its JSON, a JSON without its JPEG, or a JSON that is malformed
or lacks the image size becomes an ``error`` row.

Tars are read in place when local. Remote ones (fsspec URLs in ``paths``, or the rows
of the official links file) are first copied whole into ``cache_dir`` during
``plan()``, because:
* a shard's row count must be known when planning (it is the resume contract), and
  counting means reading the tar's headers;
* the review tool and exports reopen an image later by its ``image_ref``, which names a
  member of a local tar.
The copy is streamed into ``<name>.tmp`` and committed by ``paraimage.atomic`` (fsync,
rename), so ``cache_dir`` only ever holds complete tars and a rerun fetches nothing
twice. Tars are never unpacked to disk. On a cluster ``cache_dir`` must be storage
every worker sees, like the tars the image_refs of any other source point at.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import tarfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal
from urllib.parse import urlparse

import fsspec
import tenacity
from fsspec.utils import get_protocol
from pydantic import Field, field_validator, model_validator

from curation.base import BaseSource, ShardSpec, SourceConfig, error_record, is_remote, new_record
from curation.image_ref import tar_ref
from curation.probe import IMAGE_BYTES
from curation.registry import SourceKind, register_source
from curation.tar_samples import count_samples, read_planned_samples
from paraimage.atomic import atomic_path
from paraimage.errors import UserError

ERROR_MISSING_JSON = "sa1b_missing_json"
ERROR_MISSING_JPG = "sa1b_missing_jpg"
ERROR_BAD_JSON = "sa1b_bad_json"
ERROR_UNEXPECTED_MEMBERS = "sa1b_unexpected_members"
ERROR_SPLIT_SAMPLE = "sa1b_split_sample"
ERROR_BAD_TAR = "sa1b_unreadable_tar"

LINKS_COLUMNS = ("file_name", "cdn_link")
FETCH_THREADS = 4  # a few tars at once saturate a link without hammering the CDN
COPY_CHUNK_BYTES = 8 << 20
MAX_BACKOFF_S = 30
DEFAULT_TIMEOUT_S = 60.0


class SA1BSourceError(UserError, RuntimeError):
    """Planning failed: a tar could not be fetched or read, or the links file is bad."""


@dataclass(frozen=True)
class TarEntry:
    """One tar to read: its file name (the shard's identity) and where it lives."""

    file_name: str
    location: str  # a local path, or the URL to fetch into cache_dir
    remote: bool


@dataclass(frozen=True)
class SA1BImageInfo:
    """The ``image`` object of an SA-1B annotation file; the only part this source reads."""

    width: int
    height: int
    file_name: str | None
    image_id: int | None


def url_file_name(url: str) -> str:
    """``https://cdn/x/sa_000000.tar?sig=..`` -> ``sa_000000.tar`` (CDN links carry queries)."""
    name = PurePosixPath(urlparse(url).path).name
    if not name:
        raise ValueError(f"cannot name the tar of {url!r}: its path has no file name")
    return name


def path_entries(patterns: list[str]) -> list[TarEntry]:
    entries = []
    for pattern in patterns:
        if is_remote(pattern):
            entries.append(TarEntry(url_file_name(pattern), pattern, remote=True))
            continue
        for match in glob.glob(str(Path(pattern.removeprefix("file://")).expanduser())):
            path = Path(match).resolve()
            entries.append(TarEntry(path.name, str(path), remote=False))
    return entries


def parse_links_file(text: str, origin: str) -> list[TarEntry]:
    """Entries of the official links file: a TSV with header ``file_name<TAB>cdn_link``."""
    reader = csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = reader.fieldnames or []
    missing = [column for column in LINKS_COLUMNS if column not in header]
    if missing:
        raise ValueError(f"links file {origin!r} lacks column(s) {missing}; header is {header}")
    entries = []
    for row in reader:
        name = (row.get("file_name") or "").strip()
        link = (row.get("cdn_link") or "").strip()
        where = f"links file {origin!r} line {reader.line_num}"
        if not name or not link:
            raise ValueError(f"{where}: empty file_name or cdn_link")
        # the name becomes a path under cache_dir: no directories, no escaping it
        if name != PurePosixPath(name).name or name in (".", ".."):
            raise ValueError(f"{where}: file_name {name!r} must be a plain file name")
        entries.append(TarEntry(name, link, remote=True))
    if not entries:
        raise ValueError(f"links file {origin!r} lists no tars")
    return entries


def sorted_unique(entries: list[TarEntry]) -> list[TarEntry]:
    """Entries by file name; two different tars of one name would give colliding ids."""
    by_name: dict[str, TarEntry] = {}
    for entry in dict.fromkeys(entries):  # overlapping globs may name one file twice
        first = by_name.setdefault(entry.file_name, entry)
        if first != entry:
            raise ValueError(
                f"two tars named {entry.file_name!r}: {first.location!r} and "
                f"{entry.location!r} (their source keys would collide)"
            )
    return [by_name[name] for name in sorted(by_name)]


def storage_options(url: str, timeout_s: float) -> dict[str, Any]:
    if get_protocol(url) not in ("http", "https"):
        return {}
    import aiohttp

    # aiohttp's default total=300 s would kill a healthy 10 GB download: limit only
    # the time without progress.
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s)
    return {"client_kwargs": {"timeout": timeout}}


def open_url(url: str, timeout_s: float) -> IO[bytes]:
    fs, path = fsspec.core.url_to_fs(url, **storage_options(url, timeout_s))
    # block_size=0: one streamed GET, instead of a range request per block
    kwargs = {"block_size": 0} if get_protocol(url) in ("http", "https") else {}
    return fs.open(path, "rb", **kwargs)


def read_links_file(location: str, timeout_s: float) -> list[TarEntry]:
    try:
        if is_remote(location):
            with open_url(location, timeout_s) as handle:
                text = handle.read().decode("utf-8")
        else:
            text = Path(location.removeprefix("file://")).expanduser().read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read links file {location!r}: {exc}") from exc
    return parse_links_file(text, location)


def _copy_to(url: str, target: Path, timeout_s: float) -> int:
    with atomic_path(target) as part:  # a killed run's leftover is overwritten
        fs, path = fsspec.core.url_to_fs(url, **storage_options(url, timeout_s))
        expected = fs.info(path).get("size")
        written = 0
        with open_url(url, timeout_s) as source, part.open("wb") as sink:
            while chunk := source.read(COPY_CHUNK_BYTES):
                sink.write(chunk)
                written += len(chunk)
        # a cached tar is trusted forever, so a short copy must never be renamed
        if expected is not None and written != expected:
            raise OSError(f"incomplete copy: {written} of {expected} bytes")
    return written


def fetch_tar(url: str, target: Path, timeout_s: float, retries: int) -> int:
    """Copy ``url`` to ``target`` unless it is cached; the bytes fetched (0 if cached)."""
    if target.is_file():
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    retrying = tenacity.Retrying(
        # transports raise their own types (aiohttp, botocore, ...); a 404 stays a 404:
        # retrying it only wastes time
        retry=tenacity.retry_if_not_exception_type(FileNotFoundError),
        stop=tenacity.stop_after_attempt(retries + 1),
        wait=tenacity.wait_exponential(max=MAX_BACKOFF_S),
        reraise=True,
    )
    return retrying(_copy_to, url, target, timeout_s)


def parse_image_info(data: bytes) -> SA1BImageInfo:
    """The ``image`` object of an annotation JSON; ``ValueError`` with the reason if bad."""
    try:
        payload = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{ERROR_BAD_JSON}: {exc}") from exc
    image = payload.get("image") if isinstance(payload, dict) else None
    if not isinstance(image, dict):
        raise ValueError(f"{ERROR_BAD_JSON}: no 'image' object")
    for field in ("width", "height"):
        value = image.get(field)
        if type(value) is not int or value <= 0:  # bool is an int subclass: exclude it
            raise ValueError(f"{ERROR_BAD_JSON}: image.{field} is {value!r}, "
                             "expected a positive integer")
    file_name = image.get("file_name")
    image_id = image.get("image_id")
    return SA1BImageInfo(
        width=image["width"],
        height=image["height"],
        file_name=file_name if isinstance(file_name, str) else None,
        image_id=image_id if type(image_id) is int else None,
    )


def sample_problem(key: str, files: dict[str, bytes], names: dict[str, str]) -> str | None:
    """Why a sample cannot become a record, or None when it can."""
    base = key.rpartition("/")[2]
    extensions = sorted(files)
    if extensions == ["jpg"]:
        return f"{ERROR_MISSING_JSON}: {base}.jpg has no {base}.json"
    if extensions == ["json"]:
        return f"{ERROR_MISSING_JPG}: {base}.json has no {base}.jpg"
    if extensions != ["jpg", "json"]:
        return f"{ERROR_UNEXPECTED_MEMBERS}: {extensions}"
    try:
        info = parse_image_info(files["json"])
    except ValueError as exc:
        return str(exc)
    jpg_name = names["jpg"].rpartition("/")[2]
    if info.file_name is not None and info.file_name != jpg_name:
        return f"{ERROR_BAD_JSON}: image.file_name is {info.file_name!r}, expected {jpg_name!r}"
    return None


class SA1BSourceConfig(SourceConfig):
    kind: Literal["sa1b"]
    paths: list[str] | None = Field(
        None, min_length=1, description="tar files, glob patterns or fsspec URLs"
    )
    links_file: str | None = Field(
        None, description="the official SA-1B links file (TSV: file_name, cdn_link)"
    )
    cache_dir: Path | None = Field(
        None, description="remote tars are fetched here and kept (image_refs point here)"
    )
    timeout_s: float = Field(
        DEFAULT_TIMEOUT_S, gt=0, description="seconds without progress per fetch"
    )
    retries: int = Field(3, ge=0, description="extra fetch attempts per tar")
    limit: int | None = Field(None, gt=0, description="read only the first N tars")

    @field_validator("paths")
    @classmethod
    def _local_patterns_must_match(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if not is_remote(pattern) and not path_entries([pattern]):
                raise ValueError(f"no tar file matches {pattern!r}")
        return patterns

    @field_validator("links_file")
    @classmethod
    def _local_links_file_must_parse(cls, links_file: str | None) -> str | None:
        # a remote links file is read when planning: validation does no network I/O
        if links_file is not None and not is_remote(links_file):
            read_links_file(links_file, DEFAULT_TIMEOUT_S)
        return links_file

    @field_validator("cache_dir")
    @classmethod
    def _expand(cls, cache_dir: Path | None) -> Path | None:
        return cache_dir.expanduser().resolve() if cache_dir is not None else None

    @model_validator(mode="after")
    def _one_input_and_a_cache(self) -> SA1BSourceConfig:
        if (self.paths is None) == (self.links_file is None):
            raise ValueError("set exactly one of `paths` or `links_file`")
        if self.cache_dir is None:
            if self.links_file is not None:
                raise ValueError("`cache_dir` is required with `links_file`: "
                                 "the tars it lists are fetched there")
            remote = [p for p in self.paths or [] if is_remote(p)]
            if remote:
                raise ValueError(f"`cache_dir` is required to fetch remote tars ({remote[0]!r})")
        if self.paths is not None:
            sorted_unique(path_entries(self.paths))  # duplicate names fail before any work
        return self


class SA1BSource(BaseSource):
    name = "sa1b"

    def __init__(self, config: SA1BSourceConfig) -> None:
        self.config = config
        self.name = config.source_name

    def tars(self) -> list[TarEntry]:
        """The tars to read, sorted by name and cut to ``limit`` (before any fetching)."""
        config = self.config
        try:
            if config.links_file is not None:
                entries = read_links_file(config.links_file, config.timeout_s)
            else:
                entries = path_entries(config.paths or [])
            entries = sorted_unique(entries)
        except ValueError as exc:
            raise SA1BSourceError(str(exc)) from exc
        return entries[: config.limit] if config.limit else entries

    def local_path(self, entry: TarEntry) -> Path:
        if not entry.remote:
            return Path(entry.location)
        assert self.config.cache_dir is not None  # the config validator guarantees it
        return self.config.cache_dir / entry.file_name

    def _prepare(self, entry: TarEntry) -> tuple[int, str]:
        """Fetch ``entry`` if needed and count its samples; (samples, what happened)."""
        path = self.local_path(entry)
        what = "local"
        if entry.remote:
            started = time.monotonic()
            try:
                fetched = fetch_tar(entry.location, path, self.config.timeout_s,
                                    self.config.retries)
            except Exception as exc:
                raise SA1BSourceError(
                    f"cannot fetch {entry.location!r}: {type(exc).__name__}: {exc}"
                ) from exc
            what = (f"fetched {fetched / 1e6:.1f} MB in {time.monotonic() - started:.1f} s"
                    if fetched else "cached")
        try:
            count = count_samples(path)
        except (tarfile.TarError, OSError) as exc:
            hint = " (delete it to fetch it again)" if entry.remote else ""
            raise SA1BSourceError(f"cannot read tar {path}: {exc}{hint}") from exc
        return count, what

    def plan(self) -> list[ShardSpec]:
        entries = self.tars()
        counts: dict[TarEntry, int] = {}
        failures: list[str] = []
        with ThreadPoolExecutor(max_workers=FETCH_THREADS) as pool:
            futures = {pool.submit(self._prepare, entry): entry for entry in entries}
            for done, future in enumerate(as_completed(futures), start=1):
                entry = futures[future]
                try:
                    counts[entry], what = future.result()
                except SA1BSourceError as exc:
                    failures.append(str(exc))
                    what = "FAILED"
                else:
                    what = f"{what}, {counts[entry]} samples"
                print(f"[{self.name}] {done}/{len(entries)} {entry.file_name}: {what}",
                      flush=True)
        if failures:
            # every other tar is cached by now, so a rerun only retries these
            raise SA1BSourceError(
                f"{len(failures)} of {len(entries)} tars failed: " + "; ".join(failures)
            )
        return [
            ShardSpec(
                shard_id=f"{index:05d}-{entry.file_name.split('.')[0]}",
                source=self.name,
                uri=str(self.local_path(entry)),
                n_records=counts[entry],
            )
            for index, entry in enumerate(entries)
        ]

    def read(self, shard: ShardSpec, run_id: str) -> Iterator[dict[str, Any]]:
        tar_path = Path(shard.uri)
        yield from read_planned_samples(
            shard, run_id,
            lambda source_key, files, names: self._record(
                shard, run_id, tar_path, source_key, files, names),
            split_error=ERROR_SPLIT_SAMPLE, unreadable_error=ERROR_BAD_TAR,
            strip_prefix="./",  # SA-1B members are ./sa_<n>.jpg
        )

    def _record(
        self,
        shard: ShardSpec,
        run_id: str,
        tar_path: Path,
        source_key: str,
        files: dict[str, bytes],
        names: dict[str, str],
    ) -> dict[str, Any]:
        problem = sample_problem(source_key, files, names)
        if problem is not None:
            return error_record(shard, source_key, run_id, problem)
        # The JSON's width/height are not stored: the manifest's image columns are
        # the probe's (measured from the bytes) and it has no source-size column.
        record = new_record(shard, source_key, run_id)
        record["image_ref"] = tar_ref(tar_path, names["jpg"])
        record[IMAGE_BYTES] = files["jpg"]
        return record


register_source(SourceKind(
    SA1BSourceConfig, SA1BSource,
    terms={"sa1b": ("SA-1B", "Images under the SA-1B Dataset Research License (Meta): research "
                     "use only, on the licence's terms; read it before redistributing any image.")},
))
