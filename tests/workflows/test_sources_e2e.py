"""The recaption job on the ParaImage-Big sources as a user runs it: SA-1B tars and a
URL+text dataset (COYO layout) downloaded by img2dataset from 127.0.0.1, with the
transformers captioner on the tiny LLaVA, then its manifests opened again by
image_ref."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import skimage.data
from PIL import Image

from curation.image_ref import open_image_ref
from demo.local_server import LocalImageServer

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def jpeg(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


def sa1b_tar(path: Path, samples: dict[int, bytes | None], bad_json: int | None) -> Path:
    with tarfile.open(path, "w") as tar:
        for image_id, data in samples.items():
            members = []
            if data is not None:
                members.append((f"./sa_{image_id}.jpg", data))
            size = Image.open(io.BytesIO(data)).size if data else (64, 64)
            meta = {"image": {"image_id": image_id, "width": size[0], "height": size[1],
                              "file_name": f"sa_{image_id}.jpg"},
                    "annotations": [{"id": 1, "bbox": [0, 0, 4, 4], "area": 16}]}
            text = b'{"image": {' if image_id == bad_json else json.dumps(meta).encode()
            members.append((f"./sa_{image_id}.json", text))
            for name, payload in members:
                info = tarfile.TarInfo(name)
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    return path


def test_sa1b_and_coyo_sources_through_the_job(tmp_path: Path, tiny_llava: Path) -> None:
    astronaut, coffee = skimage.data.astronaut(), skimage.data.coffee()
    tars = tmp_path / "sa1b"
    tars.mkdir()
    sa1b_tar(tars / "sa_000000.tar", {1: jpeg(astronaut), 2: jpeg(coffee[:, ::-1]),
                                      3: jpeg(coffee[::-1])}, bad_json=3)
    sa1b_tar(tars / "sa_000001.tar", {4: jpeg(astronaut[::-1]), 5: None}, bad_json=None)

    served = tmp_path / "served"
    served.mkdir()
    (served / "rocket.jpg").write_bytes(jpeg(skimage.data.rocket()))
    (served / "chelsea.jpg").write_bytes(jpeg(skimage.data.chelsea()))
    with LocalImageServer(served) as server:
        coyo = tmp_path / "coyo-part-00000.parquet"
        pq.write_table(pa.table({
            "id": [101, 102, 103],
            "url": [server.url("rocket.jpg"), server.url("chelsea.jpg"),
                    server.url("gone.jpg")],
            "text": ["a rocket on a pad", "a cat", "a missing image"],
            "width": [640, 451, 500], "height": [427, 300, 500],
            "aesthetic_score_laion_v2": [5.9, 5.1, 6.0],
            "nsfw_score_opennsfw2": [0.01, 0.02, 0.01], "watermark_score": [0.1, 0.2, 0.1],
        }), coyo)
        sources = json.dumps([
            {"kind": "sa1b", "paths": [str(tars / "sa_*.tar")]},
            {"kind": "url_text", "name": "coyo", "preset": "coyo", "metadata": [str(coyo)],
             "rows_per_shard": 2, "prefilter": {"min_aesthetic": 5.5},
             "download": {"timeout_s": 5, "thread_count": 4}},
        ])
        captioner = json.dumps({
            "backend": "transformers", "model": str(tiny_llava), "target_words": 10,
            "dtype": "float32", "device": "cpu", "batch_size": 8, "num_gpus": 0,
            "num_cpus": 0.5,
        })
        result = subprocess.run(
            [sys.executable, "workflows/recaption.py", "--config", "configs/demo.yaml",
             "--set", f"run.output_dir={tmp_path / 'runs'}", "--set", f"sources={sources}",
             "--set", f"captioner={captioner}"],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=420,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "RAY_DISABLE_USAGE_STATS": "1"},
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = tmp_path / "runs" / "demo"
    rows = {row["source_key"]: row for path in sorted((run / "manifests").glob("*.parquet"))
            for row in pq.read_table(path).to_pylist()}
    assert {key: (row["source"], row["status"], row["reject_reason"] or row["error"])
            for key, row in rows.items()} == {
        "sa_000000.tar/sa_1": ("sa1b", "kept", None),
        "sa_000000.tar/sa_2": ("sa1b", "kept", None),
        "sa_000000.tar/sa_3": ("sa1b", "error", rows["sa_000000.tar/sa_3"]["error"]),
        "sa_000001.tar/sa_4": ("sa1b", "kept", None),
        "sa_000001.tar/sa_5": ("sa1b", "error", "sa1b_missing_jpg: sa_5.json has no sa_5.jpg"),
        "coyo-part-00000/101": ("coyo", "kept", None),
        "coyo-part-00000/102": ("coyo", "rejected", "prefilter_aesthetic"),
        "coyo-part-00000/103": ("coyo", "error",
                                "download_http_404: HTTP Error 404: Not Found"),
    }
    assert rows["sa_000000.tar/sa_3"]["error"].startswith("sa1b_bad_json: ")
    for key, row in rows.items():
        if row["status"] == "kept":
            assert row["caption_raw"] and row["caption_model"] == str(tiny_llava)
            assert open_image_ref(row["image_ref"])[:2] == b"\xff\xd8", key  # a JPEG
    assert rows["coyo-part-00000/101"]["alt_text"] == "a rocket on a pad"
    assert rows["coyo-part-00000/101"]["url"].endswith("/img/rocket.jpg")
    assert "[paraimage] downloads: coyo: 1/2 URLs downloaded" in result.stdout
    funnel = (run / "funnel" / "funnel.md").read_text()
    assert "| 1 | prefilter | 5 | 1 | 4 |" in funnel
