"""A fake KoBoToolbox KPI server for tests and offline demos (stdlib only,
plus openpyxl/xlrd for XLSForms). See ``server.FakeKobo``."""

from .server import FakeKobo
from .xlsform import build_xlsform, read_xlsform

__all__ = ["FakeKobo", "build_xlsform", "read_xlsform"]
