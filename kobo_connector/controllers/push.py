"""The receiver of KoBo REST Services (one URL per form, with its secret).

KoBo posts each new submission once, as JSON, with no Odoo session; it
retries only on 502/503/504 and read timeouts (30 s). The body is a
trigger, not the truth: anyone holding the URL could post made-up answers,
so only ``_id`` is taken from it and recorded as pending; the import cron
reads the submission from KoBo with the server's token and maps it through
the pull path (same lock, isolation, outcome states and import user).

Answers: 202 recorded (``deferred`` when the form cannot be imported now:
the scheduled sync brings it later), 200 already stored, 403 wrong or missing secret
(nothing stored), 400 malformed body, 410 form archived in Odoo, 413 body
too large, 503 with ``Retry-After`` when the push cannot be recorded now
(KoBo retries it): a concurrent transaction is tried again here, in a
transaction of the receiver's own, never left to Odoo's retry of the whole
request (which would read the consumed body again); a valid push is never
answered 400 or 500.

Database: a POST from KoBo carries no session, so Odoo serves it only when
it can pick the database alone: one database, or a ``dbfilter`` (e.g.
``--db-filter=^%d$`` with one host name per database).
"""

import json
import logging
import random
import time

import psycopg2
from psycopg2 import errorcodes
from werkzeug.exceptions import RequestEntityTooLarge

from odoo import http
from odoo.http import request
from odoo.tools import mute_logger

_logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_KB = 1024
RECORD_TRIES = 5
CONCURRENT = (
    errorcodes.SERIALIZATION_FAILURE,
    errorcodes.DEADLOCK_DETECTED,
    errorcodes.LOCK_NOT_AVAILABLE,
)


def _answer(code, **body):
    headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
    if code == 503:
        headers.append(("Retry-After", "60"))
    return request.make_response(json.dumps(body), headers=headers, status=code)


def _kobo_id(body):
    """The submission's integer ``_id`` from a push body, or None."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    value = data.get("_id")
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and 0 < value < 2**31 else None


def _read_at_most(stream, limit):
    """At most ``limit`` bytes of ``stream`` (a chunked body arrives in
    pieces: read until the limit or the end)."""
    chunks, size = [], 0
    while size < limit:
        chunk = stream.read(min(64 * 1024, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class KoboPushController(http.Controller):
    @http.route(
        ["/kobo/push/<int:form_id>", "/kobo/push/<int:form_id>/<string:secret>"],
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def kobo_push(self, form_id, secret=None, **_kw):
        # sudo: KoBo's POST carries no Odoo user; the secret in the URL is the credential
        env = request.env(su=True)
        form = env["kobo.form"].with_context(active_test=False).browse(form_id).exists()
        if not form._check_push_secret(secret):
            _logger.info("KoBo push refused for form id %s: wrong or missing secret", form_id)
            return _answer(403, error="forbidden")
        if not form.active:
            return _answer(410, error="This form is archived in Odoo: pushes are not accepted.")
        max_bytes = self._max_body_bytes(env)
        length = request.httprequest.content_length
        if length is not None and length > max_bytes:
            return _answer(413, error=f"The body is larger than {max_bytes} bytes.")
        try:
            # Odoo's request wrapper does not expose werkzeug's stream; the body is read
            # from it directly, at most limit + 1 bytes (a chunked body has no length)
            stream = request.httprequest._HTTPRequest__wrapped.stream
            body = _read_at_most(stream, max_bytes + 1)
        except RequestEntityTooLarge:
            body = None
        if body is None or len(body) > max_bytes:  # a chunked body has no Content-Length
            return _answer(413, error=f"The body is larger than {max_bytes} bytes.")
        kobo_id = _kobo_id(body)
        if kobo_id is None:
            return _answer(400, error="Expected a KoBo submission as JSON, with its _id.")
        if not form.filtered_domain(form._importable_domain()):
            # no mapping enabled, server disconnected...: the scheduled sync
            # brings it once the form can be imported (nothing left pending)
            return _answer(202, status="deferred", id=kobo_id)
        try:
            recorded = self._record(env, form.id, kobo_id)
        except psycopg2.Error as exc:
            _logger.warning("KoBo push for form %s could not be recorded: %s", form.id, exc.pgcode)
            return _answer(503, error="The push could not be recorded: KoBo will retry.")
        if not recorded:
            return _answer(200, status="known", id=kobo_id)
        return _answer(202, status="recorded", id=kobo_id)

    @staticmethod
    def _record(env, form_id, kobo_id):
        """Record the push in a transaction of its own, tried again here
        when a concurrent one (a duplicate push, the import) gets in the way:
        never by Odoo's retry of the whole request, which would read the
        body again, already consumed (a 400 KoBo never re-sends)."""
        for attempt in range(RECORD_TRIES):
            try:
                # a conflict is expected under load and handled here: not an ERROR
                with mute_logger("odoo.sql_db"), env.registry.cursor() as cr:
                    return env(cr=cr)["kobo.pending.push"]._record(form_id, kobo_id)
            except psycopg2.Error as exc:
                if exc.pgcode not in CONCURRENT or attempt == RECORD_TRIES - 1:
                    raise
                time.sleep(random.uniform(0, 0.05 * 2**attempt))

    @staticmethod
    def _max_body_bytes(env):
        value = env["ir.config_parameter"].get_param("kobo_connector.push_max_body_kb")
        try:
            return int(value) * 1024
        except (TypeError, ValueError):
            return DEFAULT_MAX_BODY_KB * 1024
