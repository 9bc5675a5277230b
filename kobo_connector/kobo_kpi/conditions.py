"""Conditions of a mapping: whether a submission is one the mapping is for.

Pure Python. A condition is a question (an XPath, or KoBo's ``_submitted_by``
/ ``_submission_time``), an operator and a value (or several choice names);
a mapping applies when all of its conditions hold. ``describe`` says a
condition in words ("Needs contains Food"), ``describe(negate=True)`` why it
does not hold ("Needs does not contain Food").
"""

from dataclasses import dataclass

from .submission import parse_datetime, to_utc_naive

NUMERIC_TYPES = frozenset({"integer", "decimal", "range", "calculate"})
DATE_TYPES = frozenset({"date", "datetime", "today", "start", "end"})
# operator: (words when it holds, words when it does not)
OPERATORS = {
    "is": ("is", "is not"),
    "is_not": ("is not", "is"),
    "in": ("is one of", "is none of"),
    "contains": ("contains", "does not contain"),
    "set": ("is answered", "is not answered"),
    "not_set": ("is not answered", "is answered"),
    "gt": ("is greater than", "is not greater than"),
    "lt": ("is less than", "is not less than"),
}
NO_VALUE = frozenset({"set", "not_set"})


@dataclass(frozen=True)
class Condition:
    path: str
    operator: str
    values: tuple = ()  # choice names ("in": several, else one), or the typed text
    question_type: str = ""
    question_label: str = ""
    value_labels: tuple = ()  # what ``values`` read as (choice labels)

    def holds(self, data):
        raw = data.get(self.path)
        answered = raw not in (None, "", [])
        op = self.operator
        if op == "set":
            return answered
        if op == "not_set":
            return not answered
        if op in ("gt", "lt"):
            if not answered or not self.values:
                return False
            left, right = (
                comparable(raw, self.question_type),
                comparable(self.values[0], self.question_type),
            )
            if left is None or right is None or type(left) is not type(right):
                return False
            return left > right if op == "gt" else left < right
        answers = _answers(raw, self.question_type)
        if op == "contains":
            return bool(self.values) and self.values[0] in answers
        if op == "in":
            return bool(answers & set(self.values))
        same = answered and bool(self.values) and _same(raw, self.values[0], self.question_type)
        return same if op == "is" else not same

    def describe(self, negate=False, words=None):
        """In words; ``words``: the operators' words in the reader's language
        (as ``OPERATORS``)."""
        words = (words or OPERATORS)[self.operator][1 if negate else 0]
        subject = self.question_label or self.path
        if self.operator in NO_VALUE:
            return f"{subject} {words}"
        shown = self.value_labels or self.values
        return f"{subject} {words} {', '.join(str(v) for v in shown)}"


def _answers(raw, qtype):
    """The set of answers: a select_multiple's space-separated names."""
    if raw in (None, "", []):
        return set()
    if isinstance(raw, list):
        return {str(v) for v in raw}
    text = str(raw)
    return set(text.split()) if qtype.startswith("select_multiple") else {text}


def _same(raw, value, qtype):
    if qtype in NUMERIC_TYPES:
        left, right = _number(raw), _number(value)
        if left is not None and right is not None:
            return left == right
    return str(raw).strip() == str(value).strip()


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def comparable(value, qtype):
    """A number, or a naive UTC datetime, or None."""
    if qtype in NUMERIC_TYPES or qtype == "":
        number = _number(value)
        if number is not None:
            return number
    try:
        return to_utc_naive(parse_datetime(str(value)))
    except (TypeError, ValueError):
        return _number(value)


def failing(conditions, data):
    """The first condition that does not hold for ``data``, or None."""
    for condition in conditions:
        if not condition.holds(data):
            return condition
    return None
