"""State of the fake KPI: users, assets and their versions, deployments,
permission assignments, submissions, attachments, hooks, import tasks.

Everything is guarded by one re-entrant lock (``Store.lock``); the HTTP layer
holds it for the whole of a request, so a request sees a consistent state.
Submissions are stored in the exact JSON shape of ``/data/`` (§10.2), with
attachment URLs kept relative and made absolute when rendered.
"""

import datetime as dt
import hashlib
import json
import random
import string
import threading
import uuid
from bisect import bisect_left, insort
from dataclasses import dataclass, field

from . import permissions as perms
from .xform import id_string_from_name, id_string_of
from .xlsform import question_xpaths, read_xlsform, summarize

ALNUM = string.ascii_letters + string.digits
VALIDATION_LABELS = {
    "validation_status_approved": "Approved",
    "validation_status_not_approved": "Not Approved",
    "validation_status_on_hold": "On Hold",
}
ASSET_TYPES = ("survey", "template", "block", "question", "collection", "empty", "text")


class KoboStateError(Exception):
    """A domain rule was broken; ``status``/``body`` are KPI's answer."""

    def __init__(self, status, body):
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body


def seed_id_string(content, name):
    """A new import: ``settings.id_string`` from the import ``name`` unless
    the XLSForm has one (KPI's ImportTask)."""
    if name and not (content.get("settings") or {}).get("id_string"):
        content.setdefault("settings", {})["id_string"] = id_string_from_name(name)
    return content


def submission_id(sub):
    """The sort key of the submissions (kept in ``_id`` order)."""
    return sub["_id"]


def utcnow():
    return dt.datetime.now(dt.timezone.utc)


def iso(moment):
    """Model datetime: ``2026-08-20T14:03:10.301563Z``."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_seconds(moment):
    """``/me/`` and users datetime: ``2026-08-20T14:03:10Z``."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def submission_time(moment):
    """``_submission_time``: naive UTC, no fraction."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class User:
    username: str
    password: str
    token: str
    superuser: bool = False
    date_joined: dt.datetime = field(default_factory=utcnow)
    email: str = ""


@dataclass
class Version:
    uid: str
    name: str
    content: dict
    date: dt.datetime
    deployed: bool = False

    @property
    def content_hash(self):
        return hashlib.sha1(json.dumps(self.content, sort_keys=True).encode()).hexdigest()


@dataclass
class Asset:
    uid: str
    owner: str
    name: str
    asset_type: str
    content: dict
    date_created: dt.datetime
    date_modified: dt.datetime
    settings: dict = field(default_factory=dict)
    versions: list = field(default_factory=list)  # oldest first
    xls: bytes | None = None  # the XLSForm the current content came from
    has_deployment: bool = False
    active: bool = False
    deployed_version_id: str | None = None
    deployment_uuid: str | None = None
    id_string: str | None = None  # of the deployed XForm: settings.id_string or the uid
    date_deployed: dt.datetime | None = None
    submissions: list = field(default_factory=list)  # _id order (bisected: fake/plan.py)
    by_id: dict = field(default_factory=dict)
    edited: list = field(default_factory=list)  # sorted _ids of those with meta/deprecatedID
    files: dict = field(default_factory=dict)  # attachment uid -> (name, bytes, mimetype)
    assignments: list = field(default_factory=list)  # dicts: uid, user, codename, partial
    hooks: dict = field(default_factory=dict)
    last_submission: dt.datetime | None = None
    geo_cache: tuple | None = None  # (deployed version, first geopoint xpath)
    media: dict = field(default_factory=dict)  # form media: asset file uid -> dict (live files)
    deployed_media: list = field(default_factory=list)  # what the last deploy synced (manifest)
    xform_pk: int | None = None  # the deployed XForm's integer id (formList, manifest)

    @property
    def version_id(self):
        return self.versions[-1].uid

    @property
    def deployment_status(self):
        if self.asset_type != "survey":
            return "-"
        if not self.has_deployment:
            return "draft"
        return "deployed" if self.active else "archived"

    def deployed_content(self):
        for version in self.versions:
            if version.uid == self.deployed_version_id:
                return version.content
        return self.content


@dataclass
class ImportTask:
    uid: str
    owner: str
    data: dict
    date_created: dt.datetime
    status: str = "created"
    messages: dict = field(default_factory=dict)


class Store:
    def __init__(self, seed=None):
        self.lock = threading.RLock()
        self.rng = random.Random(seed)
        self.users = {}
        self.tokens = {}
        self.assets = {}
        self.imports = {}
        self.trash = {}  # uid -> (asset, deleted at): KPI's trash, purged later
        self.next_submission_id = 1
        self.on_new_submission = None  # callback(asset, submission) set by the server

    # ------------------------------------------------------------ ids

    def uid(self, prefix, length=22):
        return prefix + "".join(self.rng.choice(ALNUM) for _ in range(length - len(prefix)))

    def uuid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # ------------------------------------------------------------ users

    def add_user(self, username, password="", superuser=False, token=None):
        with self.lock:
            token = token or "%040x" % self.rng.getrandbits(160)
            user = User(username, password, token, superuser, email=f"{username}@example.com")
            self.users[username] = user
            self.tokens[token] = user
            return user

    # ------------------------------------------------------------ permissions

    def user_perms(self, asset, username):
        if username is None:
            return set()
        user = self.users.get(username)
        if username == asset.owner or (user and user.superuser):
            return set(perms.OWNER_PERMS) | {"delete_asset"}
        return {a["codename"] for a in asset.assignments if a["user"] == username}

    def has_perm(self, asset, username, codename):
        return codename in self.user_perms(asset, username)

    def partial_filters(self, asset, username, codename="view_submissions"):
        """Mongo filters narrowing ``username``'s view, or None for full access."""
        if self.has_perm(asset, username, codename):
            return None
        for row in asset.assignments:
            if row["user"] == username and row["codename"] == "partial_submissions":
                for partial in row["partial"] or []:
                    if partial["url"].rstrip("/").rsplit("/", 1)[-1] == codename:
                        return partial["filters"]
        return []

    def grant(self, asset, username, codename, partial=None):
        """Assign ``codename`` (and what it implies); return the explicit row."""
        with self.lock:
            contradictory = set(perms.PERMISSIONS[codename][2])
            asset.assignments[:] = [
                a
                for a in asset.assignments
                if not (a["user"] == username and a["codename"] in contradictory)
            ]
            explicit = None
            for code in sorted(perms.with_implied(codename)):
                row = next(
                    (
                        a
                        for a in asset.assignments
                        if a["user"] == username and a["codename"] == code
                    ),
                    None,
                )
                if row is None:
                    row = {
                        "uid": self.uid("p"),
                        "user": username,
                        "codename": code,
                        "partial": None,
                    }
                    asset.assignments.append(row)
                if code == codename:
                    if partial is not None:
                        row["partial"] = partial
                    explicit = row
            asset.assignments.sort(key=lambda a: (a["user"], a["codename"]))
            return explicit

    def revoke(self, asset, username, codename):
        with self.lock:
            drop = {codename} | perms.implying(codename)
            if codename == "view_asset":
                drop = set(perms.PERMISSIONS)
            asset.assignments[:] = [
                a
                for a in asset.assignments
                if not (a["user"] == username and a["codename"] in drop)
            ]

    def owner_rows(self, asset):
        return [
            {
                "uid": "p" + hashlib.md5(f"{asset.uid}:{c}".encode()).hexdigest()[:21],
                "user": asset.owner,
                "codename": c,
                "partial": None,
            }
            for c in perms.OWNER_PERMS
        ]

    def all_assignments(self, asset):
        rows = asset.assignments + self.owner_rows(asset)
        return sorted(rows, key=lambda a: (a["user"], a["codename"]))

    # ------------------------------------------------------------ assets

    def create_asset(
        self, owner, content=None, name="", asset_type="survey", xls=None, settings=None
    ):
        with self.lock:
            content, name = self._normalise_content(content, name)
            now = utcnow()
            asset = Asset(
                uid=self.uid("a"),
                owner=owner,
                name=name or "",
                asset_type=asset_type,
                content=content,
                date_created=now,
                date_modified=now,
                settings=settings
                or {
                    "sector": {},
                    "country": [],
                    "description": "",
                    "organization": "",
                    "country_codes": [],
                },
                xls=xls,
            )
            asset.versions.append(Version(self.uid("v"), asset.name, content, now))
            self.assets[asset.uid] = asset
            return asset

    @staticmethod
    def _normalise_content(content, name):
        content = json.loads(json.dumps(content or {}))
        content.setdefault("schema", "1")
        content.setdefault("survey", [])
        settings = content.setdefault("settings", {})
        title = settings.pop("form_title", None)
        content.setdefault("translations", [None])
        content.setdefault("translated", ["label"])
        return content, (title or name)

    def update_asset(self, asset, name=None, content=None, xls=None, settings=None):
        """PATCH/import replace: a new version when name or content changed."""
        with self.lock:
            changed = False
            if content is not None:
                content, title = self._normalise_content(content, name)
                name = title if title else name
                if content != asset.content:
                    asset.content, asset.xls, changed = content, xls, True
            if name is not None and name != asset.name:
                asset.name, changed = name, True
            if settings is not None:
                asset.settings = settings
            asset.date_modified = utcnow()
            if changed:
                asset.versions.append(
                    Version(self.uid("v"), asset.name, asset.content, asset.date_modified)
                )
            return asset

    def import_xlsform(self, owner, data, name="", asset_type="survey"):
        content = seed_id_string(read_xlsform(data), name)
        return self.create_asset(owner, content, name, asset_type, xls=data)

    def delete_asset(self, asset):
        """KPI moves a deleted project to its trash (gone from the API at
        once, purged after the retention period)."""
        with self.lock:
            self.assets.pop(asset.uid, None)
            self.trash[asset.uid] = (asset, utcnow())

    def deploy(self, asset, active=True):
        with self.lock:
            if asset.asset_type != "survey":
                raise KoboStateError(500, {"error": "Server Error (500)"})
            now = utcnow()
            latest = asset.versions[-1]
            latest.deployed = True
            asset.deployed_version_id = latest.uid
            asset.id_string = id_string_of(latest.content, asset.uid)
            asset.has_deployment = True
            asset.active = bool(active)
            asset.deployment_uuid = (
                asset.deployment_uuid or uuid.UUID(int=self.rng.getrandbits(128), version=4).hex
            )
            asset.date_deployed = asset.date_modified = now
            # KPI syncs form media to the deployed XForm at each (re)deploy
            if asset.xform_pk is None:
                self.xform_seq = getattr(self, "xform_seq", 0) + 1
                asset.xform_pk = self.xform_seq
            asset.deployed_media = [dict(m) for m in asset.media.values()]
            return asset

    # ------------------------------------------------------------ submissions

    def _build(
        self,
        asset,
        answers,
        *,
        sub_id,
        instance_id,
        root_uuid,
        submitted_by,
        when,
        version=None,
        deprecated_id=None,
        validation=None,
        attachments=None,
        id_string=None,
    ):
        answers = dict(answers)
        formhub = answers.pop("formhub/uuid", None) or asset.deployment_uuid
        version = answers.pop("__version__", None) or version or asset.deployed_version_id
        for key in ("meta/instanceID", "meta/deprecatedID", "meta/rootUuid"):
            answers.pop(key, None)
        sub = {"_id": sub_id, "formhub/uuid": formhub}
        sub.update(
            (k, v if isinstance(v, (str, list)) else str(v))
            for k, v in answers.items()
            if v is not None and v != ""
        )
        sub["__version__"] = version
        sub["meta/instanceID"] = instance_id
        if deprecated_id:
            sub["meta/deprecatedID"] = deprecated_id
        sub["_xform_id_string"] = id_string or asset.id_string or asset.uid
        sub["_uuid"] = instance_id.removeprefix("uuid:")
        sub["meta/rootUuid"] = root_uuid
        sub["_attachments"] = attachments or []
        sub["_status"] = "submitted_via_web"
        sub["_geolocation"] = self._geolocation(asset, sub)
        sub["_submission_time"] = when
        sub["_validation_status"] = validation if validation is not None else {}
        sub["_submitted_by"] = submitted_by
        return sub

    def _geolocation(self, asset, sub):
        cache = asset.geo_cache
        if cache is None or cache[0] != asset.deployed_version_id:
            types, repeats = question_xpaths(asset.deployed_content())
            geo = next(
                (
                    x
                    for x, t in types.items()
                    if t == "geopoint" and not any(x.startswith(r + "/") for r in repeats)
                ),
                None,
            )
            cache = asset.geo_cache = (asset.deployed_version_id, geo)
        value = sub.get(cache[1]) if cache[1] else None
        try:
            lat, lon = str(value).split()[:2]
            return [float(lat), float(lon)]
        except (ValueError, AttributeError):
            return [None, None]

    def _require_deployed(self, asset):
        if not asset.has_deployment:
            raise KoboStateError(400, {"detail": "The specified asset has not been deployed"})

    def add_submission(
        self,
        asset,
        answers,
        submitted_by=None,
        when=None,
        attachments=None,
        instance_id=None,
        fire_hooks=True,
        id_string=None,
    ):
        with self.lock:
            self._require_deployed(asset)
            answers = dict(answers)
            instance_id = instance_id or answers.get("meta/instanceID") or f"uuid:{self.uuid()}"
            when = when or utcnow()
            if isinstance(when, dt.datetime):
                moment, when = when, submission_time(when)
            else:
                moment = dt.datetime.fromisoformat(when).replace(tzinfo=dt.timezone.utc)
            sub_id = self.next_submission_id
            self.next_submission_id += 1
            root = answers.get("meta/rootUuid") or instance_id
            files = self._attach(asset, sub_id, root, answers, attachments or {})
            sub = self._build(
                asset,
                answers,
                sub_id=sub_id,
                instance_id=instance_id,
                root_uuid=root,
                submitted_by=submitted_by,
                when=when,
                attachments=files,
                id_string=id_string,
            )
            self.insert_submission(asset, sub)
            asset.last_submission = max(asset.last_submission or moment, moment)
            if fire_hooks and self.on_new_submission and asset.hooks:
                self.on_new_submission(asset, sub)
            return sub

    def _attach(self, asset, sub_id, root_uuid, answers, attachments):
        out = []
        for key, (filename, data, mimetype) in attachments.items():
            if key == filename:
                xpath = next((k for k, v in answers.items() if v == filename), "")
            else:
                xpath = key
                answers.setdefault(key, filename)
            att = self.uid("att", 24)
            asset.files[att] = (filename, data, mimetype)
            base = f"/api/v2/assets/{asset.uid}/data/{sub_id}/attachments/{att}/"
            item = {
                "download_url": base,
                "mimetype": mimetype,
                "filename": f"{asset.owner}/attachments/{asset.deployment_uuid}/"
                f"{root_uuid.removeprefix('uuid:')}/{filename}",
                "media_file_basename": filename,
                "uid": att,
                "is_deleted": False,
            }
            if mimetype.startswith("image/"):
                for size in ("large", "medium", "small"):
                    item[f"download_{size}_url"] = f"{base}{size}/"
            item["question_xpath"] = xpath
            out.append(item)
        return out

    def edit_submission(
        self,
        asset,
        sub_id,
        changes,
        instance_id=None,
        replace=False,
        attachments=None,
        id_string=None,
    ):
        """Apply ``changes`` (``None`` deletes a key) or, with ``replace``, take
        ``changes`` as the full new answers (OpenRosa edit, ``id_string``: the
        ``id`` of the new instance)."""
        with self.lock:
            old = asset.by_id.get(sub_id)
            if old is None:
                raise KoboStateError(404, {"detail": "Not found."})
            if replace:
                answers = dict(changes)
            else:
                answers = {k: v for k, v in old.items() if not k.startswith("_")}
                for key, value in changes.items():
                    if value is None:
                        answers.pop(key, None)
                    else:
                        answers[key] = value
            files = list(old["_attachments"])
            if attachments:
                added = self._attach(asset, sub_id, old["meta/rootUuid"], answers, attachments)
                # as KPI does: the file a question had before is soft-deleted, no longer listed
                replaced = {att["question_xpath"] for att in added}
                files = [att for att in files if att["question_xpath"] not in replaced] + added
            new = self._build(
                asset,
                answers,
                sub_id=sub_id,
                instance_id=instance_id or f"uuid:{self.uuid()}",
                root_uuid=old["meta/rootUuid"],
                submitted_by=old["_submitted_by"],
                when=old["_submission_time"],
                version=old["__version__"],
                deprecated_id=old["meta/instanceID"],
                validation=old["_validation_status"],
                attachments=files,
                id_string=id_string or old["_xform_id_string"],
            )
            self.remove_submission(asset, sub_id)
            self.insert_submission(asset, new)
            return new

    def delete_submission(self, asset, sub_id):
        with self.lock:
            sub = self.remove_submission(asset, sub_id)
            if sub is None:
                raise KoboStateError(404, {"detail": "Not found."})
            for att in sub["_attachments"]:
                asset.files.pop(att["uid"], None)

    @staticmethod
    def insert_submission(asset, sub):
        """Store ``sub`` at its ``_id``'s place, in every index."""
        insort(asset.submissions, sub, key=submission_id)
        asset.by_id[sub["_id"]] = sub
        if "meta/deprecatedID" in sub:
            insort(asset.edited, sub["_id"])

    @staticmethod
    def remove_submission(asset, sub_id):
        """Take submission ``sub_id`` out of every index; return it (or None)."""
        sub = asset.by_id.pop(sub_id, None)
        if sub is not None:
            del asset.submissions[bisect_left(asset.submissions, sub_id, key=submission_id)]
            if "meta/deprecatedID" in sub:
                del asset.edited[bisect_left(asset.edited, sub_id)]
        return sub

    def find_submission(self, asset, key):
        """By integer ``_id``, or a root uuid / ``_uuid`` (with or without ``uuid:``)."""
        key = str(key)
        if key.isdigit():
            return asset.by_id.get(int(key))
        bare = key.removeprefix("uuid:")
        for sub in asset.submissions:
            if sub["_uuid"] == bare or sub["meta/rootUuid"] == f"uuid:{bare}":
                return sub
        return None

    def set_validation(self, sub, status_uid, by_whom):
        if status_uid not in VALIDATION_LABELS:
            sub["_validation_status"] = {}
        else:
            sub["_validation_status"] = {
                "timestamp": int(utcnow().timestamp()),
                "uid": status_uid,
                "by_whom": by_whom,
                "label": VALIDATION_LABELS[status_uid],
            }
        return sub["_validation_status"]

    def summary(self, asset):
        return summarize(asset.content)
