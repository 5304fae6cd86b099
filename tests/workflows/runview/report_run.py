"""A small synthetic run with real images (files and tar members) for report tests."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

from PIL import Image
from runview_helpers import T0, build_run, iso, row

from curation.image_ref import file_ref, tar_ref

COLORS = [(200, 40, 40), (40, 160, 60), (40, 80, 200), (220, 180, 30), (120, 40, 160),
          (30, 170, 170), (240, 120, 20), (90, 90, 90), (250, 250, 250), (10, 10, 10)]


def _png(color: tuple[int, int, int], size: tuple[int, int] = (320, 240)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def variant(captioner: str, name: str, caption: str, flags: list[str],
            words: int) -> dict[str, Any]:
    return {"captioner": captioner, "variant": name, "model": f"{captioner}-model",
            "prompt": "Describe.", "target_words": 150, "params": "{}", "status": "ok",
            "reason": None, "caption": caption, "caption_raw": caption,
            "finish_reason": "length" if "truncated" in flags else "stop", "flags": flags,
            "n_tokens": words * 2, "n_words": words}


def make_report_run(root: Path) -> Path:
    """9 kept (6 photos from files, 3 laion from a tar), 5 rejected (3 resolution, 1
    mosaic, 1 dedup), 2 errors (a corrupt file, a 404 without image)."""
    images = root.parent / f"{root.name}-images"
    images.mkdir(parents=True)
    refs = []
    for i in range(6):
        path = images / f"p{i}.png"
        path.write_bytes(_png(COLORS[i]))
        refs.append(file_ref(path))
    tar_path = images / "00000.tar"
    with tarfile.open(tar_path, "w") as tar:
        for i in range(3):
            data = _png(COLORS[6 + i], (200, 300))
            info = tarfile.TarInfo(f"{i:09d}.jpg")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    corrupt = images / "broken.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff not really a jpeg")

    photos = []
    for i in range(6):
        flags = ["truncated"] if i % 2 == 0 else []
        variants = [
            variant("llava", "150w", f"A photo number {i} in llava words.", flags, 7),
            variant("llava", "10w", f"Short {i}.", [], 2),
            variant("cogvlm", "150w", f"Cogvlm sees photo {i}.",
                    ["repetitive"] if i == 1 else [], 4),
        ]
        photos.append(row("photos", f"p{i}", "photos-0", image_ref=refs[i], width=320,
                          height=240, short_edge=240, aesthetic_score=5.0 + i / 10,
                          aesthetic_source="computed", mosaic_score=0.1,
                          caption=variants[0]["caption"], caption_model="llava-model",
                          caption_flags=flags, caption_n_tokens=14, n_words=7,
                          caption_variants=variants, alt_text=f"alt text {i}"))
    photos += [
        row("photos", f"small{i}", "photos-0", "rejected", image_ref=refs[i], width=320,
            height=240, short_edge=240, reject_reason="resolution_short_edge")
        for i in range(3)
    ]
    photos.append(row("photos", "mosaic0", "photos-0", "rejected", image_ref=refs[3],
                      width=320, height=240, mosaic_score=1.7, mosaic_detected=True,
                      reject_reason="mosaic_pixelated"))
    photos.append(row("photos", "corrupt", "photos-0", "error", image_ref=file_ref(corrupt),
                      error="decode_corrupt: cannot identify image file"))
    laion = [
        row("laion", f"l{i}", "laion-0", image_ref=tar_ref(tar_path, f"{i:09d}.jpg"),
            width=200, height=300, short_edge=200, source_aesthetic=6.5,
            caption=f"A laion caption {i}.", caption_model="llava-model", caption_flags=[],
            caption_n_tokens=10, n_words=4,
            caption_variants=[variant("llava", "150w", f"A laion caption {i}.", [], 4)])
        for i in range(3)
    ]
    laion.append(row("laion", "dup", "laion-0", "rejected",
                     image_ref=tar_ref(tar_path, "000000000.jpg"), width=200, height=300,
                     reject_reason="dedup_exact", duplicate_of=laion[0]["id"]))
    laion.append(row("laion", "gone", "laion-0", "error",
                     error="download_http_404: HTTP Error 404: Not Found"))
    build_run(root, {"photos-0": (photos, T0 + 30), "laion-0": (laion, T0 + 60)},
              invocations=[{"started": iso(T0), "ended": iso(T0 + 70),
                            "outcome": "completed",
                            "summary": {"rows_this_invocation": 16,
                                        "seconds_this_invocation": 60.0}}])
    return root
