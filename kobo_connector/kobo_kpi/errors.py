"""Typed errors of the KPI client. Each carries KoBo's own message."""


class KoboError(Exception):
    """Base class: ``status`` is the HTTP status (None when no answer came),
    ``message`` KoBo's own words (or ours when KoBo said nothing useful)."""

    def __init__(self, message, status=None, url=None, body=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.url = url
        self.body = body

    def __str__(self):
        return self.message


class KoboConnectionError(KoboError):
    """The server could not be reached (DNS, refused, TLS, timeout)."""


class KoboBadRequest(KoboError):
    """400: KoBo refused the request; ``message`` joins the field errors."""


class KoboAuthError(KoboError):
    """401: missing, wrong or expired token, or wrong username/password."""


class KoboForbidden(KoboError):
    """403: authenticated, but not allowed."""


class KoboNotFound(KoboError):
    """404: does not exist, or exists and is hidden from this user."""


class KoboMethodNotAllowed(KoboError):
    """405: e.g. POST on an existing deployment."""


class KoboConflict(KoboError):
    """409."""


class KoboGone(KoboError):
    """410: the removed v1 API."""


class KoboThrottled(KoboError):
    """429, or 503 with Retry-After; ``retry_after`` in seconds or None."""

    def __init__(self, message, status=None, url=None, body=None, retry_after=None):
        super().__init__(message, status=status, url=url, body=body)
        self.retry_after = retry_after


class KoboServerError(KoboError):
    """5xx."""


class KoboNotJson(KoboError):
    """The answer was not JSON (an HTML login page, a proxy error page):
    usually a wrong URL, or a server that is not KPI."""


class KoboImportError(KoboError):
    """An XLSForm import ended in ``error``; ``error_type`` is KPI's class name."""

    def __init__(self, message, error_type=None, **kw):
        super().__init__(message, **kw)
        self.error_type = error_type


class KoboTimeout(KoboError):
    """A bounded wait (e.g. polling an import) ran out."""
