"""Where a submission came from: KoBo's ``_geolocation`` or a chosen geopoint."""

import pytest
from kobo_kpi.submission import location


def test_kobo_geolocation_by_default():
    assert location({"_geolocation": [-1.2921, 36.8219]}) == (-1.2921, 36.8219)


def test_chosen_geopoint_wins():
    sub = {"_geolocation": [1.0, 2.0], "visit/gps": "4.85 31.58 480 5"}
    assert location(sub, "visit/gps") == (4.85, 31.58)


@pytest.mark.parametrize(
    "sub, xpath",
    [
        ({"_geolocation": [None, None]}, None),  # KoBo's answer without geopoint
        ({}, None),
        ({"_geolocation": "1 2"}, None),
        ({"gps": ""}, "gps"),
        ({"gps": "north"}, "gps"),
        ({"gps": "91 10 0 0"}, "gps"),  # no such latitude
        ({"gps": "10 200 0 0"}, "gps"),
        ({"gps": "nan 10"}, "gps"),
        ({"gps": ["1", "2"]}, "gps"),
        ({"_geolocation": [1.0, 2.0]}, "gps"),  # the chosen question unanswered
    ],
)
def test_no_location(sub, xpath):
    assert location(sub, xpath) == (None, None)
