"""Image bytes waiting for ranking are on disk, once per content, not in memory (issue 22 §3)."""

from __future__ import annotations

import gc

from tests.shopsite import site_path
from worker.pipeline import ProgressTracker, process_candidates
from worker.pipeline.spill import Spill, SpilledBytes
from worker.pipeline.types import Candidate, Progress


def test_twenty_urls_of_one_picture_are_one_file_read_back_as_its_bytes(shop_site, make_settings, http):
    settings = make_settings()
    path = "/img/basic/side.jpg"
    candidates = [
        Candidate(url=shop_site.url(f"{path}?copy={n}"), source="img", position=n) for n in range(20)
    ]
    tracker = ProgressTracker(Progress(images_found=len(candidates)))
    images, skips = process_candidates(candidates, shop_site.url("/"), settings, http, tracker)

    assert skips == []
    bodies = {id(image.body) for image in images}
    assert len(images) == 20 and len(bodies) == 1
    body = images[0].body
    assert isinstance(body, SpilledBytes)
    assert list(body.path.parent.iterdir()) == [body.path]
    assert images[0].data == shop_site.file_bytes(site_path(shop_site.url(path)))

    folder = body.path.parent
    del images, body
    gc.collect()
    assert not folder.exists()  # nothing refers to the files any more: the folder is gone


def test_close_removes_the_folder():
    spill = Spill()
    kept = spill.keep(b"bytes", "abc")
    assert kept.read() == b"bytes"
    spill.close()
    assert not kept.path.parent.exists()
