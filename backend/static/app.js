// The web page's behaviour: key, campaigns (listed by the API), job submission, polling and
// cancelling, gallery, preview.
// Plain JavaScript, no build step. Every value from the API or a scraped page is put in the
// page with textContent or as a checked http(s) URL, never as HTML.
"use strict";

(function () {
  const API = "/api/v1";
  const KEY_STORAGE = "pis.apiKey";
  const PAGE_SIZE = 24;
  const CAMPAIGN_PAGE = 100;
  const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const POLL_FIRST_MS = 500;
  const POLL_MAX_MS = 5000;
  const POLL_GROWTH = 1.5;
  const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

  const JOB_ERRORS = {
    blocked_url: "This address points to a private network and can't be scraped.",
    invalid_url: "This doesn't look like a web address we can open. Check it and try again.",
    http_error: "The shop's server answered with an error (the page may be missing or need a login).",
    fetch_failed: "The page could not be reached. Check the address, or try again in a moment.",
    timeout: "The page took too long to answer, so we gave up. Try again later.",
    not_html: "This address is not a web page (it sent a file of another kind).",
    page_too_large: "This page is too large to scrape.",
    internal: "Something went wrong on our side. Please try again; if it keeps happening, tell us.",
  };
  const STATUS_WORDS = {
    queued: "Waiting for a worker",
    running: "Scraping",
    succeeded: "Done",
    failed: "Failed",
    cancelled: "Cancelled",
  };
  const SKIP_REASONS = {
    data_uri: "Inline image embedded in the page",
    svg: "Vector graphic, not a photo",
    tracking_pixel: "Tracking pixel",
    placeholder: "Placeholder (blank or loading image)",
    logo: "Logo",
    icon: "Icon",
    sprite: "Sprite sheet or strip",
    badge: "Badge",
    avatar: "Avatar",
    promo: "Promotional banner",
    related_product: "Belongs to another product (related items)",
    too_small: "Too small for an ad",
    unsupported_format: "Unsupported image format",
    graphic: "Flat graphic, not a photo",
    extreme_aspect: "Too wide or too tall to be a product photo",
    duplicate: "Duplicate of an image that is kept",
    over_limit: "Ranked below your max images",
    download_failed: "Could not be downloaded",
    http_error: "The server refused the image",
    timeout: "Took too long to download",
    too_large: "File too large",
    not_image: "Not an image",
    blocked_url: "Points to a private network",
    invalid_url: "Invalid address",
    undecodable: "Broken or unreadable image file",
    bomb: "Absurdly large image (refused for safety)",
    internal_error: "Could not be processed",
  };
  const TYPE_WORDS = { hero: "Hero", product: "Product", lifestyle: "Lifestyle" };

  const $ = (id) => document.getElementById(id);
  // campaigns: as GET /campaigns lists them (the source of truth); pending: made here, named, and
  // not on the server until their first job (so nothing is asked about them before that).
  const state = { nextCursor: null, polling: new Map(), galleryRequest: 0, campaigns: [], pending: new Map() };

  // ---------- small helpers ----------

  function apiKey() {
    return localStorage.getItem(KEY_STORAGE) || "";
  }

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
      this.status = status;
      this.problem = problem || {};
    }
  }

  async function api(method, path, body, key) {
    const headers = { Authorization: `Bearer ${key || apiKey()}`, Accept: "application/json" };
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(API + path, init);
    if (response.status === 204) return null;
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  function explain(error) {
    if (!(error instanceof ApiError)) return "The service could not be reached. Check your connection.";
    if (error.status === 401) return "The API key was not accepted. Check it, or ask for a new one.";
    if (error.status === 422 && error.problem.errors && error.problem.errors.length) {
      return error.problem.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    }
    if (error.problem.code && JOB_ERRORS[error.problem.code]) return JOB_ERRORS[error.problem.code];
    return error.message;
  }

  function safeUrl(value) {
    try {
      const url = new URL(value, window.location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  function formatBytes(bytes) {
    if (bytes == null) return "";
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  function newUuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    // Pages served over plain http to another host have no randomUUID: build a v4 UUID by hand.
    const b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function say(element, text, kind) {
    element.textContent = text;
    element.classList.toggle("is-error", kind === "error");
  }

  // ---------- the key ----------

  function showKeyState() {
    const key = apiKey();
    $("key-form").hidden = Boolean(key);
    $("key-saved").hidden = !key;
    $("key-section").classList.toggle("is-saved", Boolean(key));
    $("workspace").hidden = !key;
    $("key-hint").textContent = key ? `ends in …${key.slice(-4)}` : "";
  }

  async function onKeySubmit(event) {
    event.preventDefault();
    const input = $("api-key");
    const value = input.value.trim();
    if (!value) {
      input.focus();
      return;
    }
    const button = $("save-key");
    button.disabled = true;
    say($("key-error"), "Checking the key…");
    try {
      // A key is saved only once the API has accepted it.
      await api("GET", "/campaigns?limit=1", undefined, value);
    } catch (error) {
      say($("key-error"), explain(error), "error");
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    } finally {
      button.disabled = false;
    }
    localStorage.setItem(KEY_STORAGE, value);
    input.value = "";
    input.setAttribute("aria-invalid", "false");
    for (const id of ["key-error", "form-message", "gallery-status"]) say($(id), "");
    showKeyState();
    await loadCampaigns(campaignFromAddress());
    $("page-url").focus();
  }

  function onForgetKey() {
    localStorage.removeItem(KEY_STORAGE);
    stopAllPolling();
    state.campaigns = [];
    state.pending.clear();
    showKeyState();
    $("api-key").focus();
  }

  // ---------- campaigns (listed by the API) ----------

  function currentCampaign() {
    return $("campaign").value;
  }

  function isPending(id) {
    return state.pending.has(id);
  }

  function campaignFromAddress() {
    const match = /^#campaign=([0-9a-f-]{36})$/i.exec(window.location.hash);
    return match ? match[1].toLowerCase() : null;
  }

  function findCampaign(id) {
    return state.campaigns.find((c) => c.id === id) || null;
  }

  function campaignLabel(id) {
    if (isPending(id)) return state.pending.get(id);
    const found = findCampaign(id);
    return found ? found.name || `Untitled campaign ${id.slice(0, 8)}` : id;
  }

  function campaignOptionText(id) {
    if (isPending(id)) return `${state.pending.get(id)} (new)`;
    const c = findCampaign(id);
    const images = `${c.image_count} image${c.image_count === 1 ? "" : "s"}`;
    const last = c.last_job ? ` · last job: ${(STATUS_WORDS[c.last_job.status] || c.last_job.status).toLowerCase()}` : "";
    return `${campaignLabel(id)} · ${images}${last}`;
  }

  async function loadCampaigns(wanted) {
    try {
      const page = await api("GET", `/campaigns?limit=${CAMPAIGN_PAGE}`);
      const keep = state.campaigns.filter((c) => c.opened && !page.items.some((i) => i.id === c.id));
      state.campaigns = [...page.items, ...keep];
      for (const c of page.items) state.pending.delete(c.id);
    } catch (error) {
      say($("form-message"), explain(error), "error");
    }
    renderCampaigns(wanted || currentCampaign());
    loadCampaign();
  }

  function renderCampaigns(wanted) {
    if (!state.campaigns.length && !state.pending.size) state.pending.set(newUuid(), "My first campaign");
    const ids = [...state.pending.keys(), ...state.campaigns.map((c) => c.id)];
    $("campaign").replaceChildren(
      ...ids.map((id) => {
        const option = document.createElement("option");
        option.value = id;
        option.textContent = campaignOptionText(id);
        return option;
      })
    );
    $("campaign").value = ids.includes(wanted) ? wanted : ids[0];
    showAddress();
  }

  function showAddress() {
    // The address names the campaign, so a bookmark or a link opens it again (on any browser).
    const id = currentCampaign();
    const hash = id && !isPending(id) ? `#campaign=${id}` : "";
    if (window.location.hash !== hash) history.replaceState(null, "", hash || window.location.pathname);
  }

  function onNewCampaign() {
    const name = $("campaign-name").value.trim() || `Campaign ${state.campaigns.length + state.pending.size + 1}`;
    const id = newUuid();
    state.pending.set(id, name);
    $("campaign-name").value = "";
    renderCampaigns(id);
    say($("form-message"), `New campaign “${name}” selected. It is saved with its first scrape.`);
    loadCampaign();
    $("campaign").focus();
  }

  function onCampaignChange() {
    showAddress();
    loadCampaign();
  }

  async function onOpenCampaign(event) {
    event.preventDefault();
    const input = $("open-campaign-id");
    const id = input.value.trim().toLowerCase();
    if (!UUID_RE.test(id)) {
      say($("open-campaign-message"), "A campaign id looks like 3f2b…-…: 36 letters, digits and dashes.", "error");
      input.focus();
      return;
    }
    await openCampaign(id);
  }

  async function openCampaign(id) {
    try {
      const campaign = await api("GET", `/campaigns/${encodeURIComponent(id)}`);
      if (!findCampaign(id)) state.campaigns.push({ ...campaign, opened: true });
      $("open-campaign-id").value = "";
      say($("open-campaign-message"), `Opened “${campaignLabel(id)}”.`);
      renderCampaigns(id);
      loadCampaign();
    } catch (error) {
      const text = error instanceof ApiError && error.status === 404 ? "No campaign with this id for your key." : explain(error);
      say($("open-campaign-message"), text, "error");
    }
  }

  async function onDeleteCampaign() {
    const id = currentCampaign();
    if (!id) return;
    const c = findCampaign(id);
    const what = c
      ? `campaign “${campaignLabel(id)}” with its ${c.job_count} job${c.job_count === 1 ? "" : "s"} and ${c.image_count} image${c.image_count === 1 ? "" : "s"}`
      : `campaign “${campaignLabel(id)}”`;
    if (!window.confirm(`Delete ${what}? The stored files are removed too; this cannot be undone.`)) return;
    const label = campaignLabel(id);
    try {
      if (isPending(id)) state.pending.delete(id);
      else await api("DELETE", `/campaigns/${encodeURIComponent(id)}`);
      state.campaigns = state.campaigns.filter((other) => other.id !== id);
      say($("form-message"), `Campaign “${label}” deleted.`);
      await loadCampaigns(null);
      $("campaign").focus();
    } catch (error) {
      say($("form-message"), explain(error), "error");
    }
  }

  // ---------- submitting and watching jobs ----------

  function validUrlOrSay() {
    const input = $("page-url");
    const error = $("url-error");
    const value = input.value.trim();
    const ok = value && safeUrl(value) && /^https?:\/\//i.test(value);
    error.hidden = Boolean(ok);
    input.setAttribute("aria-invalid", ok ? "false" : "true");
    if (!ok) {
      error.textContent = value ? "Enter a full address starting with http:// or https://." : "Enter the sales page address.";
      input.focus();
      return null;
    }
    return value;
  }

  function maxImages() {
    const value = Number.parseInt($("max-images").value, 10);
    return Number.isFinite(value) ? Math.min(100, Math.max(1, value)) : 10;
  }

  async function onScrape(event) {
    event.preventDefault();
    const url = validUrlOrSay();
    if (!url) return;
    const button = $("scrape-button");
    button.disabled = true;
    say($("form-message"), "Sending…");
    try {
      const campaign = currentCampaign();
      const body = { sales_page_url: url, campaign_id: campaign, max_images: maxImages() };
      if (isPending(campaign)) body.campaign_name = state.pending.get(campaign);
      const job = await api("POST", "/jobs", body);
      say($("form-message"), "Job started. Its progress shows below.");
      if (isPending(campaign)) {
        state.pending.delete(campaign);
        await loadCampaigns(campaign);
      }
      renderJob(job, true);
      watchJob(job.id);
    } catch (error) {
      say($("form-message"), explain(error), "error");
    } finally {
      button.disabled = false;
    }
  }

  function jobPercent(job) {
    if (job.status === "succeeded") return 100;
    const p = job.progress;
    if (!p || !p.images_found) return 0;
    return Math.min(100, Math.round((100 * p.images_processed) / p.images_found));
  }

  function jobElement(jobId) {
    return document.querySelector(`#jobs li[data-job-id="${CSS.escape(jobId)}"]`);
  }

  function renderJob(job, prepend) {
    let item = jobElement(job.id);
    if (!item) {
      item = $("job-template").content.firstElementChild.cloneNode(true);
      item.dataset.jobId = job.id;
      const link = item.querySelector(".job-url");
      link.textContent = job.sales_page_url;
      const href = safeUrl(job.sales_page_url);
      if (href) link.href = href;
      item.querySelector(".cancel-job").addEventListener("click", () => cancelJob(job.id));
      if (prepend) $("jobs").prepend(item);
      else $("jobs").append(item);
    }
    $("jobs-empty").hidden = true;
    const percent = jobPercent(job);
    item.dataset.status = job.status;
    const badge = item.querySelector(".status-badge");
    badge.textContent = STATUS_WORDS[job.status] || job.status;
    badge.className = `status-badge status-${job.status}`;
    const bar = item.querySelector("progress");
    bar.value = percent;
    bar.setAttribute("aria-label", `Progress of ${job.sales_page_url}`);
    item.querySelector(".percent").textContent = `${percent} %`;
    const p = job.progress || {};
    item.querySelector(".job-counts").textContent =
      `${p.images_processed || 0} of ${p.images_found || 0} images checked · ` +
      `${p.images_saved || 0} saved · ${p.images_skipped || 0} skipped · ${p.images_failed || 0} failed`;
    const cancel = item.querySelector(".cancel-job");
    cancel.hidden = FINISHED.has(job.status);
    cancel.setAttribute("aria-label", `Cancel the job for ${job.sales_page_url}`);
    const error = item.querySelector(".job-error");
    error.hidden = !job.error;
    if (job.error) error.textContent = JOB_ERRORS[job.error.code] || job.error.message || job.error.code;
  }

  async function cancelJob(jobId) {
    try {
      const job = await api("POST", `/jobs/${encodeURIComponent(jobId)}/cancel`);
      renderJob(job, false);
      say($("form-message"), "Job cancelled.");
    } catch (error) {
      // 409: it finished meanwhile; show it as it is now.
      if (error instanceof ApiError && error.status === 409) watchJob(jobId, 0);
      else say($("form-message"), explain(error), "error");
    }
  }

  function watchJob(jobId, delay = POLL_FIRST_MS) {
    clearTimeout(state.polling.get(jobId));
    const timer = setTimeout(async () => {
      let next = Math.min(POLL_MAX_MS, delay * POLL_GROWTH);
      try {
        const job = await api("GET", `/jobs/${encodeURIComponent(jobId)}`);
        renderJob(job, false);
        if (FINISHED.has(job.status)) {
          state.polling.delete(jobId);
          if (job.campaign_id === currentCampaign()) {
            if (job.status === "succeeded") loadGallery();
            refreshCampaignCounts(job.campaign_id);
          }
          return;
        }
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          state.polling.delete(jobId);
          return;
        }
        next = POLL_MAX_MS; // the service is having a moment: ask again, but gently
      }
      watchJob(jobId, next);
    }, delay);
    state.polling.set(jobId, timer);
  }

  async function refreshCampaignCounts(id) {
    try {
      const fresh = await api("GET", `/campaigns/${encodeURIComponent(id)}`);
      const index = state.campaigns.findIndex((c) => c.id === id);
      if (index >= 0) state.campaigns[index] = { ...state.campaigns[index], ...fresh };
      const option = [...$("campaign").options].find((o) => o.value === id);
      if (option) option.textContent = campaignOptionText(id);
    } catch (_) {
      // the list is a convenience; the next load corrects it
    }
  }

  function stopAllPolling() {
    state.polling.forEach((timer) => clearTimeout(timer));
    state.polling.clear();
  }

  async function loadJobs() {
    stopAllPolling();
    $("jobs").replaceChildren();
    $("jobs-empty").hidden = false;
    try {
      const page = await api("GET", `/jobs?campaign_id=${encodeURIComponent(currentCampaign())}&limit=10`);
      page.items.forEach((job) => {
        renderJob(job, false);
        if (!FINISHED.has(job.status)) watchJob(job.id);
      });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) say($("form-message"), explain(error), "error");
    }
  }

  // ---------- the gallery ----------

  function galleryQuery(cursor) {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    const type = $("filter-type").value;
    const quality = Number.parseFloat($("filter-quality").value);
    if (type) params.set("image_type", type);
    if (Number.isFinite(quality) && quality > 0) params.set("min_quality", String(Math.min(100, quality)));
    if ($("filter-order").value === "quality") params.set("order", "quality");
    if (cursor) params.set("cursor", cursor);
    return params.toString();
  }

  async function loadGallery(more) {
    const campaign = currentCampaign();
    const request = ++state.galleryRequest;
    if (!more) reloadForQuality.cancel();
    const base = `/campaigns/${encodeURIComponent(campaign)}/images`;
    $("gallery-campaign").textContent = `— ${campaignLabel(campaign)}`;
    if (!more) say($("gallery-status"), "Loading images…");
    try {
      const [page, stats] = await Promise.all([
        api("GET", `${base}?${galleryQuery(more ? state.nextCursor : null)}`),
        more ? null : api("GET", `${base}/stats`),
      ]);
      if (request !== state.galleryRequest) return; // a newer filter or campaign won
      if (stats) renderStats(stats);
      const cards = page.items.map(imageCard);
      if (more) $("gallery").append(...cards);
      else $("gallery").replaceChildren(...cards);
      state.nextCursor = page.next_cursor;
      $("more-images").hidden = !page.next_cursor;
      const shown = $("gallery").children.length;
      const filtered = $("filter-type").value || Number.parseFloat($("filter-quality").value) > 0;
      const order = $("filter-order").value === "quality" ? "by quality score" : "hero first, then best first";
      let message = `${shown} image${shown === 1 ? "" : "s"} shown, ${order}.`;
      if (!shown) message = filtered ? "No images match these filters." : "No images yet. Scrape a page into this campaign to fill it.";
      say($("gallery-status"), message);
    } catch (error) {
      if (request !== state.galleryRequest) return;
      $("gallery").replaceChildren();
      $("stats").replaceChildren();
      $("more-images").hidden = true;
      if (error instanceof ApiError && error.status === 404) {
        say($("gallery-status"), "No images yet. Scrape a page into this campaign to fill it.");
      } else {
        say($("gallery-status"), explain(error), "error");
      }
    }
  }

  function renderStats(stats) {
    const rows = [
      ["Images", stats.total_count],
      ["Hero", stats.hero_count],
      ["Product", stats.product_count],
      ["Lifestyle", stats.lifestyle_count],
      ["Average quality", stats.avg_quality == null ? "–" : stats.avg_quality.toFixed(1)],
      ["Best quality", stats.max_quality == null ? "–" : stats.max_quality.toFixed(1)],
      ["Total size", formatBytes(stats.total_bytes)],
    ];
    $("stats").replaceChildren(
      ...rows.map(([name, value]) => {
        const box = document.createElement("div");
        const dt = document.createElement("dt");
        const dd = document.createElement("dd");
        dt.textContent = name;
        dd.textContent = String(value);
        box.append(dt, dd);
        return box;
      })
    );
  }

  function usedText(image) {
    if (!image.times_used) return "Not used yet";
    return `Used ${image.times_used} time${image.times_used === 1 ? "" : "s"}`;
  }

  function imageCard(image) {
    const card = $("image-template").content.firstElementChild.cloneNode(true);
    card.dataset.imageId = image.id;
    card.dataset.imageType = image.image_type;
    card.dataset.quality = String(image.quality_score);
    const full = safeUrl(image.cdn_url);
    const thumb = safeUrl(image.thumbnail_url) || full;
    const describe = image.alt_text || `${TYPE_WORDS[image.image_type] || "Image"} photo`;
    const img = card.querySelector(".thumb");
    if (thumb) img.src = thumb;
    img.alt = describe;
    const link = card.querySelector(".thumb-link");
    if (full) link.href = full;
    link.setAttribute("aria-label", `Open full size: ${describe}`);
    const badge = card.querySelector(".type-badge");
    badge.textContent = TYPE_WORDS[image.image_type] || image.image_type;
    badge.classList.add(`type-${image.image_type}`);
    const score = card.querySelector(".score");
    score.textContent = `${Math.round(image.quality_score)}/100`;
    score.title = "Quality score (0–100)";
    score.setAttribute("aria-label", `Quality ${Math.round(image.quality_score)} of 100`);
    card.querySelector(".facts").textContent =
      `${image.width}×${image.height} · ${image.format} · ${formatBytes(image.file_size)}`;
    card.querySelector(".used").textContent = usedText(image);
    for (const button of card.querySelectorAll("button")) {
      button.setAttribute("aria-label", `${button.dataset.label}: ${describe}`);
      button.title = button.dataset.label;
    }
    card.querySelector(".copy-url").addEventListener("click", () => copyUrl(image, card));
    card.querySelector(".mark-used").addEventListener("click", () => markUsed(image, card));
    card.querySelector(".delete-image").addEventListener("click", () => deleteImage(image, card));
    return card;
  }

  async function copyUrl(image, card) {
    try {
      await navigator.clipboard.writeText(image.cdn_url);
      say($("gallery-status"), "Image address copied.");
    } catch (_) {
      say($("gallery-status"), `Copy failed; the address is ${image.cdn_url}`, "error");
    }
    card.querySelector(".copy-url").focus();
  }

  async function markUsed(image, card) {
    try {
      const updated = await api("POST", `/campaigns/${encodeURIComponent(image.campaign_id)}/images/${encodeURIComponent(image.id)}/use`);
      image.times_used = updated.times_used;
      card.querySelector(".used").textContent = usedText(updated);
      say($("gallery-status"), `Marked as used (${usedText(updated).toLowerCase()}).`);
    } catch (error) {
      say($("gallery-status"), explain(error), "error");
    }
  }

  async function deleteImage(image, card) {
    const describe = image.alt_text ? `“${image.alt_text}”` : "this image";
    if (!window.confirm(`Delete ${describe}? The stored file is removed too; this cannot be undone.`)) return;
    state.galleryRequest += 1; // a listing still in flight may predate the delete: drop it
    try {
      await api("DELETE", `/campaigns/${encodeURIComponent(image.campaign_id)}/images/${encodeURIComponent(image.id)}`);
      // The grid may have been redrawn meanwhile: find the image's card as it is now.
      const current = $("gallery").querySelector(`li[data-image-id="${CSS.escape(image.id)}"]`) || card;
      const next = current.nextElementSibling || current.previousElementSibling;
      current.remove();
      say($("gallery-status"), "Image deleted.");
      const target = next ? next.querySelector(".delete-image") : $("filter-type");
      target.focus();
      const stats = await api("GET", `/campaigns/${encodeURIComponent(image.campaign_id)}/images/stats`);
      renderStats(stats);
    } catch (error) {
      say($("gallery-status"), explain(error), "error");
    }
  }

  // ---------- preview ----------

  async function onPreview() {
    const url = validUrlOrSay();
    if (!url) return;
    const section = $("preview-section");
    const button = $("preview-button");
    section.hidden = false;
    $("preview-body").hidden = true;
    button.disabled = true;
    say($("preview-status"), "Looking at the page… (this can take a few seconds)");
    $("preview-heading").focus();
    try {
      const result = await api("POST", "/analyze", { url, max_images: maxImages() });
      renderPreview(result);
    } catch (error) {
      say($("preview-status"), explain(error), "error");
    } finally {
      button.disabled = false;
    }
  }

  function renderPreview(result) {
    const kept = result.candidates || [];
    const skipped = result.skipped || [];
    say(
      $("preview-status"),
      `Found ${result.images_found} images: ${kept.length} would be kept, ${skipped.length} skipped. Nothing was saved.`
    );
    $("preview-kept").replaceChildren(...kept.map(previewCard));
    const names = shortNames(skipped.map((skip) => skip.url));
    $("preview-skipped").tBodies[0].replaceChildren(...skipped.map((skip, index) => skipRow(skip, names[index])));
    $("preview-body").hidden = false;
  }

  function previewCard(candidate) {
    const card = document.createElement("li");
    card.className = "card preview-card";
    const img = document.createElement("img");
    img.className = "thumb";
    img.loading = "lazy";
    img.alt = candidate.alt_text || `${TYPE_WORDS[candidate.image_type] || "Image"} photo`;
    const src = safeUrl(candidate.url);
    if (src) img.src = src;
    const body = document.createElement("div");
    body.className = "card-body";
    const top = document.createElement("p");
    top.className = "card-top";
    const badge = document.createElement("span");
    badge.className = `type-badge type-${candidate.image_type}`;
    badge.textContent = TYPE_WORDS[candidate.image_type] || candidate.image_type;
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = `Quality ${Math.round(candidate.quality_score)}/100`;
    top.append(badge, " ", score);
    const facts = document.createElement("p");
    facts.className = "facts";
    facts.textContent = `${candidate.width} × ${candidate.height} · ${candidate.format} · ${formatBytes(candidate.file_size)}`;
    body.append(top, facts);
    card.append(img, body);
    return card;
  }

  function urlParts(url) {
    try {
      const parsed = new URL(url);
      const parts = [parsed.host, ...parsed.pathname.split("/").filter(Boolean)];
      return { parts, query: parsed.search };
    } catch (_) {
      return null;
    }
  }

  // Each skipped address by its shortest ending (file name, then its folders, then the host) that
  // no other skipped address shares, with its query string: five `t.jpg`s become `a/t.jpg`, `b/t.jpg`…
  function shortNames(urls) {
    const split = urls.map((url) => (url.startsWith("data:") ? null : urlParts(url)));
    const ending = (entry, depth) => `${entry.parts.slice(-depth).join("/")}${entry.query}`;
    return urls.map((url, index) => {
      const entry = split[index];
      if (url.startsWith("data:")) return "Inline image (data: address)";
      if (!entry) return url.slice(0, 60);
      for (let depth = 1; depth <= entry.parts.length; depth += 1) {
        const name = ending(entry, depth);
        const clash = split.some((other, j) => j !== index && other && other.parts.length >= depth && ending(other, depth) === name && urls[j] !== url);
        if (!clash) return (depth < entry.parts.length ? "…/" : "") + name;
      }
      return url;
    });
  }

  function skipRow(skip, shortName) {
    const row = document.createElement("tr");
    const what = document.createElement("td");
    const name = document.createElement("span");
    name.className = "skip-name";
    name.textContent = shortName;
    name.title = skip.url.startsWith("data:") ? "" : skip.url;
    what.append(name);
    const why = document.createElement("td");
    why.textContent = SKIP_REASONS[skip.reason] || skip.reason.replaceAll("_", " ");
    if (skip.detail) {
      const detail = document.createElement("span");
      detail.className = "muted skip-detail";
      detail.textContent = ` (${skip.detail})`;
      why.append(detail);
    }
    row.dataset.reason = skip.reason;
    row.append(what, why);
    return row;
  }

  // ---------- wiring ----------

  function loadCampaign() {
    if (!apiKey() || !currentCampaign()) return;
    state.nextCursor = null;
    if (isPending(currentCampaign())) {
      // Not on the server yet: there is nothing to ask for (and a 404 would only clutter the console).
      stopAllPolling();
      state.galleryRequest += 1;
      $("jobs").replaceChildren();
      $("jobs-empty").hidden = false;
      $("gallery").replaceChildren();
      $("stats").replaceChildren();
      $("more-images").hidden = true;
      $("gallery-campaign").textContent = `— ${campaignLabel(currentCampaign())}`;
      say($("gallery-status"), "No images yet. Scrape a page into this campaign to fill it.");
      return;
    }
    loadJobs();
    loadGallery(false);
  }

  function debounce(fn, ms) {
    let timer;
    const run = (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
    run.cancel = () => clearTimeout(timer);
    return run;
  }

  // Typing a minimum quality reloads the gallery once the typing pauses. Any other reload reads
  // the same field, so it takes the pending one's place: a late duplicate would redraw the cards
  // and overwrite the status line ("Image address copied.") after the user has moved on.
  const reloadForQuality = debounce(() => loadGallery(false), 300);

  function start() {
    $("key-form").addEventListener("submit", onKeySubmit);
    $("forget-key").addEventListener("click", onForgetKey);
    $("new-campaign").addEventListener("click", onNewCampaign);
    $("campaign-name").addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        onNewCampaign();
      }
    });
    $("campaign").addEventListener("change", onCampaignChange);
    $("delete-campaign").addEventListener("click", onDeleteCampaign);
    $("open-campaign").addEventListener("submit", onOpenCampaign);
    window.addEventListener("hashchange", () => {
      const id = campaignFromAddress();
      if (id && id !== currentCampaign() && apiKey()) openCampaign(id);
    });
    $("scrape-form").addEventListener("submit", onScrape);
    $("preview-button").addEventListener("click", onPreview);
    $("close-preview").addEventListener("click", () => {
      $("preview-section").hidden = true;
      $("preview-button").focus();
    });
    $("refresh-gallery").addEventListener("click", () => loadGallery(false));
    $("more-images").addEventListener("click", () => loadGallery(true));
    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      loadGallery(false);
    });
    $("filter-type").addEventListener("change", () => loadGallery(false));
    $("filter-order").addEventListener("change", () => loadGallery(false));
    $("filter-quality").addEventListener("input", reloadForQuality);
    showKeyState();
    if (!apiKey()) return;
    const wanted = campaignFromAddress();
    loadCampaigns(wanted).then(() => {
      if (wanted && !findCampaign(wanted)) openCampaign(wanted);
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
