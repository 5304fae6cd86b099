"""Download one shard of URLs with img2dataset (as a library), and read the result back.

We call img2dataset's own ``Downloader`` (its thread pool, retries, timeouts,
``X-Robots-Tag`` opt-outs, user-agent token, ``Resizer`` checks, webdataset writer and
per-shard stats) on one shard inside a Ray task, the same thing its ``ray``
distributor does; its ``download()`` entry point is not used because it would start a
logger process and a process pool per shard and shard the input itself, while our
shards are planned, resumed and counted by the run.

Output, per shard in the source's download folder (img2dataset's layout):
``NNNNN.tar`` (webdataset: ``key.jpg``, ``key.txt``, ``key.json``), ``NNNNN.parquet``
(one status row per URL) and ``NNNNN_stats.json``, written last: it is the marker of a
finished download, so a rerun downloads nothing twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

# img2dataset imports albumentations, which otherwise checks PyPI for updates on import.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

OOM_SHARD_COUNT = 5  # img2dataset's shard-name width: 00000.tar .. 99999.tar
IMG2DATASET_CONTACT = "+https://github.com/rom1504/img2dataset"
ROBOTS_DIRECTIVES = ("noai", "noimageai", "noindex", "noimageindex")

# img2dataset's error messages -> our reason codes (status, code)
REASON_ROBOTS = "download_robots_optout"
REASON_TOO_SMALL = "download_too_small"
REASON_ASPECT = "download_aspect_ratio"
REASON_TOO_LARGE = "download_too_large"
ERROR_TIMEOUT = "download_timeout"
ERROR_NOT_IMAGE = "download_not_an_image"
ERROR_FAILED = "download_failed"
ERROR_MISSING = "download_missing_from_shard"


class DownloadOptions(BaseModel):
    """img2dataset's options that matter here; resizing is off: captioners want originals."""

    model_config = ConfigDict(extra="forbid")

    thread_count: int = Field(64, gt=0, description="download threads per shard task")
    timeout_s: float = Field(10, gt=0, description="per request")
    retries: int = Field(0, ge=0, description="extra tries per URL")
    min_image_size: int = Field(0, ge=0, description="img2dataset's short-edge check, px")
    max_aspect_ratio: float | None = Field(None, gt=1)
    user_agent_token: str = Field(
        "paraimage", description="names the crawler; X-Robots-Tag 'TOKEN: noai' applies to us"
    )
    contact_url: str | None = Field(
        None, description="where site owners reach the operator; goes into the User-Agent"
    )
    disallowed_header_directives: list[str] = Field(
        default_factory=lambda: list(ROBOTS_DIRECTIVES),
        description="X-Robots-Tag directives that refuse an image ([] to ignore them)",
    )
    keep_original_bytes: bool = Field(
        False,
        description="never re-encode (img2dataset's disable_all_reencoding); skips its "
        "size checks, our resolution filter still applies. Default: JPEGs are kept as "
        "they are, other formats re-encoded to JPEG.",
    )


@dataclass(frozen=True)
class DownloadedSample:
    row: int
    status: str  # "kept", "rejected" or "error"
    reason: str | None  # reject_reason or error
    image: bytes | None
    member: str | None  # member name in the shard's tar
    sha256: str | None


def shard_name(shard_number: int) -> str:
    return f"{shard_number:0{OOM_SHARD_COUNT}d}"


def shard_paths(folder: Path, shard_number: int) -> dict[str, Path]:
    name = shard_name(shard_number)
    return {
        "tar": folder / f"{name}.tar",
        "status": folder / f"{name}.parquet",
        "stats": folder / f"{name}_stats.json",
        "input": folder / "_tmp" / f"{name}.feather",
    }


def classify(error_message: str) -> tuple[str, str]:
    """(status, reason) of an img2dataset failure message."""
    message = error_message.strip()
    if "X-Robots-Tag" in message:
        return "rejected", REASON_ROBOTS
    if message == "image too small":
        return "rejected", REASON_TOO_SMALL
    if message == "aspect ratio too large":
        return "rejected", REASON_ASPECT
    if message == "image area too large":
        return "rejected", REASON_TOO_LARGE
    http = re.search(r"HTTP Error (\d{3})", message)
    if http:
        return "error", f"download_http_{http.group(1)}: {message}"
    if "timed out" in message.lower():
        return "error", f"{ERROR_TIMEOUT}: {message}"
    if message == "Image decoding error":
        return "error", f"{ERROR_NOT_IMAGE}: {message}"
    return "error", f"{ERROR_FAILED}: {message}"


class _ContactHandler(urllib.request.BaseHandler):
    """Puts the operator's contact URL where img2dataset names its own project."""

    def __init__(self, contact_url: str) -> None:
        self.contact = f"+{contact_url}"

    def http_request(self, request: urllib.request.Request) -> urllib.request.Request:
        agent = request.get_header("User-agent")
        if agent:
            request.add_unredirected_header(
                "User-agent", agent.replace(IMG2DATASET_CONTACT, self.contact)
            )
        return request

    https_request = http_request


@contextlib.contextmanager
def _user_agent_contact(contact_url: str | None) -> Iterator[None]:
    if contact_url is None:
        yield
        return
    urllib.request.install_opener(urllib.request.build_opener(_ContactHandler(contact_url)))
    try:
        yield
    finally:
        urllib.request.install_opener(None)


def is_downloaded(folder: Path, shard_number: int) -> bool:
    return shard_paths(folder, shard_number)["stats"].exists()


def download_shard(
    rows: Sequence[dict[str, Any]],
    folder: Path,
    shard_number: int,
    rows_per_shard: int,
    options: DownloadOptions,
) -> None:
    """Download ``rows`` (``row``, ``url``, ``alt_text``) into img2dataset shard
    ``shard_number`` of ``folder``, unless that shard is already complete."""
    from img2dataset.downloader import Downloader
    from img2dataset.resizer import Resizer
    from img2dataset.writer import WebDatasetSampleWriter

    if is_downloaded(folder, shard_number):
        return
    paths = shard_paths(folder, shard_number)
    paths["input"].parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({
        "url": pa.array([row["url"] for row in rows], pa.string()),
        "caption": pa.array([row["alt_text"] for row in rows], pa.string()),
        "paraimage_row": pa.array([row["row"] for row in rows], pa.int64()),
    })
    with pa.OSFile(str(paths["input"]), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
        w.write_table(table)
    resizer = Resizer(
        image_size=0,
        resize_mode="no",
        resize_only_if_bigger=False,
        skip_reencode=True,
        disable_all_reencoding=options.keep_original_bytes,
        min_image_size=options.min_image_size,
        max_aspect_ratio=options.max_aspect_ratio or float("inf"),
    )
    downloader = Downloader(
        sample_writer_class=WebDatasetSampleWriter,
        resizer=resizer,
        thread_count=options.thread_count,
        save_caption=True,
        extract_exif=False,
        output_folder=str(folder),
        column_list=["url", "caption", "paraimage_row"],
        timeout=options.timeout_s,
        number_sample_per_shard=rows_per_shard,
        oom_shard_count=OOM_SHARD_COUNT,
        compute_hash="sha256",
        verify_hash_type=None,
        encode_format="jpg",
        retries=options.retries,
        user_agent_token=options.user_agent_token,
        disallowed_header_directives=options.disallowed_header_directives or None,
    )
    with _user_agent_contact(options.contact_url):
        # raises on a shard-level failure (disk full, ...): the Ray task fails and the
        # run can be resumed; per-URL failures are rows of the status parquet.
        downloader.download_shard((shard_number, str(paths["input"])))


def read_downloaded(folder: Path, shard_number: int) -> Iterator[DownloadedSample]:
    """One sample per downloaded-or-failed row of the shard, successes streamed from
    the tar (images are not all held in memory)."""
    from curation.tar_samples import iter_samples

    paths = shard_paths(folder, shard_number)
    statuses = pq.read_table(
        paths["status"], columns=["key", "status", "error_message", "paraimage_row", "sha256"]
    ).to_pylist()
    by_key = {status["key"]: status for status in statuses}
    seen: set[str] = set()
    if paths["tar"].exists():
        for key, files, names in iter_samples(paths["tar"]):
            status = by_key.get(key)
            if status is None or status["status"] != "success" or "jpg" not in files:
                continue
            seen.add(key)
            yield DownloadedSample(
                row=status["paraimage_row"], status="kept", reason=None,
                image=files["jpg"], member=names["jpg"], sha256=status["sha256"],
            )
    for status in statuses:
        if status["key"] in seen:
            continue
        if status["status"] == "success":
            verdict, reason = "error", f"{ERROR_MISSING}: {status['key']} not in the tar"
        else:
            verdict, reason = classify(status["error_message"] or "unknown error")
        yield DownloadedSample(row=status["paraimage_row"], status=verdict, reason=reason,
                               image=None, member=None, sha256=None)


def read_stats(folder: Path) -> list[dict[str, Any]]:
    """img2dataset's per-shard stats files of a download folder."""
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*_stats.json"))]
