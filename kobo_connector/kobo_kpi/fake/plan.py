"""Query planning of ``/data/``: the queries the connector makes are answered
from indexes in time proportional to the page, as KPI's MongoDB answers them
from its ``_id`` index, never by reading the whole store:

- bounds on ``_id`` (``$gt``/``$gte``/``$lt``/``$lte``): a bisect into the
  submissions, kept in ``_id`` order (the keyset pages of the sync and of the
  reconciliation);
- ``_id`` in a list, or equal to one: the dict by ``_id`` (pulls by id);
- ``meta/deprecatedID`` exists: the sorted ``_id``s of the edited submissions,
  and a ``$or`` of plannable branches (the edits listing with its re-read
  window of the newest ones).

The rest of a query is checked on these candidates with :func:`matches`, so
an answer is the scan's (same documents, order, count). ``answer`` returns
``None`` (the scan answers) for another sort, a query it cannot narrow, or
one the scan may refuse (``Unsupported query``).
"""

import re
from bisect import bisect_left, bisect_right
from heapq import merge
from itertools import islice

from .query import matches
from .store import submission_id

BOUNDS = {
    "$gt": (bisect_right, 0),
    "$gte": (bisect_left, 0),
    "$lt": (bisect_left, 1),
    "$lte": (bisect_right, 1),
}
FIELD_OPS = {"$gt", "$gte", "$lt", "$lte", "$ne", "$exists", "$options"}
EDITED = "meta/deprecatedID"


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def answer(asset, query, sort, start, limit):
    """``(page, count)`` of ``query`` sorted by ``sort``, from the indexes;
    ``None`` when the scan must answer."""
    if sort and sort != {"_id": 1}:
        return None
    query = query or {}
    if not _well_formed(query):
        return None
    node = _plan(asset, query, 0, len(asset.submissions))
    if node.broad:
        return None
    return node.page(start, limit), node.count()


def _well_formed(query):
    """Whether no document can make :func:`matches` refuse this query (the
    scan would answer 400 on the first one that reaches the bad part)."""
    if not isinstance(query, dict):
        return False
    for key, cond in query.items():
        if key in ("$and", "$or"):
            if not (isinstance(cond, list) and cond and all(map(_well_formed, cond))):
                return False
        elif key.startswith("$") or not _good_cond(cond):
            return False
    return True


def _good_cond(cond):
    if not (isinstance(cond, dict) and any(k.startswith("$") for k in cond)):
        return True  # equality
    for op, arg in cond.items():
        if op in ("$in", "$nin", "$all"):
            ok = isinstance(arg, list)
        elif op == "$regex":
            ok = isinstance(arg, str) and _compiles(arg)
        elif op == "$not":
            ok = isinstance(arg, dict) and _good_cond(arg)
        elif op == "$elemMatch":
            ok = not isinstance(arg, dict) or _well_formed(arg)
        else:
            ok = op in FIELD_OPS
        if not ok:
            return False
    return True


def _compiles(pattern):
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def _plan(asset, query, lo, hi):
    """The plan of ``query`` among the submissions at positions ``lo:hi``."""
    subs, rest, ids = asset.submissions, dict(query), None
    cond = rest.get("_id")
    if _is_int(cond):
        cond = {"$in": [cond]}
    if isinstance(cond, dict) and cond and all(_index_op(op, arg) for op, arg in cond.items()):
        del rest["_id"]
        for op, arg in cond.items():
            if op == "$in":
                ids = set(arg) if ids is None else ids & set(arg)
                continue
            search, upper = BOUNDS[op]
            position = search(subs, arg, key=submission_id)
            lo, hi = (lo, min(hi, position)) if upper else (max(lo, position), hi)
    hi = max(lo, hi)
    if ids is not None:
        node = _Ids(asset, ids, lo, hi)
    elif _exists(rest.get(EDITED)):
        del rest[EDITED]
        node = _Edited(asset, lo, hi)
    elif isinstance(rest.get("$or"), list):
        node = _Union([_plan(asset, branch, lo, hi) for branch in rest.pop("$or")])
    else:
        node = _Range(subs, lo, hi)
    return _Filter(node, rest) if rest else node


def _index_op(op, arg):
    if op == "$in":
        return isinstance(arg, list) and all(map(_is_int, arg))
    return op in BOUNDS and _is_int(arg)


def _exists(cond):
    return isinstance(cond, dict) and list(cond) == ["$exists"] and bool(cond["$exists"])


class _Node:
    """Candidates of a plan: ``docs()`` in ``_id`` order, each a match."""

    sized = True  # ``size`` is known without reading the documents
    broad = False  # reads the whole store (the scan does as well)
    size = 0

    def page(self, start, limit):
        return list(islice(self.docs(), start, start + limit))

    def count(self):
        return self.size


class _Range(_Node):
    """Every submission at positions ``lo:hi``."""

    def __init__(self, subs, lo, hi):
        self.subs, self.lo, self.hi, self.size = subs, lo, hi, hi - lo
        self.full = lo == 0 and hi == len(subs)

    def docs(self):
        return (self.subs[i] for i in range(self.lo, self.hi))

    def page(self, start, limit):
        return self.subs[self.lo + start : min(self.lo + start + limit, self.hi)]

    def has(self, doc):
        return self.lo < self.hi and (
            submission_id(self.subs[self.lo]) <= doc["_id"] <= submission_id(self.subs[self.hi - 1])
        )


class _Ids(_Node):
    """The submissions with these ``_id``s, among positions ``lo:hi``."""

    def __init__(self, asset, ids, lo, hi):
        within = _Range(asset.submissions, lo, hi).has
        self.found = [asset.by_id[i] for i in sorted(ids) if i in asset.by_id]
        self.found = [doc for doc in self.found if within(doc)]
        self.ids, self.size = {doc["_id"] for doc in self.found}, len(self.found)

    def docs(self):
        return iter(self.found)

    def page(self, start, limit):
        return self.found[start : start + limit]

    def has(self, doc):
        return doc["_id"] in self.ids


class _Edited(_Node):
    """The edited submissions (``meta/deprecatedID``) at positions ``lo:hi``."""

    def __init__(self, asset, lo, hi):
        self.by_id, self.ids = asset.by_id, asset.edited
        self.within = _Range(asset.submissions, lo, hi).has
        self.first = self.last = 0
        if lo < hi:
            self.first = bisect_left(self.ids, submission_id(asset.submissions[lo]))
            self.last = bisect_right(self.ids, submission_id(asset.submissions[hi - 1]))
        self.size = self.last - self.first

    def docs(self):
        return (self.by_id[self.ids[i]] for i in range(self.first, self.last))

    def has(self, doc):
        return EDITED in doc and self.within(doc)


class _Filter(_Node):
    """The candidates of ``node`` that match ``query`` as well."""

    sized = False

    def __init__(self, node, query):
        self.node, self.query = node, query
        self.broad = node.broad or getattr(node, "full", False)

    def docs(self):
        return (doc for doc in self.node.docs() if matches(doc, self.query))

    def count(self):
        return sum(1 for _doc in self.docs())

    def has(self, doc):
        return self.node.has(doc) and matches(doc, self.query)


class _Union(_Node):
    """``$or``: the branches' candidates merged in ``_id`` order, once each."""

    sized = False

    def __init__(self, branches):
        # a branch whose size is known is counted first, without reading it
        self.branches = sorted(branches, key=lambda node: not node.sized)
        self.broad = any(node.broad for node in branches)

    def docs(self):
        last = None
        for doc in merge(*(node.docs() for node in self.branches), key=submission_id):
            if doc["_id"] != last:
                last = doc["_id"]
                yield doc

    def count(self):
        total = 0
        for i, node in enumerate(self.branches):
            if i == 0:
                total += node.count()
                continue
            earlier = self.branches[:i]
            total += sum(1 for doc in node.docs() if not any(e.has(doc) for e in earlier))
        return total

    def has(self, doc):
        return any(node.has(doc) for node in self.branches)
