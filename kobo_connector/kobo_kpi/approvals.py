"""Reading KoBo's validation status changes, keyset-paged.

KPI stamps ``_validation_status.timestamp`` (whole seconds, one second for a
whole bulk change) on every status change and has no index on it; a
``/data/`` query with ``$gt`` on it works, and a cleared status (``{}``)
is seen by no such query. Pages go on (timestamp, ``_id``): "a later second,
or the same second and a larger ``_id``", so a bulk approval of thousands
in one second is read whole, one request per page."""

TIMESTAMP = "_validation_status.timestamp"


def changes_query(ts, kobo_id, limit):
    """The ``/data/`` parameters of the status changes after (ts, kobo_id)."""
    return {
        "query": {"$or": [{TIMESTAMP: {"$gt": ts}}, {TIMESTAMP: ts, "_id": {"$gt": kobo_id}}]},
        "sort": {TIMESTAMP: 1, "_id": 1},
        "limit": limit,
    }


def change_key(sub):
    """(timestamp, _id) of a listed submission, or None."""
    status = sub.get("_validation_status")
    ts = status.get("timestamp") if isinstance(status, dict) else None
    kobo_id = sub.get("_id")
    if isinstance(ts, int) and isinstance(kobo_id, int) and not isinstance(ts, bool):
        return ts, kobo_id
    return None
