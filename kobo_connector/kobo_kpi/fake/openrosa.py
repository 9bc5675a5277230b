"""OpenRosa submission XML: flatten an instance to KPI's JSON shape, build an
instance from flat answers (so scenario code can submit to the fake and to a
real KPI alike), and the OpenRosa XML replies."""

import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

import requests

XFORMS = "http://www.w3.org/2002/xforms"
OPENROSA = "http://www.opendatakit.org/xforms"

OPENROSA_HEADERS = {
    "X-OpenRosa-Version": "1.0",
    "X-OpenRosa-Accept-Content-Length": "10000000",
}


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def parse_instance(xml_bytes):
    """Parse an instance; ``ValueError`` on malformed XML. Namespaces are
    stripped from tags so paths work with ``find``."""
    try:
        root = ET.fromstring(xml_bytes)
    except ET.ParseError as exc:
        raise ValueError("Improperly formatted XML.") from exc
    for node in root.iter():
        node.tag = _local(node.tag)
    return root


def flatten(root, repeats=()):
    """Children of ``root`` → flat dict: groups joined with '/', repeats as
    lists of dicts keyed by full paths. A node is a repeat when its path is in
    ``repeats`` or its tag appears more than once among its siblings."""
    out = {}
    _flatten_into(out, root, "", set(repeats))
    return out


def _flatten_into(out, node, prefix, repeats):
    children = list(node)
    counts = {}
    for child in children:
        counts[_local(child.tag)] = counts.get(_local(child.tag), 0) + 1
    for child in children:
        tag = _local(child.tag)
        path = f"{prefix}{tag}"
        if path in repeats or counts[tag] > 1:
            item = {}
            _flatten_into(item, child, f"{path}/", repeats)
            if item:
                out.setdefault(path, []).append(item)
        elif len(child):
            _flatten_into(out, child, f"{path}/", repeats)
        else:
            text = (child.text or "").strip()
            if text:
                out[path] = text


def build_instance(
    form_id,
    answers,
    *,
    root=None,
    version=None,
    instance_id=None,
    deprecated_id=None,
    formhub_uuid=None,
):
    """Flat answers (KPI keys) → instance XML bytes. ``form_id`` is the asset
    uid (the deployed XForm's id_string); ``root`` the root element name
    (KPI uses the asset uid too)."""
    root_el = ET.Element(root or form_id, {"id": form_id})
    if version:
        root_el.set("version", version)
    answers = dict(answers)
    if formhub_uuid:
        answers["formhub/uuid"] = formhub_uuid
    if version:
        answers.setdefault("__version__", version)
    if instance_id:
        answers["meta/instanceID"] = instance_id
    if deprecated_id:
        answers["meta/deprecatedID"] = deprecated_id
    _unflatten_into(root_el, answers, "")
    return b"<?xml version='1.0' ?>" + ET.tostring(root_el, encoding="unicode").encode()


def _unflatten_into(parent, answers, prefix):
    groups = {}
    for key, value in answers.items():
        rel = key[len(prefix) :] if key.startswith(prefix) else key
        head, slash, _rest = rel.partition("/")
        if isinstance(value, list):
            if slash:  # repeat inside a group: create the group first
                groups.setdefault(head, {})[key] = value
                continue
            for item in value:
                _unflatten_into(ET.SubElement(parent, head), item, f"{prefix}{head}/")
        elif slash:
            groups.setdefault(head, {})[key] = value
        else:
            ET.SubElement(parent, head).text = "" if value is None else str(value)
    for head, sub in groups.items():
        node = parent.find(head)
        if node is None:
            node = ET.SubElement(parent, head)
        _unflatten_into(node, sub, f"{prefix}{head}/")


def success_reply(form_id, instance_id, submitted_at):
    """The 201 body KPI sends (``submitted_at``: aware datetime)."""
    stamp = submitted_at.isoformat()
    return (
        '<OpenRosaResponse xmlns="http://openrosa.org/http/response">\n'
        "    <message>Successful submission.</message>\n"
        '    <submissionMetadata xmlns="http://www.opendatakit.org/xforms" '
        f"id={quoteattr(form_id)}  instanceID={quoteattr(instance_id)} "
        f'submissionDate="{stamp}" isComplete="true" markedAsCompleteDate="{stamp}"/>\n'
        "</OpenRosaResponse>\n"
    ).encode()


def message_reply(message):
    """Error/duplicate replies (``Duplicate Instance``, ``Form is not active``…)."""
    return (
        "<?xml version='1.0' encoding='UTF-8' ?>\n"
        '<OpenRosaResponse xmlns="http://openrosa.org/http/response">\n'
        f'        <message nature="">{escape(message)}</message>\n'
        "</OpenRosaResponse>"
    ).encode()


def detail_reply(detail):
    """DRF's XML rendering of ``{"detail": ...}`` (401/404 on /submission)."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<root><detail>{escape(detail)}</detail></root>'
    ).encode()


class Collector:
    """Submits data to any KPI server, real or fake, as KoBoCollect and Enketo
    do: an OpenRosa ``POST /submission`` of an instance that carries the
    deployed form's identity (XForm root and ``id``, version, formhub uuid).
    Built on a :class:`KpiClient` (its URL and token)."""

    def __init__(self, client):
        self.client = client
        self._forms = {}  # uid -> identity, read once: submit after the last (re)deploy

    def _headers(self):
        return {"Authorization": f"Token {self.client.token}", "X-OpenRosa-Version": "1.0"}

    def xform(self, uid):
        """``(root tag, id attribute, version attribute)`` of the primary
        instance of the asset's XForm (``/api/v2/assets/<uid>.xml``), or
        ``None`` when the answer is not an XForm."""
        resp = requests.get(
            f"{self.client.base_url}/api/v2/assets/{uid}.xml", headers=self._headers(), timeout=60
        )
        if resp.status_code != 200:
            return None
        try:
            instance = ET.fromstring(resp.content).find(f".//{{{XFORMS}}}instance")
        except ET.ParseError:
            return None
        if instance is None or not len(instance):
            return None
        main = instance[0]
        return _local(main.tag), main.get("id"), main.get("version")

    def post(self, xml):
        """POST an instance document to ``/submission``; return the response."""
        return requests.post(
            f"{self.client.base_url}/submission",
            files={"xml_submission_file": ("submission.xml", xml, "text/xml")},
            headers=self._headers(),
            timeout=60,
        )

    def submit(self, uid, answers, *, instance_id=None, deprecated_id=None):
        """Create (or, with ``deprecated_id``, edit) a submission; return its
        ``uuid:…`` instanceID. Raises RuntimeError unless KoBo accepted it."""
        if uid not in self._forms:
            asset = self.client.get_asset(uid, exclude=("content", "analysis_form_json"))
            root, form_id, version = self.xform(uid) or (uid, uid, None)
            self._forms[uid] = (
                root,
                form_id or uid,
                version or asset["deployed_version_id"],
                asset["deployment__uuid"],
            )
        root, form_id, version, formhub_uuid = self._forms[uid]
        instance_id = instance_id or f"uuid:{uuid.uuid4()}"
        xml = build_instance(
            form_id,
            answers,
            root=root,
            version=version,
            instance_id=instance_id,
            deprecated_id=deprecated_id,
            formhub_uuid=formhub_uuid,
        )
        resp = self.post(xml)
        meta = None
        if resp.status_code == 201:
            meta = ET.fromstring(resp.content).find(f"{{{OPENROSA}}}submissionMetadata")
        if meta is None or meta.get("instanceID") != instance_id:
            raise RuntimeError(f"/submission answered {resp.status_code}: {resp.text}")
        return instance_id
