"""normalize_server_url: what users paste, and what is refused."""

import pytest
from kobo_kpi.client import normalize_server_url

EU = "https://eu.kobotoolbox.org"


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        ("kf.kobotoolbox.org", "https://kf.kobotoolbox.org"),
        ("  https://KF.KoboToolbox.org///  ", "https://kf.kobotoolbox.org"),
        ("HTTPS://kf.kobotoolbox.org", "https://kf.kobotoolbox.org"),
        ("https://kf.kobotoolbox.org/api/v2", "https://kf.kobotoolbox.org"),
        ("https://kf.kobotoolbox.org/api/v2/", "https://kf.kobotoolbox.org"),
        (
            "https://kf.kobotoolbox.org/api/v2/assets/aBc123/data/?limit=5",
            "https://kf.kobotoolbox.org",
        ),
        ("https://kf.kobotoolbox.org/#/forms/aBc123/summary", "https://kf.kobotoolbox.org"),
        ("https://kf.kobotoolbox.org/#/", "https://kf.kobotoolbox.org"),
        ("http://localhost:8000/", "http://localhost:8000"),
        ("127.0.0.1:8000", "https://127.0.0.1:8000"),
        ("https://[::1]:8443/", "https://[::1]:8443"),
        ("https://example.org/kobo/api/v2/assets/", "https://example.org/kobo"),
        ("https://example.org/kobo/", "https://example.org/kobo"),
        ("https://example.org/api/v2x", "https://example.org/api/v2x"),
        ("https://user:secret@Example.org/", "https://example.org"),
        ("https://kobo.humanitarianresponse.info", EU),
        ("kobo.humanitarianresponse.info/", EU),
        ("https://kf.kobo.humanitarianresponse.info/#/forms/aX/summary", EU),
        ("http://kc.kobo.humanitarianresponse.info/api/v2/", EU),
        ("https://KF.Kobo.HumanitarianResponse.info", EU),
    ],
)
def test_normalize(pasted, expected):
    assert normalize_server_url(pasted) == expected
    assert normalize_server_url(expected) == expected  # idempotent


@pytest.mark.parametrize(
    ("pasted", "words"),
    [
        ("", "Enter the address"),
        ("   ", "Enter the address"),
        (None, "Enter the address"),
        ("ftp://kf.kobotoolbox.org", "https://"),
        ("file:///etc/passwd", "https://"),
        ("mailto:bob@example.org", "not a web address"),
        ("javascript:alert(1)", "not a web address"),
        ("https://", "not a valid server address"),
        ("https://exa mple.org", "not a valid server address"),
        ("https://example.org:99999", "not a valid server address"),
    ],
)
def test_refused(pasted, words):
    with pytest.raises(ValueError, match=words) as info:
        normalize_server_url(pasted)
    assert str(info.value).endswith(".")
