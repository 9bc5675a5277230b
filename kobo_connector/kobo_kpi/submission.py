"""Reading KPI submissions and converting their answers for Odoo fields.

A submission is a flat dict keyed by XPath (``"hh/name"``); a repeat is a
list of dicts keyed by the children's full paths; answers are strings.
:class:`SubmissionRef` reads the identity and system fields,
:func:`get_value` / :func:`iter_repeat` read answers, and
:func:`make_converter` builds, once per mapped field, a cheap function that
turns an answer into the value Odoo's ``create``/``write`` expects. Relations
and files come back as markers (:class:`Lookup`, :class:`Lines`,
:class:`FileRef`) that the ORM layer resolves. Pure Python, no Odoo.

Time rules (Odoo stores naive UTC datetimes):

* a value with an offset (``2026-08-20T13:51:00.000+02:00``, ``...Z``) is an
  instant: datetime fields get it in UTC; date fields get its date *as written*
  (the local date of whoever filled the form), whatever ``tz``;
* a naive date-time (``_submission_time``) is UTC: datetime fields keep it,
  date fields get its date in ``tz`` (UTC when no ``tz``);
* a bare date into a datetime field is midnight in ``tz`` (UTC when no ``tz``).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo

INT_MAX = 2**31 - 1  # Odoo integer fields are PostgreSQL int4

TRUE_WORDS = frozenset({"1", "true", "yes", "y", "oui", "si", "sí", "ja", "vrai", "ok", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "non", "nein", "faux", "off"})

# English reasons; ``ConversionError.code`` lets the Odoo layer use its own translations.
REASONS = {
    "required": "a value is required",
    "not_integer": "not a whole number",
    "integer_range": "too large for an integer field",
    "not_number": "not a number",
    "not_boolean": "not a yes/no value",
    "not_date": "not a date (expected YYYY-MM-DD)",
    "not_datetime": "not a date and time",
    "not_selection": "not one of the allowed values: %(allowed)s",
    "several": "several values where one is expected",
    "not_repeat": "only a repeat group can fill this field",
    "repeat": "a repeat group cannot be stored in this field",
    "not_geopoint": 'not a geopoint (expected "latitude longitude altitude accuracy")',
    "geo_part": "choose which part of the geopoint to store "
    "(latitude, longitude, altitude or accuracy)",
    "unsupported": "fields of this type cannot be filled from KoBo",
    "not_mapped": "the value map gives %(value)r, not one of the allowed values: %(allowed)s",
    "lookup_field": "records are looked up by %(by)s: not a field of %(model)s",
}


class ConversionError(ValueError):
    """An answer that does not fit its target field. The parts stay separate
    (``question_path``, ``value``, ``field_name``, ``field_type``, ``code``,
    ``params``) so the Odoo layer can render the message in the user's
    language; ``str()`` is the English message. ``question_path`` may be
    filled in after the fact by a caller that knows it."""

    def __init__(
        self, question_path, value, field_name, reason, *, field_type="", code="", params=None
    ):
        super().__init__(reason)
        self.question_path = question_path or ""
        self.value = value
        self.field_name = field_name
        self.field_type = field_type
        self.reason = reason
        self.code = code
        self.params = params or {}

    def __str__(self):
        where = f'Question "{self.question_path}": ' if self.question_path else ""
        ftype = f" ({self.field_type})" if self.field_type else ""
        if self.value is None:
            return f'{where}field "{self.field_name}"{ftype}: {self.reason}.'
        shown = self.value if isinstance(self.value, str) else repr(self.value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        return (
            f'{where}value "{shown}" cannot be stored in field "{self.field_name}"{ftype}: '
            f"{self.reason}."
        )


class _Fail(Exception):
    """Internal: a converter core refusing a value; becomes a ConversionError."""

    def __init__(self, code, **params):
        super().__init__(code)
        self.code = code
        self.params = params


# ---------------------------------------------------------------------------
# Submission identity and access


def bare_uuid(value):
    """``"uuid:3d7b…"`` -> ``"3d7b…"`` (unchanged without the prefix)."""
    return value[5:] if value and value.startswith("uuid:") else value or ""


@dataclass(slots=True)
class Attachment:
    uid: str
    question_xpath: str
    basename: str
    filename: str
    mimetype: str
    download_url: str
    is_deleted: bool = False

    @classmethod
    def from_json(cls, att):
        filename = att.get("filename") or ""
        uid = att.get("uid") or att.get("id")  # ``id`` before KPI 2.025.34
        return cls(
            uid=str(uid) if uid is not None else "",
            question_xpath=att.get("question_xpath") or "",
            basename=att.get("media_file_basename") or filename.rsplit("/", 1)[-1],
            filename=filename,
            mimetype=att.get("mimetype") or "",
            download_url=att.get("download_url") or "",
            is_deleted=bool(att.get("is_deleted")),
        )


@dataclass(slots=True)
class SubmissionRef:
    """Identity and system fields of one submission.

    ``kobo_id`` (``_id``) is THE key: stable across edits. ``root_uuid`` is
    KoBo's ``meta/rootUuid`` kept verbatim (``"uuid:…"`` prefix included, as
    KoBo returns it and as the ``/data/<root uuid>/`` routes accept it); on
    servers older than ~2.025 that lack it, it falls back to
    ``meta/instanceID`` and then to ``"uuid:" + _uuid`` - for an already
    edited submission on such a server that is NOT the first version's uuid,
    so never key on it. ``uuid`` (``_uuid``, no prefix) changes on every edit.
    """

    kobo_id: int
    uuid: str
    root_uuid: str
    instance_id: str
    deprecated_id: str
    submission_time: datetime | None
    submitted_by: str
    version: str
    validation_status: str
    attachments: list[Attachment] = field(default_factory=list)

    @classmethod
    def from_json(cls, sub):
        uuid = sub.get("_uuid") or ""
        instance_id = sub.get("meta/instanceID") or (f"uuid:{uuid}" if uuid else "")
        status = sub.get("_validation_status")
        stime = sub.get("_submission_time")
        if sub.get("_id") is None:
            raise ValueError("not a KoBo submission: no _id")
        return cls(
            kobo_id=int(sub["_id"]),
            uuid=uuid or bare_uuid(instance_id),
            root_uuid=sub.get("meta/rootUuid") or instance_id,
            instance_id=instance_id,
            deprecated_id=sub.get("meta/deprecatedID") or "",
            submission_time=to_utc_naive(parse_datetime(stime)) if stime else None,
            submitted_by=sub.get("_submitted_by") or "",
            version=sub.get("__version__") or "",
            validation_status=(status.get("uid") or "") if isinstance(status, dict) else "",
            attachments=[
                Attachment.from_json(a)
                for a in sub.get("_attachments") or ()
                if isinstance(a, dict)
            ],
        )

    @property
    def is_edited(self):
        return bool(self.deprecated_id)

    def find_attachment(self, basename, question_xpath=None):
        """The live attachment of an answer (its file name), preferring one
        recorded for ``question_xpath``; None when absent or deleted."""
        found = None
        for att in self.attachments:
            if att.basename == basename and not att.is_deleted:
                if not question_xpath or att.question_xpath == question_xpath:
                    return att
                found = found or att
        return found


def get_value(sub, xpath):
    """The answer at ``xpath`` in a submission or in one repeat item (keys
    are full paths in both), or None when unanswered."""
    return sub.get(xpath)


def location(sub, xpath=None):
    """(latitude, longitude) of a submission, or (None, None): the geopoint
    answer at ``xpath`` (``"lat lon alt acc"``), or KoBo's ``_geolocation``
    (``[lat, lon]``, its first geopoint) when no question is chosen."""
    if xpath:
        parts = sub.get(xpath).split() if isinstance(sub.get(xpath), str) else ()
    else:
        parts = sub.get("_geolocation")
        parts = parts if isinstance(parts, list) else ()
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except (TypeError, ValueError, IndexError):
        return None, None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return lat, lon


def iter_repeat(sub, repeat_xpath):
    """The items (dicts) of the repeat at ``repeat_xpath``. ``sub`` is a
    submission or an item of an enclosing repeat; given a submission and a
    nested repeat's path, the items of all outer items are chained."""
    items = sub.get(repeat_xpath)
    if items is None:
        parts = repeat_xpath.split("/")
        for cut in range(len(parts) - 1, 0, -1):
            outer = sub.get("/".join(parts[:cut]))
            if isinstance(outer, list):
                return [
                    i for o in outer if isinstance(o, dict) for i in iter_repeat(o, repeat_xpath)
                ]
        return []
    if isinstance(items, dict):
        return [items]
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


# ---------------------------------------------------------------------------
# Values


@dataclass(slots=True, frozen=True)
class GeoPoint:
    lat: float
    lon: float
    alt: float | None = None
    acc: float | None = None

    @classmethod
    def parse(cls, value):
        """From KoBo's ``"lat lon alt acc"`` (alt/acc optional); ValueError if not."""
        parts = value.split()
        if not 2 <= len(parts) <= 4:
            raise ValueError(value)
        nums = [float(p) for p in parts]
        if not all(map(math.isfinite, nums)) or abs(nums[0]) > 90 or abs(nums[1]) > 180:
            raise ValueError(value)
        return cls(*nums)

    def as_text(self):
        """``"lat, lon"`` (the form map sites and Odoo users paste)."""
        return f"{self.lat!r}, {self.lon!r}"

    def part(self, name):
        return getattr(self, GEO_PARTS[name])


GEO_PARTS = {
    "lat": "lat",
    "latitude": "lat",
    "lon": "lon",
    "lng": "lon",
    "long": "lon",
    "longitude": "lon",
    "alt": "alt",
    "altitude": "alt",
    "acc": "acc",
    "accuracy": "acc",
}


def geo_part_of(field_name):
    """The part of a geopoint a float field named ``field_name`` takes, from
    its last word that names one (``partner_latitude`` -> ``"lat"``,
    ``x_gps_lng`` -> ``"lon"``); None when no word does."""
    tokens = (field_name or "").lower().split("_")
    return next((GEO_PARTS[t] for t in reversed(tokens) if t in GEO_PARTS), None)


@dataclass(slots=True)
class Lookup:
    """Records of ``model`` to find by name (many2one: one name; many2many:
    the names, e.g. the choices of a select_multiple). ``by``: the field of
    ``model`` to find them by instead of the name (``"xmlid"``: an XML id);
    ``create``: create the missing ones, named after the answer; ``ids``:
    records a value map gave for the other choices."""

    model: str
    names: list[str]
    many: bool = False
    question_path: str = ""
    by: str = ""
    create: bool = False
    ids: list[int] = field(default_factory=list)  # records already known (value map)


@dataclass(slots=True)
class Lines:
    """One2many lines of ``model`` to build from repeat ``items`` (dicts)."""

    model: str
    items: list[dict]


@dataclass(slots=True)
class FileRef:
    """A media answer (file name) whose content is in the submission's attachments."""

    filename: str
    question_path: str = ""


def _fix_iso(text):
    """Rewrite what ``fromisoformat`` of Python 3.10 refuses (``Z``, offsets
    without colon, 1-9 digit fractions) into its accepted form."""
    if text[-1:] in "Zz":
        text = text[:-1] + "+00:00"
    tail = ""
    for sign in "+-":
        pos = text.rfind(sign)
        if pos > 10:  # an offset, not a date's dash
            text, tail = text[:pos], text[pos:]
            break
    if len(tail) == 5 and ":" not in tail:
        tail = tail[:3] + ":" + tail[3:]
    if "." in text:
        head, frac = text.rsplit(".", 1)
        text = f"{head}.{(frac + '000000')[:6]}"
    return text + tail


def parse_datetime(text):
    """A KoBo date-time string -> datetime (aware when it has an offset)."""
    text = text.strip()
    if text[-1:] in "Zz":
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return datetime.fromisoformat(_fix_iso(text))


def to_utc_naive(dt):
    return dt.astimezone(timezone.utc).replace(tzinfo=None) if dt.tzinfo else dt


def parse_time_hours(text):
    """``"13:51:00.000+02:00"`` -> 13.85 (hours, as written; for float_time fields)."""
    clock = text.strip()
    for sign in "+-Z":
        clock = clock.split(sign, 1)[0]
    parts = [float(p) for p in clock.split(":")]
    if not 2 <= len(parts) <= 3 or not 0 <= parts[0] < 24 or not 0 <= parts[1] < 60:
        raise ValueError(text)
    return parts[0] + parts[1] / 60 + (parts[2] / 3600 if len(parts) == 3 else 0)


def _as_tz(tz):
    if tz is None or isinstance(tz, tzinfo):
        return tz
    from zoneinfo import ZoneInfo  # stdlib; only when a name is given

    return ZoneInfo(tz)


# ---------------------------------------------------------------------------
# Field specs and converters


@dataclass(slots=True)
class FieldSpec:
    """What a converter needs to know about a target Odoo field."""

    name: str
    type: str
    string: str = ""
    selection: list[tuple[str, str]] | None = None
    relation: str | None = None
    required: bool = False
    digits: tuple[int, int] | None = None

    @classmethod
    def from_fields_get(cls, name, desc):
        """From one entry of Odoo's ``fields_get()`` (a plain dict)."""
        digits = desc.get("digits")
        return cls(
            name=name,
            type=desc["type"],
            string=desc.get("string") or name,
            selection=[tuple(s) for s in desc["selection"]] if desc.get("selection") else None,
            relation=desc.get("relation") or None,
            required=bool(desc.get("required")),
            digits=tuple(digits) if isinstance(digits, (list, tuple)) else None,
        )

    @property
    def label(self):
        return self.string or self.name


def _char(spec, qtype, tz, geo_part):
    if qtype == "geopoint":

        def conv(v):
            try:
                return GeoPoint.parse(v).as_text()
            except ValueError:
                return v.strip()

        return conv
    return str.strip if spec.type == "char" else (lambda v: v)


def _html(spec, qtype, tz, geo_part):
    return lambda v: "<p>" + html.escape(v.strip()).replace("\n", "<br>") + "</p>"


def _integer(spec, qtype, tz, geo_part):
    def conv(v):
        try:
            n = int(v)
        except ValueError:
            try:
                f = float(v)
            except ValueError:
                raise _Fail("not_integer") from None
            if not f.is_integer():  # also False for inf / nan
                raise _Fail("not_integer") from None
            n = int(f)
        if -INT_MAX - 1 <= n <= INT_MAX:
            return n
        raise _Fail("integer_range")

    return conv


def _float(spec, qtype, tz, geo_part):
    if qtype == "geopoint":
        part = GEO_PARTS.get(geo_part or "") or geo_part_of(spec.name)
        if not part:
            raise _Fail("geo_part")

        def conv(v):
            try:
                x = getattr(GeoPoint.parse(v), part)
            except ValueError:
                raise _Fail("not_geopoint") from None
            return False if x is None else x

        return conv
    ndigits = spec.digits[1] if spec.digits else None

    def conv(v):
        try:
            f = float(v)
        except ValueError:
            if ":" not in v:
                raise _Fail("not_number") from None
            try:  # a time answer into a float_time field
                return parse_time_hours(v)
            except ValueError:
                raise _Fail("not_number") from None
        if not math.isfinite(f):
            raise _Fail("not_number")
        return round(f, ndigits) if ndigits is not None else f

    return conv


def _boolean(spec, qtype, tz, geo_part):
    def conv(v):
        word = v.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise _Fail("not_boolean")

    return conv


def _date(spec, qtype, tz, geo_part):
    def conv(v):
        v = v.strip()
        try:
            if len(v) == 10:
                return date.fromisoformat(v)
            dt = parse_datetime(v)
        except ValueError:
            raise _Fail("not_date") from None
        if dt.tzinfo is None and tz is not None:  # naive = UTC (``_submission_time``)
            dt = dt.replace(tzinfo=timezone.utc).astimezone(tz)
        return dt.date()

    return conv


def _datetime(spec, qtype, tz, geo_part):
    def conv(v):
        v = v.strip()
        try:
            if len(v) == 10:
                dt = datetime.fromisoformat(v)  # midnight, in tz
                if tz is not None:
                    dt = dt.replace(tzinfo=tz)
            else:
                dt = parse_datetime(v)
        except ValueError:
            raise _Fail("not_datetime") from None
        return to_utc_naive(dt).replace(microsecond=0)

    return conv


def _selection(spec, qtype, tz, geo_part):
    codes = [code for code, _label in spec.selection or ()]
    exact = {str(code): code for code in codes}
    folded = {str(code).casefold(): code for code in codes}
    for code, label in spec.selection or ():
        folded.setdefault(str(label).strip().casefold(), code)
    shown = ", ".join(map(str, codes[:20])) + (", ..." if len(codes) > 20 else "")

    def conv(v):
        if v in exact:
            return exact[v]
        code = folded.get(v.strip().casefold(), folded)
        if code is folded:
            raise _Fail("not_selection", allowed=shown)
        return code

    return conv


def _many2one(spec, qtype, tz, geo_part):
    model = spec.relation or ""
    multiple = qtype in ("select_multiple", "select_multiple_from_file")

    def conv(v):
        if multiple and len(v.split()) > 1:
            raise _Fail("several")
        return Lookup(model, [v.strip()])

    return conv


def _many2many(spec, qtype, tz, geo_part):
    model = spec.relation or ""
    if qtype in ("select_multiple", "select_multiple_from_file", "rank"):
        return lambda v: Lookup(model, list(dict.fromkeys(v.split())), many=True)
    return lambda v: Lookup(model, [v.strip()], many=True)


def _one2many(spec, qtype, tz, geo_part):
    model = spec.relation or ""
    return lambda items: Lines(model, [i for i in items if isinstance(i, dict)])


def _file(spec, qtype, tz, geo_part):
    return lambda v: FileRef(v.strip())


_BUILDERS = {
    "char": _char,
    "text": _char,
    "html": _html,
    "integer": _integer,
    "float": _float,
    "monetary": _float,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "selection": _selection,
    "many2one": _many2one,
    "many2many": _many2many,
    "one2many": _one2many,
    "binary": _file,
    "image": _file,
}
SUPPORTED_TYPES = frozenset(_BUILDERS)


def _error(path, value, spec, code, params=None):
    params = params or {}
    return ConversionError(
        path,
        value,
        spec.label,
        REASONS[code] % params if params else REASONS[code],
        field_type=spec.type,
        code=code,
        params=params,
    )


def make_converter(spec, question_type=None, *, tz=None, question_path="", geo_part=None):
    """Build once, call per answer: ``conv(value)`` -> the value to write in
    the field described by ``spec`` (``False`` when unanswered), or raises
    :class:`ConversionError`. ``question_type`` is the KoBo type of the
    source question (it matters for geopoint, select_multiple). ``tz`` (a
    tzinfo or a zone name) is the zone of naive local values; see the module
    doc. ``geo_part`` picks what a geopoint gives a float field (latitude,
    longitude, altitude, accuracy); by default it is guessed from the field
    name (``partner_latitude``). A field that cannot be filled (unsupported
    type, geopoint part unknown) raises at build time, with ``value`` None."""
    build = _BUILDERS.get(spec.type)
    if build is None:
        raise _error(question_path, None, spec, "unsupported")
    try:
        core = build(spec, question_type, _as_tz(tz), geo_part)
    except _Fail as fail:
        raise _error(question_path, None, spec, fail.code, fail.params) from None
    required = spec.required
    wants_list = spec.type == "one2many"
    file_field = build is _file

    def _convert(value):
        if value is None or value == "" or value == []:
            if required:
                raise _error(question_path, None, spec, "required")
            return False
        if value.__class__ is not str:
            if isinstance(value, (list, dict)):
                if not wants_list:
                    raise _error(question_path, value, spec, "repeat")
                value = [value] if isinstance(value, dict) else value
            else:
                value = str(value)  # _id and other non-string system fields
        elif wants_list:
            raise _error(question_path, value, spec, "not_repeat")
        elif value.isspace():
            if required:
                raise _error(question_path, None, spec, "required")
            return False
        try:
            result = core(value)
        except _Fail as fail:
            raise _error(question_path, value, spec, fail.code, fail.params) from None
        if file_field or result.__class__ is Lookup:
            result.question_path = question_path
        return result

    return _convert


def convert(value, spec, *, question_type=None, tz=None, question_path="", geo_part=None):
    """One-off conversion; for many values build a converter once with
    :func:`make_converter`."""
    return make_converter(
        spec, question_type, tz=tz, question_path=question_path, geo_part=geo_part
    )(value)


# ---------------------------------------------------------------------------
# Value maps and lookup fields (wrap a converter built by make_converter)


def with_lookup(convert, spec, *, by="", create=False, fields=None):
    """A converter whose relation answers are looked up by the field ``by``
    of the comodel (``""``: its name; ``"xmlid"``: an XML id) and, with
    ``create``, created when missing. ``fields``: the comodel's field names,
    to refuse an unknown ``by`` at build time."""
    if by and by != "xmlid" and fields is not None and by not in fields:
        raise _error("", None, spec, "lookup_field", {"by": by, "model": spec.relation})
    if not by and not create:
        return convert

    def conv(value):
        result = convert(value)
        if result.__class__ is Lookup:
            result.by = by
            result.create = create
        return result

    return conv


def with_value_map(convert, spec, table, *, question_type=None, question_path=""):
    """A converter where the choices found in ``table`` ({choice name:
    value}) give their mapped value - a selection code, a text, a number or,
    for relations, a record id - and the others go through ``convert``.
    A selection value not allowed by the field is refused at build time."""
    if not table:
        return convert
    if spec.type == "selection":
        allowed = {str(code): code for code, _label in spec.selection or ()}
        for value in table.values():
            if str(value) not in allowed:
                shown = ", ".join(allowed)
                raise _error(
                    question_path, None, spec, "not_mapped", {"value": value, "allowed": shown}
                )
        table = {choice: allowed[str(value)] for choice, value in table.items()}
    multiple = question_type in ("select_multiple", "select_multiple_from_file")
    relation = spec.type in ("many2one", "many2many")

    def conv(value):
        if value.__class__ is not str:
            return convert(value)
        choices = value.split() if multiple else [value.strip()]
        if not choices or any(c not in table for c in choices):
            if multiple and relation and any(c in table for c in choices):
                # mapped ones by id, the others by the converter's lookup
                rest = convert(" ".join(c for c in choices if c not in table))
                rest.ids = [table[c] for c in choices if c in table]
                return rest
            return convert(value)
        if spec.type == "many2many":
            return [(6, 0, [table[c] for c in choices])]
        if multiple and len(choices) > 1:
            raise _error(question_path, value, spec, "several")
        return table[choices[0]]

    return conv


def _fold(text):
    return " ".join(str(text or "").split()).casefold()


def suggest_value_map(choices, targets, language=None):
    """Pre-fill a value map: ``choices`` [(name, {language: label})],
    ``targets`` [(value, label)] (selection codes, or record ids and names).
    A choice takes the target whose value or label equals its name, or its
    label in ``language`` (any language when None). Returns {name: value}."""
    by_key = {}
    for value, label in targets:
        by_key.setdefault(_fold(value), value)
        by_key.setdefault(_fold(label), value)
    result = {}
    for name, labels in choices:
        if language is not None:
            texts = [labels.get(language)]
        else:
            texts = list(labels.values())
        for text in (name, *texts):
            if text and _fold(text) in by_key:
                result[name] = by_key[_fold(text)]
                break
    return result
