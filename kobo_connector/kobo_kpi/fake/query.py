"""The subset of MongoDB query semantics KPI's ``/data/`` endpoint exposes.

Only KPI's whitelisted operators work; any other ``$op`` (``$eq``, ``$size``…)
is escaped by KPI and therefore matches nothing. Values compare like Mongo:
numbers with numbers, strings with strings, never across types (so
``{"age": {"$gt": 30}}`` matches nothing: answers are strings).
"""

import re

ALLOWED = {
    "$or",
    "$and",
    "$in",
    "$nin",
    "$not",
    "$exists",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$regex",
    "$options",
    "$all",
    "$elemMatch",
    "$ne",
}
_MISSING = object()


class UnsupportedQuery(ValueError):
    """Mongo would reject the query: KPI answers 400 ``["Unsupported query"]``."""


def matches(doc, query):
    if not isinstance(query, dict):
        raise UnsupportedQuery(query)
    for key, cond in query.items():
        if key == "$and" or key == "$or":
            if not isinstance(cond, list) or not cond:
                raise UnsupportedQuery(key)
            results = (matches(doc, sub) for sub in cond)
            if not (all(results) if key == "$and" else any(results)):
                return False
        elif key.startswith("$"):
            if key not in ALLOWED:
                return False
            raise UnsupportedQuery(key)
        elif not _field_matches(_lookup(doc, key), cond):
            return False
    return True


def _lookup(doc, key):
    if key in doc:
        return doc[key]
    head, dot, rest = key.partition(".")
    if dot and isinstance(doc.get(head), dict):
        return _lookup(doc[head], rest)
    return _MISSING


def _field_matches(value, cond):
    if isinstance(cond, dict) and any(k.startswith("$") for k in cond):
        return all(_operator(value, op, arg, cond) for op, arg in cond.items())
    return _equals(value, cond)


def _equals(value, target):
    if value is _MISSING:
        return target is None
    if isinstance(value, list) and not isinstance(target, list):
        return any(_same(v, target) for v in value)
    return _same(value, target)


def _same(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if _is_num(a) and _is_num(b):
        return a == b
    return type(a) is type(b) and a == b


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _compare(value, arg, op):
    values = value if isinstance(value, list) else [value]
    for v in values:
        if v is _MISSING or v is None:
            continue
        if (_is_num(v) and _is_num(arg)) or (isinstance(v, str) and isinstance(arg, str)):
            if op(v, arg):
                return True
    return False


_CMP = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


def _operator(value, op, arg, cond):
    if op not in ALLOWED:
        return False  # KPI escapes it: the field name no longer exists
    if op in _CMP:
        return _compare(value, arg, _CMP[op])
    if op == "$ne":
        return not _equals(value, arg)
    if op in ("$in", "$nin"):
        if not isinstance(arg, list):
            raise UnsupportedQuery(op)
        found = any(_equals(value, a) for a in arg)
        return found if op == "$in" else not found
    if op == "$exists":
        return (value is not _MISSING) == bool(arg)
    if op == "$regex":
        if not isinstance(arg, str):
            raise UnsupportedQuery(op)
        flags = re.I if "i" in str(cond.get("$options", "")) else 0
        try:
            pattern = re.compile(arg, flags)
        except re.error as exc:
            raise UnsupportedQuery(op) from exc
        values = value if isinstance(value, list) else [value]
        return any(isinstance(v, str) and pattern.search(v) for v in values)
    if op == "$options":
        return True
    if op == "$not":
        if not isinstance(arg, dict):
            raise UnsupportedQuery(op)
        return not _field_matches(value, arg)
    if op == "$all":
        if not isinstance(arg, list):
            raise UnsupportedQuery(op)
        return all(_equals(value, a) for a in arg)
    if op == "$elemMatch":
        if not isinstance(value, list) or not isinstance(arg, dict):
            return False
        return any(isinstance(v, dict) and matches(v, arg) for v in value)
    raise UnsupportedQuery(op)


def sort_key(fields):
    """Key function for a Mongo ``sort`` dict (first field only is ordered by
    direction; use :func:`sort_docs` for several)."""

    def rank(value):
        if value is _MISSING or value is None:
            return (0, 0)
        if _is_num(value):
            return (1, value)
        if isinstance(value, str):
            return (2, value)
        return (3, str(value))

    return lambda doc: tuple(rank(_lookup(doc, f)) for f in fields)


def sort_docs(docs, sort):
    """Stable multi-key sort, like Mongo's ``sort`` (``{"field": 1|-1}``)."""
    docs = list(docs)
    for field, direction in reversed(list(sort.items())):
        try:
            reverse = int(direction) < 0
        except (TypeError, ValueError) as exc:
            raise UnsupportedQuery(field) from exc
        docs.sort(key=sort_key([field]), reverse=reverse)
    return docs
