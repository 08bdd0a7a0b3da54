"""run_pipeline, the orchestration: fetch a page, then find, download, measure, filter, score, dedupe and rank its images.

Stage order: validate URL → fetch page → extract candidates → skip what the markup already
condemns (data: URIs, SVGs, junk hints) → download and measure the rest on a bounded thread
pool sharing one keep-alive session (the bytes of each image worth ranking spilled to the job's
folder on disk, worker.pipeline.spill) → drop junk by pixels → score and classify → dedupe →
rank → keep the best `max_images` (the hero always among them, and first).

Page-level failures raise the JobFailedError subclasses of backend.errors. A problem with one
image never raises: it becomes a Skip whose `failed` flag tells a broken image (download
error, HTTP error, timeout, too_large, undecodable, bomb, not_image) from a deliberate skip
(data_uri, svg, junk kinds from score.py, duplicate, over_limit). Progress counters move as
each image is settled; at the end images_processed == images_found and
kept + images_skipped + images_failed == images_found. The images phase has a time budget
(IMAGE_BUDGET_SHARE of JOB_SOFT_TIME_LIMIT); images unfinished when it runs out fail with
`timeout` and the job goes on with what it has. When the phase ends, for whatever reason,
its downloads still running are cut off (backend.urlguard.deadline) and its threads joined:
nothing a job started runs on after it.
"""

from __future__ import annotations

import contextvars
import dataclasses
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed

import requests

from backend.errors import ImageRejectedError, JobCancelledError
from backend.logging import get_logger
from backend.settings import Settings
from backend.urlguard import Resolver, make_pinned_session
from backend.urlguard.deadline import Deadline
from worker.pipeline.dedupe import dedupe
from worker.pipeline.download import download_image
from worker.pipeline.extract.candidates import extract_candidates
from worker.pipeline.fetch import fetch_page
from worker.pipeline.measure import MeasureMemo
from worker.pipeline.score import (
    best_first_key,
    choose_hero,
    classify,
    junk_reason,
    quality_score,
    share_card_indexes,
)
from worker.pipeline.spill import Spill, SpilledBytes
from worker.pipeline.types import (
    Candidate,
    Hint,
    ImageInfo,
    PipelineResult,
    Progress,
    ProgressCallback,
    RankedImage,
    Skip,
)

logger = get_logger(__name__)

POOLED_HOSTS = 10  # distinct hosts (page, CDNs) whose connections are kept alive
IMAGE_BUDGET_SHARE = 0.5  # of JOB_SOFT_TIME_LIMIT; the rest is for the page, uploads and the commit


def make_http_session(settings: Settings, resolver: Resolver | None = None) -> requests.Session:
    """A keep-alive session for one job: our User-Agent, a pool as wide as the download workers.

    Page and image requests both go through it, so every connection is pinned to an address
    the SSRF guard vetted (backend.urlguard.pinned); trust_env is off (no proxies, no netrc).
    """
    return make_pinned_session(
        allow_private=settings.scraper_allow_private,
        allowed_origins=settings.allowed_origins,
        user_agent=settings.scraper_user_agent,
        pool_connections=POOLED_HOSTS,
        pool_maxsize=settings.scraper_download_workers,
        resolver=resolver,
    )


@dataclasses.dataclass
class ProgressTracker:
    """Moves the counters, reports them, and stops the run when the caller asks."""

    progress: Progress
    on_progress: ProgressCallback | None = None
    should_stop: Callable[[], bool] | None = None

    def settle(self, skip: Skip | None) -> None:
        """One image is done: kept for ranking (None) or skipped/failed."""
        self.progress.images_processed += 1
        if skip is not None:
            self.count_skip(skip)
        self.report()

    def count_skip(self, skip: Skip) -> None:
        if skip.failed:
            self.progress.images_failed += 1
        else:
            self.progress.images_skipped += 1

    def report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress)

    def stop_if_asked(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise JobCancelledError("the job was cancelled while it ran")


def run_pipeline(
    url: str,
    settings: Settings,
    *,
    max_images: int,
    http: requests.Session | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    stop_at: float | None = None,
) -> PipelineResult:
    """Scrape one sales page; raises JobFailedError for the page, JobCancelledError when stopped.

    `stop_at` (time.monotonic() seconds) ends the images phase then at the latest, its
    unfinished images failing with `timeout` (the /analyze preview's deadline).
    """
    started = time.monotonic()
    session = http if http is not None else make_http_session(settings)
    try:
        page = fetch_page(url, settings, session)
        candidates = extract_candidates(page, limit=settings.scraper_max_candidates)
        logger.info("pipeline.page_fetched", url=page.url, candidates=len(candidates))
        tracker = ProgressTracker(Progress(images_found=len(candidates)), on_progress, should_stop)
        tracker.report()
        budget = image_budget_seconds(settings)
        if stop_at is not None:
            budget = max(0.0, min(budget, stop_at - time.monotonic()))
        images, skipped = process_candidates(
            candidates, page.url, settings, session, tracker, budget_seconds=budget
        )
        kept, ranked_out = rank_images(images, max_images)
        for skip in ranked_out:
            tracker.count_skip(skip)
        tracker.report()
    finally:
        if http is None:
            session.close()
    logger.info(
        "pipeline.done",
        url=page.url,
        kept=len(kept),
        skipped=len(skipped) + len(ranked_out),
        duration_ms=round((time.monotonic() - started) * 1000),
    )
    return PipelineResult(
        page_url=page.url, kept=kept, skipped=skipped + ranked_out, progress=tracker.progress
    )


def process_candidates(
    candidates: Sequence[Candidate],
    page_url: str,
    settings: Settings,
    http: requests.Session,
    tracker: ProgressTracker,
    *,
    budget_seconds: float | None = None,
) -> tuple[list[RankedImage], list[Skip]]:
    """Screen, then download and measure on a bounded pool; (images worth ranking, skips).

    The images phase has a budget (default: IMAGE_BUDGET_SHARE of JOB_SOFT_TIME_LIMIT) so a
    page of slow images ends the job with what it has instead of running into the hard limit;
    images still unfinished then fail with `timeout`.
    """
    skips: list[Skip] = []
    to_download: list[Candidate] = []
    for candidate in candidates:
        tracker.stop_if_asked()
        skip = screen_candidate(candidate)
        if skip is None:
            to_download.append(candidate)
            continue
        skips.append(skip)
        tracker.settle(skip)
    budget = budget_seconds if budget_seconds is not None else image_budget_seconds(settings)
    images, failed = download_all(to_download, page_url, settings, http, tracker, budget_seconds=budget)
    return images, skips + failed


def image_budget_seconds(settings: Settings) -> float:
    return settings.job_soft_time_limit * IMAGE_BUDGET_SHARE


def download_all(
    candidates: Sequence[Candidate],
    page_url: str,
    settings: Settings,
    http: requests.Session,
    tracker: ProgressTracker,
    *,
    budget_seconds: float,
) -> tuple[list[RankedImage], list[Skip]]:
    """Run process_image for each candidate on SCRAPER_DOWNLOAD_WORKERS threads, settling each as it ends."""
    images: list[RankedImage] = []
    skips: list[Skip] = []
    pool = ThreadPoolExecutor(max_workers=settings.scraper_download_workers, thread_name_prefix="image")
    memo = MeasureMemo()
    budget = Deadline(budget_seconds)  # its downloads expire with it; cut() below ends them early
    spill = Spill()  # the files live as long as the images that refer to them
    # Each thread runs in a copy of this context, so its log lines carry the job's job_id and task_id.
    futures = {
        pool.submit(
            contextvars.copy_context().run,
            process_image,
            item,
            page_url,
            settings,
            http,
            memo,
            budget=budget,
            spill=spill,
        ): item
        for item in candidates
    }
    settled: set[Future[RankedImage | Skip]] = set()
    try:
        for future in as_completed(futures, timeout=budget_seconds):
            settled.add(future)
            _collect(future, images, skips, tracker)
            tracker.stop_if_asked()
    except TimeoutError:
        for future, candidate in futures.items():
            if future in settled:
                continue
            if future.done() and not future.cancelled():
                _collect(future, images, skips, tracker)
                continue
            skip = Skip(
                candidate.url, "timeout", f"the {budget_seconds:g} s image budget ran out", failed=True
            )
            skips.append(skip)
            tracker.settle(skip)
    finally:
        # On cancel, error or budget, queued downloads are dropped and running ones are cut off
        # (their sockets shut), so nothing this job started outlives it: the threads are joined.
        budget.cut()
        pool.shutdown(wait=True, cancel_futures=True)
        budget.close()
    return images, skips


def _collect(
    future: Future[RankedImage | Skip], images: list[RankedImage], skips: list[Skip], tracker: ProgressTracker
) -> None:
    outcome = future.result()
    if isinstance(outcome, Skip):
        skips.append(outcome)
        tracker.settle(outcome)
    else:
        images.append(outcome)
        tracker.settle(None)


def screen_candidate(candidate: Candidate) -> Skip | None:
    """Skip what needs no download: inline data: images, vector images, markup-condemned junk."""
    if Hint.DATA_URI in candidate.hints:
        return Skip(candidate.url, "data_uri", "inline data: images are not kept")
    if Hint.SVG in candidate.hints:
        return Skip(candidate.url, "svg", "vector images are not kept")
    reason = junk_reason(candidate, None)
    if reason is not None:
        return Skip(candidate.url, reason, f"judged from the page markup ({candidate.source})")
    return None


def process_image(
    candidate: Candidate,
    page_url: str,
    settings: Settings,
    http: requests.Session,
    memo: MeasureMemo,
    *,
    budget: Deadline | None = None,
    spill: Spill | None = None,
) -> RankedImage | Skip:
    """Download, measure, judge and score one image; every problem comes back as a Skip.

    Downloads end no later than `budget` (the images phase's deadline); the bytes of an image
    worth ranking go to `spill` (the job's folder on disk) when one is given.

    If the URL cannot be had (download error, HTTP error, broken bytes), the candidate's
    fallbacks, smaller copies of the same picture, are tried in order; the Skip reports the
    first URL's problem only when none of them works.
    """
    fetched = fetch_and_measure(candidate, page_url, settings, http, memo, budget=budget)
    for fallback in candidate.fallbacks:
        if not (isinstance(fetched, Skip) and fetched.failed):
            break
        alternative = dataclasses.replace(candidate, url=fallback, width_hint=None, fallbacks=())
        retry = fetch_and_measure(alternative, page_url, settings, http, memo, budget=budget)
        if not isinstance(retry, Skip):
            candidate, fetched = alternative, retry
    if isinstance(fetched, Skip):
        return fetched
    data, info = fetched
    reason = junk_reason(candidate, info)
    if reason is not None:
        return Skip(candidate.url, reason, f"{info.width}x{info.height} {info.format}")
    return rank_image(candidate, data if spill is None else spill.keep(data, info.content_hash), info)


def fetch_and_measure(
    candidate: Candidate,
    page_url: str,
    settings: Settings,
    http: requests.Session,
    memo: MeasureMemo,
    *,
    budget: Deadline | None = None,
) -> tuple[bytes, ImageInfo] | Skip:
    """(bytes, measurements) of the candidate's URL, or the Skip that says why not."""
    try:
        data = download_image(candidate, settings, http, referer=page_url, within=budget)
        return data, memo.measure(data, settings)
    except ImageRejectedError as exc:
        return Skip(candidate.url, exc.reason, exc.detail, failed=exc.failed)
    except Exception as exc:  # one image must never sink the job; the log keeps the traceback
        logger.exception("pipeline.image_error", url=candidate.url)
        return Skip(candidate.url, "internal_error", f"{type(exc).__name__}: {exc}"[:200], failed=True)


def rank_image(
    candidate: Candidate, body: bytes | SpilledBytes, info: ImageInfo, *, is_hero: bool = False
) -> RankedImage:
    """Score and classify one measured image."""
    image_type, hero, product, lifestyle = classify(info, candidate, is_hero=is_hero)
    return RankedImage(
        candidate=candidate,
        body=body,
        info=info,
        quality_score=quality_score(info, candidate),
        image_type=image_type,
        is_hero=hero,
        is_product=product,
        is_lifestyle=lifestyle,
    )


def rank_images(images: Sequence[RankedImage], max_images: int) -> tuple[list[RankedImage], list[Skip]]:
    """Dedupe, drop share cards, rescore, mark the hero, keep the best `max_images` (hero included); (kept, skips)."""
    unique, skips = dedupe(images)
    cards = share_card_indexes(unique)
    skips += [
        Skip(
            unique[i].candidate.url, "share_card", "a social-sharing card named only in the page's meta tags"
        )
        for i in sorted(cards)
    ]
    unique = [image for index, image in enumerate(unique) if index not in cards]
    rescored = sorted((rank_image(i.candidate, i.body, i.info) for i in unique), key=best_first_key)
    hero_index = choose_hero(rescored)
    if hero_index is not None:
        hero = rescored[hero_index]
        rescored[hero_index] = rank_image(hero.candidate, hero.body, hero.info, is_hero=True)
    kept = rescored[:max_images]
    if hero_index is not None and hero_index >= max_images > 0:
        kept = [*rescored[: max_images - 1], rescored[hero_index]]
    dropped = [image for image in rescored if not any(image is k for k in kept)]
    skips += [Skip(i.candidate.url, "over_limit", f"ranked below the best {max_images}") for i in dropped]
    return hero_first(sorted(kept, key=best_first_key)), skips


def hero_first(images: list[RankedImage]) -> list[RankedImage]:
    """The ranking with the hero on top: it is the page's main picture, whatever its score."""
    heroes = [image for image in images if image.is_hero]
    return heroes + [image for image in images if not image.is_hero]
