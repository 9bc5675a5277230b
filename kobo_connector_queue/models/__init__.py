from . import kobo_form
from . import kobo_server
