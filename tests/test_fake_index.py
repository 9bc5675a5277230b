"""The fake KoBo answers the connector's queries from indexes (``fake/plan.py``):
a page costs the time of a page whatever the size of the store, and the
indexed answer is exactly the scan's."""

import json
import random
import time
from urllib.parse import urlencode

import pytest
from kobo_kpi.fake import FakeKobo, api_data, plan
from kobo_kpi.fake.seed import xlsform

CITIES = ["Dakar", "Paris", "Lima", ""]


def data_page(fake, uid, status=200, **params):
    """The JSON body of ``GET /data/`` with these params, from the fake's
    handler (no socket: what is timed is the fake's work)."""
    query = urlencode({k: json.dumps(v) if k != "limit" else v for k, v in params.items()})
    response = fake.handle(
        "GET",
        f"/api/v2/assets/{uid}/data/?{query}",
        {"Authorization": f"Token {fake.token}"},
        b"",
        "http://kobo.test",
    )
    assert response.status == status, response.body[:200]
    return json.loads(response.body)


def listings(cursor, floor):
    """The queries the connector makes (models/kobo_form_sync.py, kobo_kpi/client.py)."""
    edited = {"meta/deprecatedID": {"$exists": True}}
    recent = {"_id": {"$gt": floor}, "_submission_time": {"$gte": "2026-03-01T00:30:00"}}
    return {
        "new": {"query": {"_id": {"$gt": cursor}}, "sort": {"_id": 1}},
        "by ids": {"query": {"_id": {"$in": list(range(cursor, cursor + 300, 3))}}},
        "edits": {"query": {"_id": {"$gt": cursor}, "$or": [edited, recent]}, "sort": {"_id": 1}},
        "edits, no window": {"query": {"_id": {"$gt": cursor}, **edited}, "sort": {"_id": 1}},
    }


def seeded(fake, n):
    uid = fake.create_asset(xlsform=xlsform("contact"), deploy=True)
    fake.add_submissions(uid, [{"name": f"P{i}", "city": CITIES[i % 3]} for i in range(n)])
    for sub_id in range(1, n, 97):  # some edited ones, all along
        fake.edit_submission(uid, sub_id, {"city": "Quito"})
    return uid


def best_time(call, repeat=7):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def test_page_time_does_not_grow_with_the_store():
    """A page from 100,000 stored costs about what it costs from 10,000 (the
    scan read, filtered and sorted every stored submission for each page)."""
    times = {}
    for n in (10_000, 100_000):
        with FakeKobo() as fake:
            uid = seeded(fake, n)
            for name, params in listings(n // 2, n - 1000).items():
                body = data_page(fake, uid, limit=100, fields=["_id", "_uuid"], **params)
                assert body["results"], name
                times[name, n] = best_time(
                    lambda p=params, f=fake, u=uid: data_page(
                        f, u, limit=100, fields=["_id", "_uuid"], **p
                    )
                )
    for name in listings(0, 0):
        ratio = times[name, 100_000] / times[name, 10_000]
        assert ratio < 3, f"{name}: a page from 100,000 takes {ratio:.1f}x one from 10,000"


def random_query(rng, top):
    def some_id():
        return rng.choice([rng.randint(-2, top + 3), rng.randint(1, top)])

    def id_cond():
        kind = rng.random()
        if kind < 0.15:
            return some_id()
        if kind < 0.35:
            return {"$in": [some_id() for _ in range(rng.randint(0, 6))]}
        ops = rng.sample(["$gt", "$gte", "$lt", "$lte", "$in"], rng.randint(1, 3))
        cond = {op: some_id() for op in ops}
        if "$in" in cond:
            cond["$in"] = [some_id() for _ in range(rng.randint(0, 8))]
        if rng.random() < 0.1:  # not an index's: left to matches()
            cond[rng.choice(["$gt", "$ne"])] = rng.choice([2.5, True, "7"])
        return cond

    def term():
        kind = rng.randrange(5)
        if kind == 0:
            return {"_id": id_cond()}
        if kind == 1:
            return {"meta/deprecatedID": {"$exists": rng.choice([True, True, False, 1])}}
        if kind == 2:
            return {"city": rng.choice([*CITIES, {"$in": ["Lima", "Quito"]}, {"$ne": "Paris"}])}
        if kind == 3:
            return {"_submission_time": {"$gte": f"2026-03-01T00:{rng.randrange(60):02d}:00"}}
        return {"$or": [conjunction(depth=1) for _ in range(rng.randint(1, 3))]}

    def conjunction(depth=0):
        query = {}
        for _ in range(rng.randint(0 if depth == 0 else 1, 3)):
            part = term()
            if depth and "$or" in part:
                continue
            query.update(part)
        return query or {"_id": id_cond()}

    return conjunction()


def test_indexed_answers_are_the_scans(monkeypatch):
    """Over random inserts, edits, deletions and queries, each page answered
    from the indexes is the scan's: the same documents, order, count and next."""
    rng = random.Random(23)
    planned = 0
    with FakeKobo() as fake:
        uid = fake.create_asset(xlsform=xlsform("contact"), deploy=True)
        hidden = []
        for _round in range(400):
            action = rng.random()
            ids = [s["_id"] for s in fake.store.assets[uid].submissions]
            if action < 0.4 or not ids:
                minute = rng.randrange(60)  # submission times out of _id order
                fake.add_submission(
                    uid,
                    {"name": "x", "city": rng.choice(CITIES)},
                    submission_time=f"2026-03-01T00:{minute:02d}:00",
                )
            elif action < 0.55:
                fake.edit_submission(uid, rng.choice(ids), {"city": rng.choice(CITIES) or None})
            elif action < 0.65:
                fake.delete_submission(uid, rng.choice(ids))
            elif action < 0.7:
                hidden.append(fake.hide_submission(uid, rng.choice(ids)))
            elif hidden:
                fake.reveal_submission(uid, hidden.pop(rng.randrange(len(hidden))))
            top = fake.store.next_submission_id
            for _ in range(5):
                params = {
                    "query": random_query(rng, top),
                    "limit": rng.choice([1, 2, 5, 1000]),
                    "start": rng.choice([0, 0, 0, 1, 3]),
                }
                if rng.random() < 0.8:
                    params["sort"] = rng.choice([{"_id": 1}, {"_id": 1}, {"_id": -1}])
                asset = fake.store.assets[uid]
                sort = params.get("sort")
                answered = plan.answer(asset, params["query"], sort, params["start"], 1)
                planned += answered is not None
                indexed = data_page(fake, uid, **params)
                with monkeypatch.context() as m:
                    m.setattr(api_data.plan, "answer", lambda *args: None)
                    scanned = data_page(fake, uid, **params)
                assert indexed == scanned, params
            stored = fake.store.assets[uid].submissions
            floor = rng.randint(stored[0]["_id"], top) if stored else 0  # some stored above
            for name, params in listings(rng.randint(0, top), floor).items():
                asset = fake.store.assets[uid]
                assert not stored or plan.answer(asset, params["query"], None, 0, 1), name
                params["limit"] = rng.choice([1, 3, 1000])
                indexed = data_page(fake, uid, **params)
                with monkeypatch.context() as m:
                    m.setattr(api_data.plan, "answer", lambda *args: None)
                    scanned = data_page(fake, uid, **params)
                assert indexed == scanned, name
    assert planned > 1000  # most random queries were answered from the indexes


@pytest.mark.parametrize(
    "query",
    [
        {"_id": {"$in": 5}},
        {"$in": [1]},
        {"city": {"$regex": "("}},
        {"_id": {"$gt": 1}, "$or": []},
        {"_id": {"$gt": 1}, "$or": [{"city": {"$all": "Dakar"}}]},
    ],
)
def test_a_refused_query_is_left_to_the_scan(query):
    """Mongo refuses these (400): the scan answers, never a page from an index."""
    with FakeKobo() as fake:
        uid = seeded(fake, 3)
        assert plan.answer(fake.store.assets[uid], query, None, 0, 10) is None
        assert data_page(fake, uid, status=400, query=query) == ["Unsupported query"]
