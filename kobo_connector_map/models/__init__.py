from . import kobo_form, kobo_submission
