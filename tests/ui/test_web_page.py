"""The web page in a real Chromium against the real API, worker, Postgres, Redis, S3 and shop site."""

from __future__ import annotations

import math
import re
import uuid

from playwright.sync_api import expect
from sqlalchemy import func, select

from backend.models import Job, ScrapedImage
from tests.ui.conftest import PHONE

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
JOB_TIMEOUT_MS = 90_000


def open_with_key(page, system, screenshots=None):
    """Open `/`, type the API key into the key form and save it with Enter."""
    page.goto(system.base_url + "/")
    key_input = page.get_by_label("API key", exact=True)
    expect(key_input).to_be_visible()
    expect(page.locator("#workspace")).to_be_hidden()
    if screenshots is not None:
        page.screenshot(path=str(screenshots / "1-key-entry.png"), full_page=True)
    key_input.fill(system.api_key)
    key_input.press("Enter")
    expect(page.locator("#workspace")).to_be_visible()
    expect(page.get_by_label("Sales page address", exact=True)).to_be_focused()


def images_of(system, campaign_id, **params):
    return system.get(f"/api/v1/campaigns/{campaign_id}/images", params={"limit": 100, **params}).json()[
        "items"
    ]


def test_submit_watch_progress_then_pick_filter_use_copy_and_delete(page, ui_system, shop, screenshots):
    """A page submitted from the browser runs to 100 %, fills the gallery hero first, then best first; filter, use,
    copy, delete work."""
    system = ui_system
    open_with_key(page, system, screenshots)
    assert system.api_key not in page.url
    assert page.evaluate("localStorage.getItem('pis.apiKey')") == system.api_key

    page.get_by_label("New campaign name", exact=True).fill("Spring launch")
    page.get_by_role("button", name="New campaign").click()
    campaign_id = page.get_by_label("Campaign", exact=True).input_value()
    assert UUID_RE.match(campaign_id)
    expect(page.get_by_label("Campaign", exact=True).locator("option:checked")).to_have_text(
        "Spring launch (new)"
    )

    page.get_by_label("Sales page address", exact=True).fill(shop.url(shop.manifest.pages["basic"].path))
    page.get_by_label("Max images", exact=True).fill("10")
    page.get_by_role("button", name="Scrape page").click()

    job = page.locator("#jobs li").first
    expect(job.locator(".status-badge")).to_have_text("Done", timeout=JOB_TIMEOUT_MS)
    # The campaign is on the server now, named, and the address opens it again.
    assert system.get(f"/api/v1/campaigns/{campaign_id}").json()["name"] == "Spring launch"
    expect(page.get_by_label("Campaign", exact=True).locator("option:checked")).to_contain_text(
        "Spring launch · "
    )
    assert page.evaluate("location.hash") == f"#campaign={campaign_id}"
    expect(job.locator(".cancel-job")).to_be_hidden()
    expect(job.locator(".percent")).to_have_text("100 %")
    assert job.locator("progress").evaluate("bar => bar.value") == 100
    expect(page.locator("#jobs")).to_have_attribute("aria-live", "polite")
    page.screenshot(path=str(screenshots / "2-job-progress.png"))

    expected = images_of(system, campaign_id)
    assert len(expected) >= 3
    cards = page.locator("#gallery > li")
    expect(cards).to_have_count(len(expected))
    shown = [float(q) for q in cards.evaluate_all("cs => cs.map(c => c.dataset.quality)")]
    assert shown[1:] == sorted(shown[1:], reverse=True)  # the hero first, then best first
    assert cards.evaluate_all("cs => cs.map(c => c.dataset.imageId)") == [i["id"] for i in expected]
    expect(page.locator("#stats")).to_contain_text(f"Images{len(expected)}")
    first = cards.first
    expect(first.locator(".score")).to_have_text(f"{round(expected[0]['quality_score'])}/100")
    thumb = first.locator("img.thumb")
    assert expected[0]["thumbnail_url"] and thumb.get_attribute("src") == expected[0]["thumbnail_url"]
    thumb.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    assert 0 < thumb.evaluate("img => Math.max(img.naturalWidth, img.naturalHeight)") <= 320
    expect(first.locator(".thumb-link")).to_have_attribute("href", expected[0]["cdn_url"])
    # Filled and cropped (no letterbox): the square box is covered whatever the photo's shape.
    assert thumb.evaluate("img => getComputedStyle(img).objectFit") == "cover"
    box = thumb.bounding_box()
    assert abs(box["width"] - box["height"]) <= 1
    page.screenshot(path=str(screenshots / "3-gallery.png"), full_page=True)

    by_quality = images_of(system, campaign_id, order="quality")
    page.get_by_label("Order", exact=True).select_option("quality")
    expect(page.locator("#gallery-status")).to_contain_text("by quality score")
    assert cards.evaluate_all("cs => cs.map(c => c.dataset.imageId)") == [i["id"] for i in by_quality]
    page.get_by_label("Order", exact=True).select_option("rank")
    expect(page.locator("#gallery-status")).to_contain_text("hero first, then best first")
    assert cards.evaluate_all("cs => cs.map(c => c.dataset.imageId)") == [i["id"] for i in expected]

    products = images_of(system, campaign_id, image_type="product")
    page.get_by_label("Type", exact=True).select_option("product")
    expect(cards).to_have_count(len(products))
    assert set(cards.evaluate_all("cs => cs.map(c => c.dataset.imageType)")) == {"product"}
    page.get_by_label("Type", exact=True).select_option("")
    threshold = math.floor(expected[1]["quality_score"])
    page.get_by_label("Minimum quality (0–100)", exact=True).fill(str(threshold))
    expect(cards).to_have_count(len(images_of(system, campaign_id, min_quality=threshold)))
    assert min(float(q) for q in cards.evaluate_all("cs => cs.map(c => c.dataset.quality)")) >= threshold
    page.get_by_label("Minimum quality (0–100)", exact=True).fill("100")
    expect(page.locator("#gallery-status")).to_have_text("No images match these filters.")
    page.get_by_label("Minimum quality (0–100)", exact=True).fill("0")
    page.get_by_label("Type", exact=True).select_option("")
    expect(cards).to_have_count(len(expected))

    first.get_by_role("button", name=re.compile("^Mark as used")).click()
    expect(first.locator(".used")).to_have_text("Used 1 time")
    first.get_by_role("button", name=re.compile("^Copy URL")).click()
    expect(page.locator("#gallery-status")).to_have_text("Image address copied.")
    assert page.evaluate("navigator.clipboard.readText()") == expected[0]["cdn_url"]

    victim = expected[-1]
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    cards.last.get_by_role("button", name=re.compile("^Delete")).click()
    expect(cards).to_have_count(len(expected) - 1)
    assert dialogs and dialogs[0].startswith("Delete ")
    expect(page.locator("#stats")).to_contain_text(f"Images{len(expected) - 1}")
    assert victim["id"] not in [i["id"] for i in images_of(system, campaign_id)]

    page.once("dialog", lambda dialog: dialog.dismiss())
    cards.last.get_by_role("button", name=re.compile("^Delete")).click()
    expect(cards).to_have_count(len(expected) - 1)
    assert len(images_of(system, campaign_id)) == len(expected) - 1

    page.set_viewport_size(PHONE)
    expect(cards.first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator("#gallery-heading").evaluate("heading => heading.scrollIntoView()")
    page.wait_for_function("() => [...document.images].every(img => !img.src || img.complete)")
    page.screenshot(path=str(screenshots / "5-phone.png"))


def test_preview_shows_what_would_be_kept_and_why_the_rest_is_skipped(page, ui_system, shop, db, screenshots):
    """Preview runs /analyze: kept images with scores, skipped ones with a plain reason, and nothing is saved."""
    system = ui_system
    open_with_key(page, system)
    url = shop.url(shop.manifest.pages["basic"].path)
    page.get_by_label("Sales page address", exact=True).fill(url)
    page.get_by_role("button", name="Preview (nothing saved)").click()

    status = page.locator("#preview-status")
    expect(status).to_contain_text("Nothing was saved", timeout=JOB_TIMEOUT_MS)
    analysis = system.post("/api/v1/analyze", json={"url": url}).json()
    expect(page.locator("#preview-kept > li")).to_have_count(len(analysis["candidates"]))
    rows = page.locator("#preview-skipped tbody tr")
    expect(rows).to_have_count(len(analysis["skipped"]))
    reasons = set(rows.evaluate_all("rs => rs.map(r => r.dataset.reason)"))
    assert reasons == {skip["reason"] for skip in analysis["skipped"]}
    expect(page.locator("#preview-skipped")).to_contain_text("The server refused the image")
    page.screenshot(path=str(screenshots / "4-preview.png"), full_page=True)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ScrapedImage)) == 0
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_keyboard_only_submit_of_a_missing_page_explains_the_failure(page, ui_system, shop):
    """With the keyboard alone: key, address, Enter; the failed job says in plain words what went wrong."""
    system = ui_system
    page.goto(system.base_url + "/")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("API key", exact=True)).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.type(system.api_key)
    page.keyboard.press("Enter")
    expect(page.get_by_label("Sales page address", exact=True)).to_be_focused()

    page.keyboard.press("Enter")
    expect(page.locator("#url-error")).to_have_text("Enter the sales page address.")
    page.keyboard.type(shop.url(f"/products/gone-{uuid.uuid4().hex[:6]}.html"))
    page.keyboard.press("Enter")

    job = page.locator("#jobs li").first
    expect(job.locator(".status-badge")).to_have_text("Failed", timeout=JOB_TIMEOUT_MS)
    expect(job.locator(".job-error")).to_have_text(
        "The shop's server answered with an error (the page may be missing or need a login)."
    )

    page.reload()
    expect(page.locator("#workspace")).to_be_visible()
    expect(page.locator("#jobs li")).to_have_count(1)
    expect(page.locator("#gallery-status")).to_have_text(
        "No images yet. Scrape a page into this campaign to fill it."
    )
