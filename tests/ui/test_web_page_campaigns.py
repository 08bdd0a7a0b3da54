"""The web page's campaigns come from the API; key check, clean console, cancel, delete, compact phone grid."""

from __future__ import annotations

import re
import uuid

import pytest
from PIL import Image
from playwright.sync_api import expect

from backend.models import ImageType, ScrapedImage
from tests.factories import create_campaign, create_user
from tests.ui.conftest import PHONE
from tests.ui.test_web_page import JOB_TIMEOUT_MS, open_with_key

PHONE_PAGE_LIMIT_PX = 2000


@pytest.fixture
def other_users_campaign(db) -> str:
    with db.session() as session:
        campaign = create_campaign(session, create_user(session, "stranger@example.test"))
        session.commit()
        return str(campaign.id)


def record_failures(page):
    """Console errors and every response of 400 or more, as the page loads things."""
    failures: list[str] = []
    page.on("console", lambda message: failures.append(message.text) if message.type == "error" else None)
    page.on("response", lambda response: failures.append(f"{response.status} {response.url}") if response.status >= 400 else None)  # fmt: skip
    return failures


def test_a_wrong_key_is_refused_on_save_and_the_right_one_clears_the_error(page, ui_system):
    system = ui_system
    page.goto(system.base_url + "/")
    key_input = page.get_by_label("API key", exact=True)
    key_input.fill("pis_" + "x" * 43)
    key_input.press("Enter")
    expect(page.locator("#key-error")).to_have_text(
        "The API key was not accepted. Check it, or ask for a new one."
    )
    expect(page.locator("#workspace")).to_be_hidden()
    assert page.evaluate("localStorage.getItem('pis.apiKey')") is None

    key_input.fill(system.api_key)
    key_input.press("Enter")
    expect(page.locator("#workspace")).to_be_visible()
    expect(page.locator("#key-error")).to_have_text("")
    expect(page.locator("#form-message")).to_have_text("")
    assert page.evaluate("localStorage.getItem('pis.apiKey')") == system.api_key


def test_a_new_campaign_and_the_favicon_leave_the_console_clean(page, ui_system):
    system = ui_system
    failures = record_failures(page)
    open_with_key(page, system)
    page.get_by_label("New campaign name", exact=True).fill("Nothing yet")
    page.get_by_role("button", name="New campaign").click()
    expect(page.locator("#gallery-status")).to_have_text(
        "No images yet. Scrape a page into this campaign to fill it."
    )
    assert page.request.get(system.base_url + "/favicon.ico").status == 200
    page.reload()
    expect(page.locator("#workspace")).to_be_visible()
    expect(page.locator("#gallery-status")).to_have_text(
        "No images yet. Scrape a page into this campaign to fill it."
    )
    assert failures == []


def test_campaigns_made_elsewhere_are_listed_and_any_can_be_opened_by_id(
    page, ui_system, other_users_campaign
):
    """A campaign made with the API shows in the list by name; the address and the id form open one."""
    system = ui_system
    made = system.post(
        "/api/v1/jobs",
        json={"sales_page_url": "https://shop.example.test/p/1", "campaign_name": "Made with curl"},
    ).json()
    open_with_key(page, system)
    select = page.get_by_label("Campaign", exact=True)
    expect(select.locator("option", has_text="Made with curl")).to_have_count(1)

    page.goto(f"{system.base_url}/#campaign={made['campaign_id']}")
    page.reload()
    expect(select).to_have_value(made["campaign_id"])
    expect(page.locator("#jobs li")).to_have_count(1)

    page.get_by_text("Open a campaign by id").click()
    field = page.get_by_label("Campaign id", exact=True)
    field.fill(str(uuid.uuid4()))
    field.press("Enter")
    expect(page.locator("#open-campaign-message")).to_have_text("No campaign with this id for your key.")
    field.fill(other_users_campaign)
    field.press("Enter")
    expect(page.locator("#open-campaign-message")).to_have_text("No campaign with this id for your key.")
    field.fill(made["campaign_id"].upper())
    field.press("Enter")
    expect(page.locator("#open-campaign-message")).to_have_text("Opened “Made with curl”.")
    expect(select).to_have_value(made["campaign_id"])


def test_a_running_job_can_be_cancelled(page, ui_system, shop):
    system = ui_system
    open_with_key(page, system)
    # /slow/ trickles the page for minutes: the job stays running until it is cancelled.
    page.get_by_label("Sales page address", exact=True).fill(
        shop.url("/slow" + shop.manifest.pages["basic"].path)
    )
    page.get_by_role("button", name="Scrape page").click()
    job = page.locator("#jobs li").first
    cancel = job.get_by_role("button", name=re.compile("^Cancel the job"))
    expect(cancel).to_be_visible()
    cancel.click()
    expect(job.locator(".status-badge")).to_have_text("Cancelled")
    expect(cancel).to_be_hidden()
    job_id = job.get_attribute("data-job-id")
    assert system.get(f"/api/v1/jobs/{job_id}").json()["status"] == "cancelled"


def test_deleting_a_campaign_asks_first_and_takes_its_jobs(page, ui_system):
    system = ui_system
    made = system.post(
        "/api/v1/jobs",
        json={"sales_page_url": "https://shop.example.test/p/1", "campaign_name": "Old launch"},
    ).json()
    open_with_key(page, system)
    select = page.get_by_label("Campaign", exact=True)
    select.select_option(made["campaign_id"])
    messages: list[str] = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Delete campaign").click()
    expect(select.locator("option", has_text="Old launch")).to_have_count(1)
    assert messages == [
        "Delete campaign “Old launch” with its 1 job and 0 images? The stored files are removed too; this cannot be undone."
    ]

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete campaign").click()
    expect(page.locator("#form-message")).to_have_text("Campaign “Old launch” deleted.")
    expect(select.locator("option", has_text="Old launch")).to_have_count(0)
    assert system.get(f"/api/v1/campaigns/{made['campaign_id']}").status_code == 404
    assert system.get(f"/api/v1/jobs/{made['id']}").status_code == 404


def test_nine_images_fit_a_phone_page_under_two_thousand_pixels(page, ui_system, shop, db, screenshots):
    """Compact cards: thumbnails two abreast with icon actions keep a 9-image campaign short on a phone."""
    system = ui_system
    made = system.post(
        "/api/v1/jobs", json={"sales_page_url": "https://shop.example.test/p/1", "campaign_name": "Phone"}
    ).json()
    photo = shop.url("/img/basic/hero.jpg")
    with db.session() as session:
        for index in range(9):
            session.add(
                ScrapedImage(
                    campaign_id=uuid.UUID(made["campaign_id"]), cdn_url=photo, thumbnail_url=photo,
                    storage_key=f"k{index}", original_url=photo, width=1000, height=1000, file_size=120_000,
                    format="JPEG", quality_score=90.0 - index, image_type=ImageType.PRODUCT, is_product=True,
                    content_hash=f"{index:064d}",
                )
            )  # fmt: skip
        session.commit()
    page.set_viewport_size(PHONE)
    open_with_key(page, system)
    page.get_by_label("Campaign", exact=True).select_option(made["campaign_id"])
    expect(page.locator("#gallery > li")).to_have_count(9)
    # Thumbnails keep their square box before they load, so the height is final already.
    height = page.evaluate("document.documentElement.scrollHeight")
    page.locator("#gallery > li").last.scroll_into_view_if_needed()
    page.wait_for_function("() => [...document.querySelectorAll('#gallery img')].every(img => img.complete)")
    page.screenshot(path=str(screenshots / "6-phone-nine-images.png"), full_page=True)
    assert height < PHONE_PAGE_LIMIT_PX, height  # 4,250 px with four text buttons on every card
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_skipped_list_tells_same_named_files_apart(page, ui_system, shop):
    """Five skipped `t.png`s in different folders show enough of their address to be told apart, with a reason."""
    system = ui_system
    folders = ["a", "b", "c", "d", "e"]
    for folder in folders:
        (shop.root / "same" / folder).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (24, 24), (200, 30, 30)).save(shop.root / "same" / folder / "t.png")
    images = "".join(f'<img src="/same/{folder}/t.png" alt="">' for folder in folders)
    hero = '<img src="/img/basic/hero.jpg" alt="Tonic">'
    (shop.root / "products" / "same-names.html").write_text(
        f"<html><body><main>{hero}{images}</main></body></html>"
    )
    open_with_key(page, system)
    page.get_by_label("Sales page address", exact=True).fill(shop.url("/products/same-names.html"))
    page.get_by_role("button", name="Preview (nothing saved)").click()
    expect(page.locator("#preview-status")).to_contain_text("Nothing was saved", timeout=JOB_TIMEOUT_MS)
    rows = page.locator("#preview-skipped tbody tr")
    expect(rows).to_have_count(5)
    names = rows.evaluate_all("rs => rs.map(r => r.querySelector('.skip-name').textContent)")
    assert sorted(names) == [f"…/{folder}/t.png" for folder in folders]
    reasons = rows.evaluate_all("rs => rs.map(r => r.cells[1].textContent.trim())")
    assert all(reasons), reasons
