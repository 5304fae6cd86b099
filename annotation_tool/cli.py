"""``paraimage annotate ...``: serve the review tool and manage it from the shell."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from annotation_tool.errors import DomainError
from annotation_tool.settings import DEFAULT_LOCK_TTL_S, Settings, database_url_from_arg
from paraimage.atomic import atomic_write

EXIT_USAGE = 2


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        required=True,
        help="SQLite file (WAL mode) or a SQLAlchemy URL such as postgresql+psycopg://...",
    )


def _session(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from annotation_tool.database import make_engine, make_session_factory, session_scope
    from annotation_tool.migrate import upgrade

    url = database_url_from_arg(args.db)
    upgrade(url)
    return session_scope(make_session_factory(make_engine(url)))


def _guard(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Bad input ends with a one-line message and exit code 2, not a traceback."""

    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except DomainError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return EXIT_USAGE

    return run


def build_settings(args: argparse.Namespace) -> Settings:
    url = database_url_from_arg(args.db)
    images = tuple(Path(p).resolve() for p in args.images)
    for root in images:
        if not root.is_dir():
            raise SystemExit(f"error: --images {root} is not a directory")
    if args.thumbnails:
        thumbs = Path(args.thumbnails)
    elif "://" not in args.db:
        thumbs = Path(args.db).resolve().with_suffix(".thumbnails")
    else:
        thumbs = Path("annotation-thumbnails").resolve()
    return Settings(
        database_url=url,
        image_roots=images,
        thumbnail_dir=thumbs,
        manifest_roots=tuple(Path(p).resolve() for p in (args.runs or [])),
        lock_ttl_s=args.lock_ttl,
        secure_cookies=args.secure_cookies,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from annotation_tool.app import create_app

    app = create_app(build_settings(args))
    print(f"[annotate] serving on http://{args.host}:{args.port}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_env:
        value = os.environ.get(args.password_env)
        if not value:
            raise SystemExit(f"error: environment variable {args.password_env} is empty")
        return value
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass(f"password for {args.username}: ")


@_guard
def cmd_create_user(args: argparse.Namespace) -> int:
    from annotation_tool.contexts import accounts

    password = _read_password(args)
    with _session(args) as db:
        user = accounts.create_user(db, args.username, password, args.role)
        print(f"created user {user.username} ({user.role}), id {user.id}")
    return 0


@_guard
def cmd_create_project(args: argparse.Namespace) -> int:
    from annotation_tool.contexts import projects

    with _session(args) as db:
        project = projects.create_project(
            db,
            args.name,
            None,
            kind=args.kind,
            description=args.description,
            use_drafts=not args.no_drafts,
            assessors_per_item=args.assessors,
            blind_inspection=not args.unblinded_inspection,
        )
        print(f"created project {project.name} ({project.kind}), id {project.id}")
    return 0


@_guard
def cmd_import(args: argparse.Namespace) -> int:
    from annotation_tool.contexts import imports, projects

    flt = imports.ImportFilter(
        min_aesthetic=args.min_aesthetic,
        min_short_edge=args.min_short_edge,
        sources=tuple(args.source or ()),
        limit=args.limit,
        draft_model=args.draft_model,
        where=args.where,
    )
    with _session(args) as db:
        project = projects.find_project(db, args.project)
        result = imports.import_candidates(db, project, Path(args.run_dir).resolve(), flt, None)
    print(
        f"matched {result.matched}, imported {result.imported}, "
        f"already present {result.already_present}"
    )
    return 0


@_guard
def cmd_export(args: argparse.Namespace) -> int:
    from annotation_tool.contexts import exports, projects

    out = Path(args.out)
    fmt = args.format or ("jsonl" if out.suffix in (".jsonl", ".json") else "parquet")
    with _session(args) as db:
        project = projects.find_project(db, args.project)
        data = exports.export_bytes(db, project, fmt, None)
        n_rows = len(exports.export_rows(db, project))
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, data)  # a reader never sees half an export
    print(f"exported {n_rows} rows to {out} ({fmt})")
    return 0


@_guard
def cmd_study_results(args: argparse.Namespace) -> int:
    from annotation_tool.contexts import projects, study

    with _session(args) as db:
        project = projects.find_project(db, args.project)
        rows = study.results(db, project.id)
    print(
        f"{'model':<24} {'captions':>8} {'ratings':>8} {'complete':>9} {'relevant':>9} "
        f"{'fantasy':>8} {'mean':>6}"
    )
    for r in rows:
        print(
            f"{r.model:<24} {r.n_captions:>8} {r.n_ratings:>8} {r.completeness:>9.2f} "
            f"{r.relevance:>9.2f} {r.fantasy:>8.2f} {r.overall:>6.2f}"
        )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from annotation_tool.migrate import current_revision, upgrade

    url = database_url_from_arg(args.db)
    upgrade(url)
    print(f"database at revision {current_revision(url)}")
    return 0


def cmd_demo_run(args: argparse.Namespace) -> int:
    from annotation_tool.demo import write_demo_run

    out = write_demo_run(Path(args.out).resolve())
    print(f"wrote a demo run to {out} (images/ and manifests/)")
    return 0


def register(subparsers: Any) -> None:
    annotate = subparsers.add_parser("annotate", help="the ParaImage-Small review web tool")
    sub = annotate.add_subparsers(dest="annotate_command", metavar="ACTION")
    annotate.set_defaults(func=lambda _args: annotate.print_help() or EXIT_USAGE)

    serve = sub.add_parser("serve", help="start the web server")
    _add_db(serve)
    serve.add_argument("--images", nargs="+", required=True, help="folders images may be read from")
    serve.add_argument(
        "--runs", nargs="*", help="folders the UI may import runs from (default: --images)"
    )
    serve.add_argument("--thumbnails", help="thumbnail cache folder (default: next to the db)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--lock-ttl", type=int, default=DEFAULT_LOCK_TTL_S, help="claim lock seconds"
    )
    serve.add_argument("--secure-cookies", action="store_true", help="behind HTTPS")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=cmd_serve)

    user = sub.add_parser("create-user", help="add an annotator, reviewer or admin")
    _add_db(user)
    user.add_argument("--username", required=True)
    user.add_argument("--role", required=True, choices=["annotator", "reviewer", "admin"])
    secret = user.add_mutually_exclusive_group()
    secret.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    secret.add_argument("--password-env", help="read the password from this environment variable")
    user.set_defaults(func=cmd_create_user)

    project = sub.add_parser("create-project", help="add a project")
    _add_db(project)
    project.add_argument("--name", required=True)
    project.add_argument(
        "--kind", default="paraimage_small", choices=["paraimage_small", "caption_study"]
    )
    project.add_argument("--description", default="")
    project.add_argument(
        "--no-drafts", action="store_true", help="do not offer VLM captions as drafts"
    )
    project.add_argument("--assessors", type=int, default=3, help="caption study: raters per image")
    project.add_argument(
        "--unblinded-inspection",
        action="store_true",
        help="inspectors see the earlier scores and who gave them (blind by default)",
    )
    project.set_defaults(func=cmd_create_project)

    imp = sub.add_parser("import", help="import candidates from a recaption run's manifests")
    _add_db(imp)
    imp.add_argument("--project", required=True, help="project name or id")
    imp.add_argument("--run-dir", required=True, help="run directory holding manifests/*.parquet")
    imp.add_argument("--min-aesthetic", type=float)
    imp.add_argument("--min-short-edge", type=int)
    imp.add_argument("--source", action="append", help="only this source (repeatable)")
    imp.add_argument("--limit", type=int)
    imp.add_argument("--draft-model", help="prefer this caption_model's caption as the draft")
    imp.add_argument("--where", help="extra DuckDB SQL condition over the manifest columns")
    imp.set_defaults(func=cmd_import)

    exp = sub.add_parser("export", help="write ParaImage-Small as Parquet or JSONL")
    _add_db(exp)
    exp.add_argument("--project", required=True)
    exp.add_argument("--out", required=True)
    exp.add_argument("--format", choices=["parquet", "jsonl"])
    exp.set_defaults(func=cmd_export)

    res = sub.add_parser("study-results", help="print the caption-quality table (Table 11)")
    _add_db(res)
    res.add_argument("--project", required=True)
    res.set_defaults(func=cmd_study_results)

    demo = sub.add_parser(
        "demo-run", help="write a small run from scikit-image photos to try the tool"
    )
    demo.add_argument("--out", required=True)
    demo.set_defaults(func=cmd_demo_run)

    mig = sub.add_parser("migrate", help="upgrade the database schema to the newest revision")
    _add_db(mig)
    mig.set_defaults(func=cmd_migrate)
