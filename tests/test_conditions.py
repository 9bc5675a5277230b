"""A mapping's conditions: when a submission is one the mapping is for."""

import pytest
from kobo_kpi.conditions import Condition, failing

NEEDS = {"path": "needs", "question_type": "select_multiple needs", "question_label": "Needs"}


@pytest.mark.parametrize(
    ("condition", "data", "holds"),
    [
        (Condition(operator="contains", values=("food",), **NEEDS), {"needs": "water food"}, True),
        (Condition(operator="contains", values=("food",), **NEEDS), {"needs": "foodstuff"}, False),
        (Condition(operator="contains", values=("food",), **NEEDS), {}, False),
        (
            Condition(operator="in", values=("a", "b"), path="q", question_type="select_one l"),
            {"q": "b"},
            True,
        ),
        (
            Condition(operator="in", values=("a", "b"), path="q", question_type="select_one l"),
            {"q": "c"},
            False,
        ),
        (Condition(operator="is", values=("kenya",), path="c"), {"c": "kenya"}, True),
        (Condition(operator="is", values=("kenya",), path="c"), {}, False),
        (Condition(operator="is_not", values=("kenya",), path="c"), {}, True),
        (
            Condition(operator="is", values=("3",), path="n", question_type="integer"),
            {"n": "3.0"},
            True,
        ),
        (Condition(operator="set", path="n"), {"n": "0"}, True),
        (Condition(operator="set", path="n"), {"n": ""}, False),
        (Condition(operator="not_set", path="n"), {}, True),
        (
            Condition(operator="gt", values=("10",), path="n", question_type="integer"),
            {"n": "9"},
            False,
        ),
        (
            Condition(operator="gt", values=("10",), path="n", question_type="integer"),
            {"n": "11"},
            True,
        ),
        (
            Condition(operator="gt", values=("10",), path="n", question_type="integer"),
            {"n": "x"},
            False,
        ),
        (
            Condition(operator="lt", values=("2024-06-01",), path="d", question_type="date"),
            {"d": "2024-05-31"},
            True,
        ),
        (
            Condition(
                operator="gt",
                values=("2024-06-01",),
                path="_submission_time",
                question_type="datetime",
            ),
            {"_submission_time": "2024-06-01T10:00:00"},
            True,
        ),
        (
            Condition(operator="is", values=("bob",), path="_submitted_by"),
            {"_submitted_by": "bob"},
            True,
        ),
    ],
)
def test_holds(condition, data, holds):
    assert condition.holds(data) is holds


def test_words_and_the_first_failing():
    needs = Condition(operator="contains", values=("food",), value_labels=("Food",), **NEEDS)
    answered = Condition(operator="set", path="phone", question_label="Phone")
    assert needs.describe() == "Needs contains Food"
    assert needs.describe(negate=True) == "Needs does not contain Food"
    assert failing([answered, needs], {"phone": "1", "needs": "water"}) is needs
    assert failing([answered, needs], {"phone": "1", "needs": "food"}) is None
