"""`scraper` (or `python -m backend.cli`): create-key, scrape, analyze and prune-orphans, thin calls into the services.

`make run` installs it as `.venv/bin/scraper` ([project.scripts] in pyproject.toml). `scrape`
files its job under the same user as `make run`'s dev key (dev@localhost), so the API and the
web page show it with that key; `--key KEY` acts as the owner of another key instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import UnaryExpression, select

from backend import shapes
from backend.auth import DEV_USER_EMAIL, authenticate, get_or_create_user, issue_api_key
from backend.errors import ConfigError, JobFailedError, NotFoundError, StorageError
from backend.images import ImageOrder
from backend.jobs import JobSpec, submit_job
from backend.logging import configure_logging
from backend.migrate import upgrade_to_head
from backend.models import CAMPAIGN_NAME_LENGTH, Job, JobStatus, ScrapedImage
from backend.orphans import prune_orphans
from backend.runtime import Runtime, get_runtime
from backend.shapes import absolute_url


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scraper", description="Product Image Scraper commands.")
    commands = parser.add_subparsers(dest="command", required=True)
    create_key = commands.add_parser("create-key", help="create a user if needed and print a new API key")
    create_key.add_argument("email")
    scrape = commands.add_parser(
        "scrape", help="run a scrape job in this process and print the ranked images"
    )
    scrape.add_argument("url")
    scrape.add_argument("--campaign", type=uuid.UUID, help="campaign UUID (a new one if omitted)")
    scrape.add_argument("--max-images", type=int, default=10, choices=range(1, 101), metavar="N")
    scrape.add_argument("--name", help="a name for the campaign (a new one, or renames --campaign)")
    scrape.add_argument(
        "--key", help="act as this API key's owner (default: the dev user of `make run`, dev@localhost)"
    )
    scrape.add_argument(
        "--order",
        choices=[order.value for order in ImageOrder],
        default=ImageOrder.RANK.value,
        help="rank: as the pipeline ranked them, hero first (default); quality: by quality score alone",
    )
    scrape.add_argument(
        "--json", action="store_true", help="print the job and images as the API returns them"
    )
    analyze = commands.add_parser("analyze", help="preview what a page would yield; nothing is saved")
    analyze.add_argument("url")
    analyze.add_argument("--max-images", type=int, default=10, choices=range(1, 101), metavar="N")
    analyze.add_argument("--json", action="store_true")
    prune = commands.add_parser(
        "prune-orphans", help="delete stored objects no image row references (failed jobs, failed deletes)"
    )
    prune.add_argument(
        "--older-than-hours", type=float, default=24.0, help="only objects last written this long ago (24)"
    )
    prune.add_argument("--dry-run", action="store_true", help="count what would go; delete nothing")
    prune.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _prepare(runtime: Runtime) -> None:
    # The embedded SQLite database is ours to create; a real one is migrated at deploy.
    if runtime.db.engine.dialect.name == "sqlite":
        upgrade_to_head(runtime.settings.effective_database_url)


def create_key(runtime: Runtime, email: str) -> int:
    _prepare(runtime)
    with runtime.db.session() as session:
        issued = issue_api_key(session, email)
        session.commit()
    print(f"Created an API key for {email}. It is shown once; store it now.")
    print(issued.plaintext)
    return 0


def scrape(runtime: Runtime, args: argparse.Namespace) -> int:
    from worker.runner import execute_job  # noqa: PLC0415 - only this command needs the pipeline

    _prepare(runtime)
    name = (args.name or "").strip() or None
    if name is not None and (len(name) > CAMPAIGN_NAME_LENGTH or not name.isprintable()):
        print(
            f"error: --name must be printable and at most {CAMPAIGN_NAME_LENGTH} characters", file=sys.stderr
        )
        return 2
    spec = JobSpec(
        sales_page_url=args.url,
        campaign_id=args.campaign,
        max_images=args.max_images,
        campaign_name=name,
    )
    with runtime.db.session() as session:
        user = (
            get_or_create_user(session, DEV_USER_EMAIL)
            if args.key is None
            else authenticate(session, args.key)
        )
        if user is None:
            print("error: --key is not a valid API key here", file=sys.stderr)
            return 2
        job_id = submit_job(session, user.id, spec).job.id
        session.commit()
    execute_job(runtime, job_id)
    origin = f"http://127.0.0.1:{runtime.settings.port}"  # where `make run` serves /files/
    with runtime.db.session() as session:
        job = session.get_one(Job, job_id)
        columns: tuple[UnaryExpression[Any], ...] = (ScrapedImage.quality_score.desc(), ScrapedImage.id.asc())
        if args.order == ImageOrder.RANK:
            columns = (ScrapedImage.pipeline_rank.asc(), *columns)
        images = session.scalars(
            select(ScrapedImage).where(ScrapedImage.job_id == job_id).order_by(*columns)
        ).all()
        if args.json:
            print(
                json.dumps(
                    {
                        "job": shapes.Job.of(job).model_dump(mode="json"),
                        "images": [
                            shapes.Image.of(image, origin=origin).model_dump(mode="json") for image in images
                        ],
                    },
                    indent=2,
                )
            )
        else:
            _print_job(job, images, origin)
    return 0 if job.status == JobStatus.SUCCEEDED else 1


def _print_job(job: Job, images: Sequence[ScrapedImage], origin: str) -> None:
    print(f"job {job.id} {job.status.value}: found {job.images_found}, saved {job.images_saved}, "
          f"skipped {job.images_skipped}, failed {job.images_failed}")  # fmt: skip
    if job.error_code:
        print(f"error {job.error_code}: {job.error_message}", file=sys.stderr)
    for rank, image in enumerate(images, 1):
        print(f"{rank:>3}. {image.quality_score:5.1f} {image.image_type.value:<9} {image.width}x{image.height} "
              f"{image.format:<4} {image.file_size:>9,} B  {absolute_url(image.cdn_url, origin)}")  # fmt: skip


def analyze(runtime: Runtime, args: argparse.Namespace) -> int:
    from worker.pipeline import run_pipeline  # noqa: PLC0415 - only this command needs the pipeline

    settings = runtime.settings
    bounded = settings.model_copy(
        update={"scraper_timeout": min(settings.scraper_timeout, settings.analyze_timeout)}
    )
    try:
        result = run_pipeline(args.url, bounded, max_images=args.max_images)
    except JobFailedError as exc:
        print(f"error {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    report = shapes.Analysis.of(args.url, result).model_dump(mode="json")
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{report['images_found']} candidates on {args.url}")
    for rank, item in enumerate(report["candidates"], 1):
        print(f"{rank:>3}. {item['quality_score']:5.1f} {item['image_type']:<9} "
              f"{item['width']}x{item['height']} {item['format']:<4} {item['url']}")  # fmt: skip
    for skip in report["skipped"]:
        print(f"  skipped ({skip['reason']}): {skip['url']}")
    return 0


def prune(runtime: Runtime, args: argparse.Namespace) -> int:
    older_than = timedelta(hours=args.older_than_hours)
    hard_limit = runtime.settings.job_hard_time_limit
    if older_than.total_seconds() <= hard_limit:
        # A running job's uploads are not referenced until it commits; they must never look orphaned.
        print(f"error: --older-than-hours must be more than a job can run ({hard_limit} s)", file=sys.stderr)
        return 2
    try:
        report = prune_orphans(runtime.db, runtime.store, older_than=older_than, dry_run=args.dry_run)
    except StorageError as exc:
        print(f"error: the store could not be listed: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        verb = "would remove" if args.dry_run else "removed"
        print(f"{report.objects} objects: {report.referenced} referenced, {report.too_recent} too recent, "
              f"{report.campaign_busy} in campaigns with a job in flight, {report.not_ours} not ours; "
              f"{verb} {report.removed} ({report.removed_bytes:,} bytes), {report.failed} failed")  # fmt: skip
    return 1 if report.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        runtime = get_runtime()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(runtime.settings)
    handlers: dict[str, Any] = {
        "create-key": lambda: create_key(runtime, args.email),
        "scrape": lambda: scrape(runtime, args),
        "analyze": lambda: analyze(runtime, args),
        "prune-orphans": lambda: prune(runtime, args),
    }
    try:
        return int(handlers[args.command]())
    except NotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
