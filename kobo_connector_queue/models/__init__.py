from . import kobo_form
