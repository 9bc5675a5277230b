"""The question catalogue of a KoBo form, read from KPI's ``content`` JSON.

``parse_content(asset["content"])`` (or a version's ``content``) returns a
:class:`Catalogue`: the languages of the form and an ordered list of
:class:`Question` nodes, groups and repeats included, each with its XPath
(the key of its answer in a submission), its labels per language and, for
select questions, its choices. Pure Python, no Odoo.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_LANGUAGE = "default"  # display name of the untranslated (``null``) language

METADATA_TYPES = frozenset(
    {
        "start",
        "end",
        "today",
        "deviceid",
        "subscriberid",
        "simserial",
        "phonenumber",
        "username",
        "email",
        "audit",
        "imei",
        "start-geopoint",
        "start_geopoint",
        "background-audio",
        "background_audio",
        "uri:deviceid",
        "uri:email",
        "uri:phonenumber",
        "uri:subscriberid",
        "uri:simserial",
        "uri:username",
    }
)
SELECT_TYPES = frozenset(
    {"select_one", "select_multiple", "select_one_from_file", "select_multiple_from_file", "rank"}
)
# Older / XLSForm spellings -> KPI's normalised type. Longest first: prefixes are tried in order.
_TYPE_ALIASES = (
    ("select all that apply from file", "select_multiple_from_file"),
    ("select multiple from file", "select_multiple_from_file"),
    ("select one from file", "select_one_from_file"),
    ("select all that apply", "select_multiple"),
    ("select_multiple_from_file", "select_multiple_from_file"),
    ("select_one_from_file", "select_one_from_file"),
    ("select multiple", "select_multiple"),
    ("select_multiple", "select_multiple"),
    ("select one", "select_one"),
    ("select_one", "select_one"),
    ("rank", "rank"),
    ("begin group", "begin_group"),
    ("begin repeat", "begin_repeat"),
    ("end group", "end_group"),
    ("end repeat", "end_repeat"),
)
_TRUE = frozenset({"true", "yes", "1", "true()", "y"})


@dataclass(slots=True)
class Choice:
    name: str
    labels: dict[str, str]

    def label(self, lang=None):
        return _pick(self.labels, lang) or self.name


@dataclass(slots=True)
class Question:
    """One node of the form: a question, a note, a calculation, a metadata
    field, a group or a repeat. ``xpath`` is the answer's key in a submission
    (full path inside repeats too); ``group_xpath`` the innermost enclosing
    group or repeat (``''`` at the top), ``repeat_xpath`` the innermost
    enclosing repeat (``''`` outside any repeat)."""

    xpath: str
    name: str
    type: str
    labels: dict[str, str] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)
    required: bool = False
    group_xpath: str = ""
    repeat_xpath: str = ""
    is_group: bool = False
    is_repeat: bool = False
    is_metadata: bool = False
    list_name: str = ""
    choices: list[Choice] = field(default_factory=list)
    sequence: int = 0
    kuid: str = ""
    appearance: str = ""
    constraint: str = ""

    def label(self, lang=None):
        """Label in ``lang`` (display name), else in the first language that
        has one, else the question name."""
        return _pick(self.labels, lang) or self.name

    def hint(self, lang=None):
        return _pick(self.hints, lang) or ""

    def choice_label(self, name, lang=None):
        for choice in self.choices:
            if choice.name == name:
                return choice.label(lang)
        return name


@dataclass(slots=True)
class Catalogue:
    languages: list[str]
    nodes: list[Question]
    choice_lists: dict[str, list[Choice]] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    by_xpath: dict[str, Question] = field(init=False, repr=False)

    def __post_init__(self):
        self.by_xpath = {node.xpath: node for node in self.nodes}

    @property
    def default_language(self):
        return self.languages[0] if self.languages else DEFAULT_LANGUAGE

    def questions(self):
        """The answerable nodes (no groups, no repeats)."""
        return [n for n in self.nodes if not (n.is_group or n.is_repeat)]

    def label(self, xpath, lang=None):
        node = self.by_xpath.get(xpath)
        return node.label(lang) if node else xpath


def _pick(texts, lang):
    if not texts:
        return ""
    if lang is not None and texts.get(lang):
        return texts[lang]
    return next(iter(texts.values()))  # dict order = translation order, empties dropped


def _texts(value, languages):
    """``{language: text}`` from a KPI translated cell (a list aligned with the
    translations; a plain string in old content), dropping empty entries."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {languages[0]: value} if value else {}
    pairs = zip(languages, value, strict=False)  # tolerate lists shorter/longer than translations
    return {lang: text for lang, text in pairs if isinstance(text, str) and text}


def _normalise_type(raw, row):
    """(type, list_name) from a row; accepts ``select_one listname`` and the
    spaced XLSForm spellings besides KPI's normalised form."""
    text = " ".join(str(raw or "").split())
    lowered = text.lower()
    for prefix, canonical in _TYPE_ALIASES:
        if lowered == prefix or lowered.startswith(prefix + " "):
            rest = text[len(prefix) :].split()
            if rest and rest[-1] == "or_other":
                rest.pop()
            if canonical not in SELECT_TYPES:
                return canonical, ""
            if rest:
                return canonical, rest[0]
            return canonical, row.get("select_from_list_name") or row.get("file") or ""
    return lowered, (row.get("select_from_list_name") or "")


def _is_true(value):
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in _TRUE


def parse_content(content):
    """Build the :class:`Catalogue` of a KPI ``content`` dict (asset or version)."""
    content = content or {}
    translations = content.get("translations") or [None]
    languages = [t if t else DEFAULT_LANGUAGE for t in translations]

    choice_lists: dict[str, list[Choice]] = {}
    for row in content.get("choices") or ():
        name = row.get("name", row.get("$autovalue"))
        if name is None:
            continue
        choice = Choice(str(name), _texts(row.get("label"), languages))
        choice_lists.setdefault(row.get("list_name") or "", []).append(choice)

    nodes: list[Question] = []
    stack: list[Question] = []  # open groups and repeats
    for row in content.get("survey") or ():
        qtype, list_name = _normalise_type(row.get("type"), row)
        if qtype.startswith("end_"):  # end_group, end_repeat, end_kobomatrix, end_score...
            if stack:
                stack.pop()
            continue
        name = row.get("name") or row.get("$autoname") or row.get("$kuid") or ""
        if not name:
            continue
        parent = stack[-1] if stack else None
        xpath = row.get("$xpath") or (f"{parent.xpath}/{name}" if parent else name)
        repeat_xpath = ""
        if parent:
            repeat_xpath = parent.xpath if parent.is_repeat else parent.repeat_xpath
        is_repeat = qtype == "begin_repeat"
        node = Question(
            xpath=xpath,
            name=name,
            type=qtype,
            labels=_texts(row.get("label"), languages),
            hints=_texts(row.get("hint"), languages),
            required=_is_true(row.get("required")),
            group_xpath=parent.xpath if parent else "",
            repeat_xpath=repeat_xpath,
            is_group=qtype.startswith("begin_") and not is_repeat,
            is_repeat=is_repeat,
            is_metadata=qtype in METADATA_TYPES,
            list_name=list_name,
            choices=list(choice_lists.get(list_name, ())) if list_name else [],
            sequence=len(nodes),
            kuid=row.get("$kuid") or row.get("kuid") or "",
            appearance=str(row.get("appearance") or ""),
            constraint=str(row.get("constraint") or ""),
        )
        nodes.append(node)
        if qtype.startswith("begin_"):
            stack.append(node)

    return Catalogue(
        languages=languages,
        nodes=nodes,
        choice_lists=choice_lists,
        settings=dict(content.get("settings") or {}),
    )
