"""The pure helpers of the import engine: id chunks sized for URLs, the
page prefetcher, and the fake's request-line limit (nginx's 8 kB)."""

import json
import threading
import time
from urllib.parse import quote

import pytest
import requests
from kobo_kpi import errors
from kobo_kpi.client import KpiClient, chunk_ids
from kobo_kpi.fake import FakeKobo, build_xlsform
from kobo_kpi.prefetch import Prefetcher


def encoded_query(chunk):
    return quote(json.dumps({"_id": {"$in": chunk}}, separators=(",", ":")), safe="")


def test_chunk_ids_fit_the_budget():
    ids = list(range(345_000_000, 345_002_500))
    chunks = list(chunk_ids(ids, 5000))
    assert [i for chunk in chunks for i in chunk] == ids
    assert all(len(encoded_query(chunk)) <= 5000 for chunk in chunks)
    assert len(chunks) > 5  # 1,000 kf-sized ids never go in one URL
    assert max(map(len, chunks)) > 300  # but chunks are not tiny


def test_chunk_ids_page_cap_and_edges():
    assert list(chunk_ids([], 5000)) == []
    assert list(chunk_ids([1, 2, 3], 5000, max_items=2)) == [[1, 2], [3]]
    assert list(chunk_ids([10**12], 10)) == [[10**12]]  # one id always goes


def test_prefetcher_hands_the_value_once():
    pre = Prefetcher()
    started = threading.Event()

    def slow():
        started.set()
        time.sleep(0.2)
        return "page 2"

    assert pre.start("k", slow, group="form")
    assert started.wait(1)
    assert pre.take("other", group="form") is None
    assert pre.take("k", group="form") == "page 2"
    assert pre.take("k", group="form") is None


def test_prefetcher_newer_fetch_replaces_older_and_errors_give_none():
    pre = Prefetcher()
    pre.start("k1", lambda: 1, group="form")
    pre.start("k2", lambda: 2, group="form")
    assert pre.take("k1", group="form") is None
    assert pre.take("k2", group="form") == 2

    def boom():
        raise errors.KoboServerError("500")

    pre.start("k3", boom, group="form")
    assert pre.take("k3", group="form") is None  # the caller fetches and sees the error


def test_prefetcher_expires_and_is_bounded():
    pre = Prefetcher(ttl=0.05, max_entries=2)
    assert pre.start("a", lambda: 1, group=1)
    assert pre.start("b", lambda: 2, group=2)
    assert not pre.start("c", lambda: 3, group=3)  # full
    time.sleep(0.1)
    assert pre.take("a", group=1) is None  # expired
    assert pre.pending() == 0


@pytest.fixture(scope="module")
def fake():
    with FakeKobo() as fake:
        yield fake


def test_fake_refuses_long_request_lines_and_client_chunks(fake):
    survey = [{"type": "text", "name": "name", "label": "Name"}]
    uid = fake.create_asset(xlsform=build_xlsform(survey, []), name="Ids", deploy=True)
    fake.store.next_submission_id = max(fake.store.next_submission_id, 345_000_000)
    ids = [s["_id"] for s in fake.add_submissions(uid, [{"name": str(i)} for i in range(1000)])]
    url = f"{fake.url}/api/v2/assets/{uid}/data/?query={encoded_query(ids)}"
    resp = requests.get(url, headers={"Authorization": f"Token {fake.token}"}, timeout=10)
    assert resp.status_code == 414 and "nginx" in resp.text
    with KpiClient(fake.url, fake.token) as client:
        fake.reset_requests()
        got = [s["_id"] for s in client.iter_submissions_by_ids(uid, ids, fields=["_id"])]
    assert got == ids
    paths = [path for _method, path in fake.requests]
    assert len(paths) > 1 and all(len(p) < 6000 for p in paths)


def test_prefetcher_bounds_the_calls_to_one_server():
    pre = Prefetcher(per_server=2)
    lock = threading.Lock()
    running, peak = [0], [0]

    def call():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.1)
        with lock:
            running[0] -= 1
        return "page"

    for key in range(6):
        assert pre.start(key, call, group="form", server="kf", replace=False)
    assert [pre.take(key, group="form") for key in range(6)] == ["page"] * 6
    assert peak[0] == 2, "at most two calls to one server at a time"


def test_prefetcher_starts_nothing_while_a_retry_after_runs():
    pre = Prefetcher()

    def throttled():
        raise errors.KoboThrottled("429", retry_after=0.3)

    assert pre.start("a", throttled, group="form", server="kf")
    assert pre.take("a", group="form") is None
    assert not pre.start("b", lambda: 1, group="form", server="kf"), "KoBo said wait"
    assert pre.start("c", lambda: 1, group="form", server="other")  # another server
    time.sleep(0.35)
    assert pre.start("d", lambda: 2, group="form", server="kf")
    assert pre.take("d", group="form") == 2
