"""XForm of an asset, as ``GET /api/v2/assets/<uid>.xml`` serves it: a
minimal but valid ODK XForm built from KPI ``content`` (title, main instance
named after the asset uid with ``id="<id_string>"``, groups nested, repeats
with their ``jr:template`` copy, ``meta/instanceID``, one secondary instance
per choice list, binds and body controls). Labels use the first translation.

Also KPI's rule turning an import ``name`` into ``settings.id_string``."""

import re
from xml.sax.saxutils import escape, quoteattr

from .xlsform import END_TYPES, GROUP_TYPES

NAMESPACES = (
    'xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml" '
    'xmlns:ev="http://www.w3.org/2001/xml-events" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms" '
    'xmlns:odk="http://www.opendatakit.org/xforms"'
)
BIND_TYPES = {
    "integer": "int",
    "range": "int",
    "decimal": "decimal",
    "date": "date",
    "time": "time",
    "datetime": "dateTime",
    "geopoint": "geopoint",
    "geotrace": "geotrace",
    "geoshape": "geoshape",
    "image": "binary",
    "audio": "binary",
    "video": "binary",
    "file": "binary",
    "background-audio": "binary",
    "barcode": "barcode",
    "start": "dateTime",
    "end": "dateTime",
    "today": "date",
    "start-geopoint": "geopoint",
}
PRELOAD = {
    "start": ("timestamp", "start"),
    "end": ("timestamp", "end"),
    "today": ("date", "today"),
    "deviceid": ("property", "deviceid"),
    "subscriberid": ("property", "subscriberid"),
    "simserial": ("property", "simserial"),
    "phonenumber": ("property", "phonenumber"),
    "username": ("property", "username"),
    "email": ("property", "email"),
}
CONTROLS = {
    "select_one": "select1",
    "select_multiple": "select",
    "rank": "odk:rank",
    "image": "upload",
    "audio": "upload",
    "video": "upload",
    "file": "upload",
    "acknowledge": "trigger",
}
MEDIA_TYPES = {"image": "image/*", "audio": "audio/*", "video": "video/*", "file": "application/*"}
NO_CONTROL = {"calculate", "hidden", "xml-external", "start-geopoint", "background-audio"}
NO_CONTROL |= set(PRELOAD)


def id_string_from_name(name):
    """KPI's ``settings.id_string`` seeded from an import name:
    ``"Conformance xform v1.5"`` → ``Conformance_xform_v1_5``; runs of
    anything but ASCII letters, digits and ``_`` become one ``_``, a trailing
    ``_`` goes, and a leading digit (or nothing left) gets a ``_`` prefix."""
    slug = re.sub(r"[^A-Za-z0-9_]+", "_", str(name).strip())
    slug = re.sub(r"_+", "_", slug).rstrip("_")
    return slug if re.match(r"[A-Za-z_]", slug) else "_" + slug


def id_string_of(content, uid):
    """The XForm id: ``content.settings.id_string``, else the asset uid."""
    return (content.get("settings") or {}).get("id_string") or uid


def _text(value):
    if isinstance(value, list):
        value = next((v for v in value if v not in (None, "")), None)
    return "" if value is None else str(value)


def _tree(survey):
    """Survey rows → nested ``(row, name, children)`` nodes (named rows only)."""
    root, stack = [], []
    for row in survey:
        kind = row.get("type", "")
        if kind in END_TYPES:
            if stack:
                stack.pop()
            continue
        name = row.get("name") or row.get("$autoname")
        if not name and kind in GROUP_TYPES:
            name = f"group_{row.get('$kuid', len(stack))}"
        if not name:
            continue
        node = (row, name, [])
        (stack[-1][2] if stack else root).append(node)
        if kind in GROUP_TYPES:
            stack.append(node)
    return root


def build_xform(uid, title, content):
    """The XForm XML bytes of an asset (``uid``, name ``title``, ``content``)."""
    nodes = _tree(content.get("survey") or [])
    settings = content.get("settings") or {}
    root_attrs = f"id={quoteattr(id_string_of(content, uid))}"
    if settings.get("version"):
        root_attrs += f" version={quoteattr(str(settings['version']))}"
    if not any(name == "meta" for _row, name, _children in nodes):
        nodes.append(({"type": "begin_group"}, "meta", [({"type": "meta"}, "instanceID", [])]))
    lines = [
        '<?xml version="1.0"?>',
        f"<h:html {NAMESPACES}>",
        "  <h:head>",
        f"    <h:title>{escape(title or uid)}</h:title>",
        '    <model odk:xforms-version="1.0.0">',
        "      <instance>",
        f"        <{uid} {root_attrs}>",
    ]
    _instance(lines, nodes, 10)
    lines += [f"        </{uid}>", "      </instance>"]
    used = []
    for row in content.get("survey") or []:
        list_name = row.get("select_from_list_name")
        if list_name and list_name not in used:
            used.append(list_name)
    for list_name in used:
        lines += [f"      <instance id={quoteattr(list_name)}>", "        <root>"]
        for choice in content.get("choices") or []:
            if choice.get("list_name") == list_name:
                lines += [
                    "          <item>",
                    f"            <name>{escape(str(choice.get('name', '')))}</name>",
                    f"            <label>{escape(_text(choice.get('label')))}</label>",
                    "          </item>",
                ]
        lines += ["        </root>", "      </instance>"]
    _binds(lines, nodes, f"/{uid}")
    lines += ["    </model>", "  </h:head>", "  <h:body>"]
    _body(lines, nodes, f"/{uid}", 4)
    lines += ["  </h:body>", "</h:html>", ""]
    return "\n".join(lines).encode()


def _instance(lines, nodes, indent, copy=None):
    """Outside any repeat (``copy`` None) a repeat is written twice, the
    ``jr:template`` copy then a plain one; inside a copy, nested repeats
    take that copy's kind (as pyxform does)."""
    pad = " " * indent
    for row, name, children in nodes:
        kind = row.get("type")
        if kind not in GROUP_TYPES:
            lines.append(f"{pad}<{name}/>")
            continue
        if kind != "begin_repeat":
            copies = [copy]
        else:
            copies = ["template", "plain"] if copy is None else [copy]
        for each in copies:
            attrs = ' jr:template=""' if kind == "begin_repeat" and each == "template" else ""
            lines.append(f"{pad}<{name}{attrs}>")
            _instance(lines, children, indent + 2, each)
            lines.append(f"{pad}</{name}>")


def _binds(lines, nodes, prefix):
    for row, name, children in nodes:
        path = f"{prefix}/{name}"
        kind = row.get("type")
        attrs = []
        if kind == "meta":
            attrs = ['type="string"', 'readonly="true()"', 'jr:preload="uid"']
        elif kind not in GROUP_TYPES:
            attrs.append(f'type="{BIND_TYPES.get(kind, "string")}"')
            if kind in PRELOAD:
                preload, params = PRELOAD[kind]
                attrs += [f'jr:preload="{preload}"', f'jr:preloadParams="{params}"']
            if kind == "note" or row.get("readonly") in (True, "yes", "true"):
                attrs.append('readonly="true()"')
            if row.get("calculation"):
                attrs.append(f"calculate={quoteattr(str(row['calculation']))}")
            if row.get("constraint"):
                attrs.append(f"constraint={quoteattr(str(row['constraint']))}")
            if row.get("required") is True:
                attrs.append('required="true()"')
        if row.get("relevant"):
            attrs.append(f"relevant={quoteattr(str(row['relevant']))}")
        if attrs:
            lines.append(f'      <bind nodeset="{path}" {" ".join(attrs)}/>')
        _binds(lines, children, path)


def _body(lines, nodes, prefix, indent):
    pad = " " * indent
    for row, name, children in nodes:
        path = f"{prefix}/{name}"
        kind = row.get("type")
        label = escape(_text(row.get("label")))
        if kind == "meta" or kind in NO_CONTROL or (name == "meta" and kind in GROUP_TYPES):
            continue
        if kind in GROUP_TYPES:
            lines.append(f'{pad}<group ref="{path}">')
            if label:
                lines.append(f"{pad}  <label>{label}</label>")
            if kind == "begin_repeat":
                lines.append(f'{pad}  <repeat nodeset="{path}">')
                _body(lines, children, path, indent + 4)
                lines.append(f"{pad}  </repeat>")
            else:
                _body(lines, children, path, indent + 2)
            lines.append(f"{pad}</group>")
            continue
        control = CONTROLS.get(kind, "input")
        extra = f' mediatype="{MEDIA_TYPES[kind]}"' if kind in MEDIA_TYPES else ""
        lines.append(f'{pad}<{control} ref="{path}"{extra}>')
        lines.append(f"{pad}  <label>{label}</label>")
        if row.get("hint"):
            lines.append(f"{pad}  <hint>{escape(_text(row['hint']))}</hint>")
        if row.get("select_from_list_name"):
            list_name = row["select_from_list_name"]
            lines += [
                f"{pad}  <itemset nodeset=\"instance('{list_name}')/root/item\">",
                f'{pad}    <value ref="name"/>',
                f'{pad}    <label ref="label"/>',
                f"{pad}  </itemset>",
            ]
        lines.append(f"{pad}</{control}>")
