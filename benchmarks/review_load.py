"""Load test of the review tool: N simulated annotators against a real server.

Starts ``paraimage annotate serve`` on 127.0.0.1 (SQLite, WAL) in a subprocess, seeds
a project with description tasks, then runs N annotators for D seconds, each looping
claim -> heartbeat -> save (autosave) -> save -> submit, pausing ``--think`` seconds
(mean) before each request as a person would; ``--think 0`` is a stress test.
Afterwards it checks in the database that every submission the clients saw
acknowledged is stored exactly once, and that nothing else was stored.

Prints requests/s and p50/p95/p99 latency per endpoint and overall (goal: p95 under
100 ms on SQLite); the last line is ``RATIO lost_or_duplicated=<count>``.

Each loop also asks for the annotator's progress (done today, left, pace), as the
task page does after every claim.

``--guessers G`` runs G password guessers beside them, each as fast as it can (a
login token, then a wrong password for ``annotator000``, again and again), and prints
how their guesses were answered; the annotators' figures show what the guessing cost.
``--compare`` runs the same load twice on fresh servers, without guessers and then
with ``max(G, 1)``, and prints the annotators' p95 of both runs side by side; the last
line then counts lost or duplicated submissions of both runs together.

    python benchmarks/review_load.py --users 50 --duration 60
    python benchmarks/review_load.py --users 50 --duration 60 --guessers 1
    python benchmarks/review_load.py --users 30 --duration 30 --items 3000 --compare
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import aiohttp
import httpx
import numpy as np
from PIL import Image
from skimage import data as skdata

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from annotation_tool.contexts import accounts  # noqa: E402
from annotation_tool.database import make_engine, make_session_factory, session_scope  # noqa: E402
from annotation_tool.migrate import upgrade  # noqa: E402
from annotation_tool.models import Item, Project, Stage  # noqa: E402
from annotation_tool.settings import HEADER_CSRF, sqlite_url  # noqa: E402
from curation.image_ref import file_ref  # noqa: E402

PASSWORD = "benchmark password"
# Passes every automatic rule (6 sentences, 177 words); each submission appends a
# sentence with its own marker so stored texts can be matched to acknowledgements.
TEXT = (
    "A close-up photo of an astronaut in a white spacesuit standing in front of a large "
    "American flag and a model of a space shuttle. The astronaut has short brown hair, "
    "smiles at the camera and holds a white helmet with a gold visor under the left arm. "
    "On the left side of the frame the flag shows red and white stripes and a blue field "
    "with white stars that fills the upper corner of the background. On the right side a "
    "small grey model of the shuttle rests on a dark stand with its nose pointing up "
    "toward the top edge of the picture. The spacesuit carries several round and square "
    "patches in blue, red and yellow on the chest and the shoulders, and a silver zipper "
    "runs down the middle of the suit from the collar to the waist. The lighting is soft "
    "and even, the background is a plain pale grey wall, and the whole scene is framed as "
    "a formal portrait taken indoors with the person centred between the flag and the model."
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(workdir: Path, n_users: int, n_items: int) -> tuple[Path, Path, int]:
    images = workdir / "images"
    images.mkdir()
    paths = []
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        path = images / f"{name}.jpg"
        Image.fromarray(getattr(skdata, name)()).convert("RGB").save(path, "JPEG")
        paths.append(path)
    db_path = workdir / "review.db"
    url = sqlite_url(db_path)
    upgrade(url)
    engine = make_engine(url)
    with session_scope(make_session_factory(engine)) as db:
        for i in range(n_users):
            accounts.create_user(db, f"annotator{i:03d}", PASSWORD, "annotator")
        project = Project(name="load", kind="paraimage_small", use_drafts=False)
        db.add(project)
        db.flush()
        db.bulk_insert_mappings(
            Item,  # type: ignore[arg-type]
            [
                {
                    "project_id": project.id,
                    "image_id": f"img{i:06d}",
                    "image_ref": file_ref(paths[i % len(paths)]),
                    "stage": Stage.DESCRIPTION,
                    "final_score": 5,
                    "source": "bench",
                    "source_key": str(i),
                    "description_version": 0,
                    "audit_cycle": 0,
                }
                for i in range(n_items)
            ],
        )
        project_id = project.id
    engine.dispose()
    return db_path, images, project_id


class Annotator:
    """One simulated person. aiohttp (a Ray dependency, in the lock file) is the client:
    it costs the shared CPU a fraction of what httpx does per request, which matters
    when client and server share two cores."""

    def __init__(
        self, base: str, name: str, project_id: int, stats: dict[str, list[float]], think_s: float
    ) -> None:
        self.base = base
        self.session: aiohttp.ClientSession | None = None
        self.csrf = ""
        self.name = name
        self.project_id = project_id
        self.stats = stats
        self.think_s = think_s
        self.rng = random.Random(name)
        self.acked: list[tuple[int, str]] = []
        self.unanswered: list[tuple[int, str]] = []
        self.errors: dict[str, int] = defaultdict(int)

    async def call(self, label: str, method: str, url: str, **kw) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
        if self.think_s:
            # A person pauses between actions; 0.5x-1.5x the mean, fixed per seed.
            await asyncio.sleep(self.think_s * self.rng.uniform(0.5, 1.5))
        assert self.session is not None
        start = time.perf_counter()
        try:
            async with self.session.request(
                method, self.base + url, headers={HEADER_CSRF: self.csrf}, **kw
            ) as resp:
                body = await resp.json() if resp.content_type == "application/json" else {}
                status = resp.status
        except aiohttp.ClientError as exc:
            # No answer: the outcome is unknown (a submission may or may not be stored).
            self.errors[f"{label} {type(exc).__name__}"] += 1
            return 0, {}
        self.stats[label].append(time.perf_counter() - start)
        if status >= 400:
            self.errors[f"{label} {status}"] += 1
        return status, body

    async def login(self) -> None:
        # Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes
        # them, so a request never goes out on a socket the server just closed.
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            connector=aiohttp.TCPConnector(keepalive_timeout=2),
        )
        async with self.session.get(self.base + "/api/auth/login-token") as resp:
            token = (await resp.json())["csrf_token"]
        async with self.session.post(
            self.base + "/api/auth/login",
            json={"username": self.name, "password": PASSWORD},
            headers={HEADER_CSRF: token},
        ) as resp:
            resp.raise_for_status()
            self.csrf = (await resp.json())["csrf_token"]

    async def run(self, until: float) -> None:
        n = 0
        while time.monotonic() < until:
            status, item = await self.call(
                "claim",
                "POST",
                f"/api/projects/{self.project_id}/claims",
                json={"task": "description"},
            )
            if status != 200:
                await asyncio.sleep(0.05)
                continue
            item_id = item["id"]
            await self.call("heartbeat", "POST", f"/api/items/{item_id}/heartbeat")
            version = item["description"]["version"] if item["description"] else 0
            for part in (TEXT[:200], TEXT[:600]):
                status, saved = await self.call(
                    "save",
                    "PUT",
                    f"/api/items/{item_id}/description",
                    json={"text": part, "base_version": version},
                )
                if status == 200:
                    version = saved["version"]
            n += 1
            text = f"{TEXT} The marker reads {self.name}-{n}."
            status, _ = await self.call(
                "submit",
                "POST",
                f"/api/items/{item_id}/description/submissions",
                json={"text": text, "base_version": version},
            )
            if status == 201:
                self.acked.append((item_id, text))
            elif status == 0:
                self.unanswered.append((item_id, text))
            await self.call(
                "progress",
                "GET",
                f"/api/projects/{self.project_id}/progress?task=description",
            )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


async def guess(base: str, until: float, answers: dict[int, int]) -> None:
    """One password guesser: a fresh login token and a wrong password, in a loop."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        n = 0
        while time.monotonic() < until:
            n += 1
            try:
                async with session.get(base + "/api/auth/login-token") as resp:
                    token = (await resp.json())["csrf_token"]
                async with session.post(
                    base + "/api/auth/login",
                    json={"username": "annotator000", "password": f"guess {n}"},
                    headers={HEADER_CSRF: token},
                ) as resp:
                    answers[resp.status] += 1
            except aiohttp.ClientError:
                answers[0] += 1


async def drive(  # type: ignore[no-untyped-def]
    base: str, n_users: int, project_id: int, duration: float, think_s: float, guessers: int
):
    stats: dict[str, list[float]] = defaultdict(list)
    users = [
        Annotator(base, f"annotator{i:03d}", project_id, stats, think_s) for i in range(n_users)
    ]
    await asyncio.gather(*(u.login() for u in users))
    start = time.monotonic()
    guesses: dict[int, int] = defaultdict(int)
    await asyncio.gather(
        *(u.run(start + duration) for u in users),
        *(guess(base, start + duration, guesses) for _ in range(guessers)),
    )
    elapsed = time.monotonic() - start
    for u in users:
        await u.close()
    return users, stats, elapsed, dict(guesses)


def server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of the server process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/login", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not start")


def check_exactly_once(
    db_path: Path, acked: list[tuple[int, str]], unanswered: list[tuple[int, str]]
) -> tuple[int, int]:
    """(lost, duplicated): acknowledged submissions missing from the database, and
    stored submissions that are extra copies or that no client sent. A submission whose
    answer never arrived (connection error) may be stored once or not at all."""
    conn = sqlite3.connect(db_path)
    stored = conn.execute(
        "SELECT item_id, text FROM description_versions WHERE kind = 'submit'"
    ).fetchall()
    conn.close()
    stored_count: dict[tuple[int, str], int] = defaultdict(int)
    for row in stored:
        stored_count[(row[0], row[1])] += 1
    acked_set = set(acked)
    lost = sum(1 for key in acked_set if stored_count.get(key, 0) == 0)
    duplicated = sum(c - 1 for c in stored_count.values() if c > 1)
    sent = acked_set | set(unanswered)
    duplicated += sum(c for key, c in stored_count.items() if key not in sent)
    duplicated += len(acked) - len(acked_set)  # the same (item, text) acknowledged twice
    items = [item for item, _ in acked]
    duplicated += len(items) - len(set(items))  # one item submitted by two people
    return lost, duplicated


def run_once(args: argparse.Namespace, guessers: int) -> dict[str, object]:
    """One load run on a fresh database and server; prints its figures."""
    workdir = Path(tempfile.mkdtemp(prefix="review-load-"))
    db_path, images, project_id = seed(workdir, args.users, args.items)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workflows.cli",
            "annotate",
            "serve",
            "--db",
            str(db_path),
            "--images",
            str(images),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        wait_for(base, proc)
        cpu_before = server_cpu_s(proc.pid)
        users, stats, elapsed, guesses = asyncio.run(
            drive(base, args.users, project_id, args.duration, args.think, guessers)
        )
        server_cpu = server_cpu_s(proc.pid) - cpu_before
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    acked = [a for u in users for a in u.acked]
    unanswered = [a for u in users for a in u.unanswered]
    lost, duplicated = check_exactly_once(db_path, acked, unanswered)
    errors: dict[str, int] = defaultdict(int)
    for u in users:
        for k, v in u.errors.items():
            errors[k] += v

    all_latencies = np.array([x for v in stats.values() for x in v]) * 1000
    print(
        f"users={args.users} think={args.think}s duration={elapsed:.1f}s guessers={guessers} "
        f"requests={all_latencies.size} submissions={len(acked)}"
    )
    print(f"{'endpoint':<10} {'n':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for label, values in sorted(stats.items()):
        ms = np.array(values) * 1000
        print(
            f"{label:<10} {ms.size:>7} {np.percentile(ms, 50):>8.1f} {np.percentile(ms, 95):>8.1f} "
            f"{np.percentile(ms, 99):>8.1f}"
        )
    p50, p95, p99 = np.percentile(all_latencies, [50, 95, 99])
    print(f"{'all':<10} {all_latencies.size:>7} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f}")
    print(f"requests/s={all_latencies.size / elapsed:.1f} submissions/s={len(acked) / elapsed:.1f}")
    print(
        f"server_cpu_ms_per_request={server_cpu * 1000 / max(all_latencies.size, 1):.1f} "
        f"load_average_1min={os.getloadavg()[0]:.1f} cores={os.cpu_count()}"
    )
    print(f"p95_goal_100ms={'met' if p95 < 100 else 'missed'}")
    print(f"http_errors={dict(errors) or 0}")
    if guessers:
        print(
            f"guessers={guessers} guesses={sum(guesses.values())} "
            f"answers_by_status={dict(sorted(guesses.items()))}"
        )
    print(f"lost={lost} duplicated={duplicated} unanswered_submissions={len(unanswered)}")
    if args.keep:
        print(f"kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"p50": p50, "p95": p95, "lost_or_duplicated": lost + duplicated, "guesses": guesses}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="mean seconds a simulated person pauses before each request (0: no pause)",
    )
    parser.add_argument(
        "--guessers", type=int, default=0, help="password guessers running beside them"
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="run without guessers, then with max(--guessers, 1), and compare the p95",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    if not args.compare:
        result = run_once(args, args.guessers)
        bad = int(result["lost_or_duplicated"])  # type: ignore[call-overload]
    else:
        print("== without guessers")
        without = run_once(args, 0)
        print(f"== with {max(args.guessers, 1)} guesser(s)")
        with_ = run_once(args, max(args.guessers, 1))
        print(
            f"annotators_p95_ms without={without['p95']:.1f} with={with_['p95']:.1f} "
            f"(p50 {without['p50']:.1f} / {with_['p50']:.1f})"
        )
        bad = int(without["lost_or_duplicated"]) + int(with_["lost_or_duplicated"])  # type: ignore[call-overload]
    print(f"RATIO lost_or_duplicated={bad}")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
