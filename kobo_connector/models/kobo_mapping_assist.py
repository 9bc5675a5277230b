"""What helps a functional user finish a mapping alone: the fields the target
still needs before the mapping may be enabled, Suggest, and the hooks the
bridges (kobo_connector_stock) extend to fill what Odoo derives itself."""

import re
import unicodedata
from collections import defaultdict

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..kobo_kpi.submission import (
    FALSE_WORDS,
    TRUE_WORDS,
    ConversionError,
    Lookup,
    geo_part_of,
    iter_repeat,
    suggest_value_map,
)
from .kobo_allowed_model import MAPPABLE_TYPES
from .kobo_mapping import _Plan

# question types and the field types that can take their answers
TEXT_TYPES = {"char", "text", "html"}
FIT = {
    "text": TEXT_TYPES | {"selection", "many2one", "many2many"},
    "integer": {"integer", "float", "monetary", "char", "text"},
    "decimal": {"float", "monetary", "char", "text"},
    "range": {"integer", "float", "char"},
    "date": {"date", "datetime", "char"},
    "datetime": {"datetime", "date", "char"},
    "start": {"datetime", "date", "char"},
    "end": {"datetime", "date", "char"},
    "today": {"date", "datetime", "char"},
    "time": {"float", "char"},
    "select_one": {"selection", "many2one", "boolean", "char", "text"},
    "select_one_from_file": {"selection", "many2one", "char", "text"},
    "select_multiple": {"many2many", "char", "text"},
    "select_multiple_from_file": {"many2many", "char", "text"},
    "acknowledge": {"boolean", "char"},
    "geopoint": {"float", "char", "text"},
    "image": {"binary", "image", "char"},
    "audio": {"binary", "char"},
    "video": {"binary", "char"},
    "file": {"binary", "char"},
    "begin_repeat": {"one2many"},
    "repeat": {"one2many"},
}
# never filled from a form
SKIP_FIELDS = {"id", "create_uid", "create_date", "write_uid", "write_date", "company_id"}


def field_fits(question_type, field_type):
    """Whether an answer of ``question_type`` can fill a field of ``field_type``."""
    return field_type in FIT.get(question_type, TEXT_TYPES)


def fitting_types(question_type):
    """[field type] a question of ``question_type`` ("select_one list" too)
    can fill, among the mappable ones; all of them without a question (a
    constant)."""
    base = (question_type or "").split()[0] if question_type else ""
    return [t for t in MAPPABLE_TYPES if not base or field_fits(base, t)]


def _words(text):
    """Lower-case words of ``text`` without accents, in any script
    ("Chef_de_ménage" -> "chef de menage")."""
    text = unicodedata.normalize("NFKD", str(text or ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower().replace("_", " ")
    return " ".join(re.findall(r"[^\W_]+", text))


# What field users write for a field (by its name, on any target), in the
# languages forms are written in; bridges add theirs (_kobo_suggest_words).
SYNONYMS = {
    "name": (
        "head of household",
        "household head",
        "name of head of household",
        "full name",
        "respondent",
        "respondent name",
        "beneficiary name",
        "caregiver name",
        "name of the school",
        "nom",
        "nom complet",
        "chef de menage",
        "nom du chef de menage",
        "nombre",
        "nombre completo",
        "jefe de hogar",
        "nombre del jefe de hogar",
        "nome",
        "nome completo",
        "jina",
        "jina kamili",
        "الاسم",
        "الاسم الكامل",
        "اسم المستفيد",
    ),
    "phone": (
        "telephone",
        "phone number",
        "telephone number",
        "tel",
        "contact number",
        "numero de telephone",
        "telefono",
        "numero de telefono",
        "telefone",
        "simu",
        "namba ya simu",
        "الهاتف",
        "رقم الهاتف",
    ),
    "mobile": (
        "mobile number",
        "cell",
        "cell phone",
        "cellphone",
        "mobile money number",
        "portable",
        "celular",
        "numero de celular",
        "telemovel",
        "الجوال",
        "رقم الجوال",
    ),
    "email": (
        "e mail",
        "email address",
        "courriel",
        "adresse e mail",
        "correo",
        "correo electronico",
    ),
    "city": (
        "village",
        "town",
        "locality",
        "community",
        "settlement",
        "ville",
        "localite",
        "ciudad",
        "comunidad",
        "cidade",
        "aldeia",
        "kijiji",
        "القرية",
        "المدينة",
    ),
    "street": ("address", "street address", "adresse", "direccion", "endereco", "anwani"),
    "zip": ("postal code", "postcode", "code postal", "codigo postal"),
    "country_id": (
        "nationality",
        "country of origin",
        "pays",
        "nationalite",
        "pais",
        "nacionalidad",
    ),
    "state_id": ("province", "region", "provincia", "mkoa"),
    "function": (
        "occupation",
        "profession",
        "job",
        "job title",
        "main occupation",
        "metier",
        "ocupacion",
        "profissao",
    ),
    "comment": (
        "notes",
        "note",
        "remarks",
        "comments",
        "observations",
        "remarques",
        "observaciones",
        "observacoes",
    ),
    "ref": (
        "card number",
        "ration card number",
        "registration number",
        "beneficiary id",
        "household id",
    ),
    "category_id": ("categories", "vulnerabilities", "vulnerability", "needs"),
    "child_ids": (
        "household members",
        "members",
        "family members",
        "dependants",
        "dependents",
        "people",
        "persons",
        "teachers",
        "staff",
        "membres du menage",
        "miembros del hogar",
        "membros do agregado",
        "افراد الاسرة",
    ),
    "title": ("civility", "civilite", "salutation"),
    "type": ("address type", "type of address"),
}
# words of a date question that holds a date of birth
BIRTH_WORDS = {
    "birth",
    "born",
    "dob",
    "birthday",
    "naissance",
    "nacimiento",
    "nascimento",
    "kuzaliwa",
    "الميلاد",
}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^(\+|00?)[0-9][0-9 ().-]{6,18}[0-9]$")  # an international or local number
STORED_LIMIT = 300  # the latest stored submissions every proposed line is tried on


def _is_phone(name, field):
    return field.type == "char" and (name == "phone" or name.endswith("_phone"))


def _is_email(name, field):
    return field.type == "char" and "email" in name.split("_")


def _is_birth_date(name, field):
    return field.type in ("date", "datetime") and any(
        w.startswith("birth") for w in _words(f"{name} {field.string}").split()
    )


def _labels(label, translations):
    """{language: text} of a question's or a choice's labels."""
    # imported when called: importing these files at the top would register their
    # models' classes before this file's, changing the order of the overrides
    from . import kobo_mapping_value

    return kobo_mapping_value._labels(label, translations)


def _never_created():
    """The models an import never creates a record of (see _labels for the import)."""
    from . import kobo_submission_lookup

    return kobo_submission_lookup.NEVER_CREATED


def _value_map(entries, choices):
    """Line values pre-filling the value map: ``entries`` [(choice, values)]."""
    labels = {name: next(iter(texts.values()), False) for name, texts in choices}
    order = {name: seq for seq, (name, _t) in enumerate(choices)}
    return {
        "value_ids": [
            Command.create(
                dict(values, choice=name, choice_label=labels[name], sequence=order[name])
            )
            for name, values in entries
        ]
    }


class KoboMapping(models.Model):
    _inherit = "kobo.mapping"

    suggest_notes = fields.Text(
        string="Held Back by Suggest",
        readonly=True,
        copy=False,
        help="The lines Suggest considered but did not propose, and why.",
    )

    # ------------------------------------------------------------------
    # Hooks for bridges
    # ------------------------------------------------------------------
    def _kobo_derived_fields(self, model_name):
        """Fields of ``model_name`` the import fills itself when they are not
        mapped (a bridge adds, e.g., a stock move's description)."""
        return set()

    def _kobo_suggest_words(self, model_name):
        """{field name: [words]}: what questions filling a field of
        ``model_name`` are often called (bridges add theirs for Suggest)."""
        fields_ = self.env[model_name]._fields
        return {name: list(words) for name, words in SYNONYMS.items() if name in fields_}

    def _kobo_complete_values(self, vals):
        """Complete the resolved values of one record to create (ORM
        commands included) with what Odoo would derive in its own forms.
        Raise UserError for what makes this submission unimportable."""
        return vals

    # ------------------------------------------------------------------
    # Enable check
    # ------------------------------------------------------------------
    def _kobo_required_fields(self, model_name, exclude=()):
        """Labels by name of the fields a record of ``model_name`` cannot be
        created without: stored, required (or a NOT NULL column), with no
        default and not computed."""
        Model = self.env[model_name]
        self.env.cr.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = %s AND is_nullable = 'NO'",
            (Model._table,),
        )
        not_null = {row[0] for row in self.env.cr.fetchall()}
        candidates = [
            name
            for name, field in Model._fields.items()
            if field.store
            and (field.required or name in not_null)
            and not field.compute
            and not field.related
            and name not in SKIP_FIELDS
            and name not in exclude
            and field.type not in ("boolean", "one2many")
        ]
        defaults = Model.default_get(candidates)
        return {
            name: Model._fields[name].string
            for name in candidates
            if defaults.get(name) in (None, False, "")
        }

    def _kobo_missing_required(self):
        """["Model: Field", ...] required by the target (and by the
        lines of its repeats) and neither mapped nor given a constant."""
        self.ensure_one()
        missing = []

        def check(model_name, lines, exclude=()):
            mapped = {line.field_name for line in lines if line.question_path or line.constant}
            required = self._kobo_required_fields(model_name, exclude)
            derived = self._kobo_derived_fields(model_name)
            description = self.env[model_name]._description
            missing.extend(
                f"{description}: {label}"
                for name, label in required.items()
                if name not in mapped and name not in derived
            )
            for line in lines:
                field = self.env[model_name]._fields.get(line.field_name)
                if field is not None and field.type == "one2many" and line.child_ids:
                    check(field.comodel_name, line.child_ids, {field.inverse_name})

        if self.model_name:
            check(self.model_name, self.line_ids)
        return missing

    @api.constrains("enabled")
    def _check_required_mapped(self):
        for mapping in self.filtered("enabled"):
            missing = mapping._kobo_missing_required()
            if missing:
                raise ValidationError(
                    self.env._(
                        "The mapping %(mapping)s cannot be enabled: map a question or give a "
                        "constant for these required fields: %(fields)s.",
                        mapping=mapping.name,
                        fields=", ".join(missing),
                    )
                )

    # ------------------------------------------------------------------
    # Suggest
    # ------------------------------------------------------------------
    def _kobo_suggest_fields(self, model_name):
        """{field name: field} of ``model_name`` an import may write."""
        Model = self.env[model_name]
        return {
            name: Model._fields[name]
            for name in self.env["kobo.allowed.model"]._allowed_fields(model_name)
            if name not in SKIP_FIELDS
            and not name.startswith(("message_", "activity_"))
            and Model._fields[name].type in MAPPABLE_TYPES
        }

    def _kobo_type_hints(self, question, answers, texts):
        """[(test(field name, field), reason)]: the fields that what the
        question's KoBo type, appearance, constraint or stored answers say it
        holds points to."""
        qtype = question.type.split()[0]
        appearance = set((question.appearance or "").lower().split())
        constraint = (question.constraint or "").lower()
        hints = []
        if qtype == "text":
            if appearance & {"tel", "phone", "phone-number", "phonenumber"}:
                hints.append((_is_phone, self.env._("appearance %(appearance)s", appearance="tel")))
            elif answers and all(PHONE_RE.match(a.strip()) for a in answers):
                hints.append((_is_phone, self.env._("stored answers are phone numbers")))
            if "email" in appearance:
                hints.append((_is_email, self.env._("appearance email")))
            elif "regex" in constraint and "@" in constraint:
                hints.append((_is_email, self.env._("its constraint asks for an email address")))
            elif answers and all(EMAIL_RE.match(a.strip()) for a in answers):
                hints.append((_is_email, self.env._("stored answers are email addresses")))
        elif qtype in ("phone", "tel", "phonenumber"):
            hints.append((_is_phone, self.env._("type %(type)s", type=qtype)))
        elif qtype == "date" and BIRTH_WORDS & {w for t in texts for w in t.split()}:
            hints.append((_is_birth_date, self.env._("date of birth")))
        return hints

    def _kobo_candidates(self, model_name, question, answers, fields_, words):
        """[(rank, field name, reason)] the fields ``question`` could fill,
        best first: the words a bridge or field users give a field, the
        field's name or label equal to the question's name or one of its
        labels (any form language), what the question's type, appearance,
        constraint or stored answers say it holds, the field's name ending
        the question's."""
        qtype = question.type.split()[0]
        texts = {_words(question.name): (question.name, self.env._("name matches"))}
        for language, text in _labels(question.label, question.label_translations).items():
            reason = (
                self.env._("label matches (%(language)s)", language=language)
                if language
                else self.env._("label matches")
            )
            texts.setdefault(_words(text), (text, reason))
        texts.pop("", None)
        hints = self._kobo_type_hints(question, answers, texts)
        found = []
        for name, field in fields_.items():
            if not field_fits(qtype, field.type):
                continue
            plain = _words(name.removesuffix("_ids").removesuffix("_id"))
            label = _words(field.string)
            said = next((t for t in texts if t in words.get(name, ())), None)
            ends = next(
                (t for t in texts for x in (plain, label) if x and t.endswith(" " + x)), None
            )
            if qtype == "geopoint" and field.type == "float":
                part = geo_part_of(name)
                if part in ("lat", "lon"):
                    found.append((3, name, self.env._("geopoint: %(part)s", part=field.string)))
            elif said:
                text = texts[said][0]
                reason = self.env._('"%(text)s" means %(field)s', text=text, field=field.string)
                found.append((0, name, reason))
            elif plain in texts or label in texts:
                found.append((1, name, (texts.get(plain) or texts[label])[1]))
            elif any(hint(name, field) for hint, _reason in hints):
                reason = next(reason for hint, reason in hints if hint(name, field))
                found.append((2, name, reason))
            elif ends:
                text = texts[ends][0]
                reason = self.env._('"%(text)s" ends with %(field)s', text=text, field=field.string)
                found.append((4, name, reason))
            elif question.is_repeat and field.comodel_name == model_name:
                found.append(
                    (
                        4,
                        name,
                        self.env._(
                            "a repeat of %(model)s records", model=self.env[model_name]._description
                        ),
                    )
                )
        return sorted(found)

    def _kobo_stored_payloads(self):
        """The latest stored submissions of the form (what Suggest tries its lines on)."""
        subs = self.env["kobo.submission"].search(
            [("form_id", "=", self.form_id.id)], order="kobo_id desc", limit=STORED_LIMIT
        )
        return [payload for payload in subs.mapped("payload") if isinstance(payload, dict)]

    def _kobo_lookup_env(self):
        """kobo.submission in the form's import environment: records are found as
        the import finds them (the bridges' lookups included)."""
        env = self.form_id._import_env()
        return self.env["kobo.submission"].with_env(env).with_context(kobo_mapping_id=self.id)

    def _kobo_find_choices(self, model_name, choices):
        """{choice name: (record id, found by a text the import does not try
        itself)} of the choices whose name or label (any language) names a
        record of ``model_name``."""
        Lookup = self._kobo_lookup_env()
        texts = {t for name, labels in choices for t in (name, *labels.values()) if t}
        try:
            found = Lookup._find_by_names(model_name, sorted(texts), {})
        except AccessError:
            return {}
        result = {}
        for name, labels in choices:
            default = next(iter(labels.values()), None)
            for text in (name, default, *labels.values()):
                if text and found.get(text):
                    result[name] = (found[text], text not in (name, default))
                    break
        return result

    def _kobo_can_create(self, model_name):
        """Whether the import creates missing ``model_name`` records named after an answer."""
        Model = self.form_id._import_env()[model_name]
        rec_name = Model._rec_name or "name"
        return (
            model_name not in _never_created()
            and Model.has_access("create")
            and set(self._kobo_required_fields(model_name)) <= {rec_name}
        )

    def _kobo_fit(self, model_name, field_name, question, answers, said):
        """(line values, reason) for ``question`` into ``field_name``, or
        (None, why not): a select's choices must be the field's values or
        name its records, a text reaches a list of values or a record only
        when stored answers (or the words it was found by) say so."""
        field = self.env[model_name]._fields[field_name]
        qtype = question.type.split()[0]
        choices = [(c.name, _labels(c.label, c.label_translations)) for c in question.choice_ids]
        entries = []
        if qtype == "geopoint" and field.type == "float" and not geo_part_of(field_name):
            return None, self.env._("the field does not say which part of a geopoint it takes")
        if field.type == "selection":
            if qtype == "select_one" and choices:
                table = suggest_value_map(choices, field._description_selection(self.env))
                if len(table) < len(choices):
                    return None, self.env._(
                        "its choices are not the field's values (%(values)s)",
                        values=", ".join(
                            str(v) for v, _l in field._description_selection(self.env)
                        ),
                    )
                entries = [(name, {"value": table[name]}) for name, _l in choices]
                return _value_map(entries, choices), self.env._("choices match the field's values")
            if not answers:
                return None, self.env._(
                    "a text answer fills a list of values only when stored answers show it"
                )
            return {}, self.env._("stored answers are the field's values")
        if field.type == "boolean" and qtype == "select_one":
            if not all(_words(n) in TRUE_WORDS | FALSE_WORDS for n, _l in choices):
                return None, self.env._("its choices are not yes and no")
            return {}, self.env._("choices are yes and no")
        if field.type in ("many2one", "many2many"):
            comodel = self.env[field.comodel_name]._description
            if choices:
                found = self._kobo_find_choices(field.comodel_name, choices)
                entries = [(n, {"res_id": rid}) for n, (rid, needed) in found.items() if needed]
                vals = _value_map(entries, choices)
                missing = [n for n, _l in choices if n not in found]
                if not missing:
                    return vals, self.env._("choices name %(model)s records", model=comodel)
                if field.type == "many2many" and self._kobo_can_create(field.comodel_name):
                    vals["create_missing"] = True
                    return vals, self.env._(
                        "choices name %(model)s records (the missing ones are created)",
                        model=comodel,
                    )
                return None, self.env._(
                    'no %(model)s named "%(choice)s"', model=comodel, choice=missing[0]
                )
            if answers:
                return {}, self.env._("stored answers name %(model)s records", model=comodel)
            if not said:
                return None, self.env._(
                    "a text answer names a record only when stored answers show it"
                )
            return {}, self.env._(
                "answers must name existing %(model)s records (none stored to check)",
                model=comodel,
            )
        if field.type in TEXT_TYPES and qtype == "select_one" and choices:
            entries = [
                (n, {"value": labels[next(iter(labels))]}) for n, labels in choices if labels
            ]
            return _value_map(entries, choices), self.env._("choices written as their labels")
        return {}, ""

    def _kobo_trial(self, line, payloads):
        """Why ``line`` fails on the stored submissions (its first failure), or None."""
        env = self.form_id._import_env()
        questions = {q.xpath: q for q in self.form_id.with_context(active_test=False).question_ids}
        aliases = {}
        try:
            compiled = line._compile(
                env[line._target_model()], questions, env.context.get("tz") or "UTC", aliases
            )
        except (UserError, ValidationError) as exc:
            return exc.args[0]
        plan = _Plan(line._target_model(), compiled, aliases)
        if line.parent_id:
            payloads = [i for p in payloads for i in iter_repeat(p, line.parent_id.question_path)]
        wanted = defaultdict(set)
        for payload in payloads:
            try:
                vals = plan.values(payload)
            except ConversionError as exc:
                return str(exc)
            for value in vals.values():
                if isinstance(value, Lookup) and not (value.create or value.by):
                    wanted[value.model].update(value.names)
        for model_name, names in wanted.items():
            found = self._kobo_lookup_env()._find_by_names(
                model_name, sorted(names), aliases.get(model_name, {})
            )
            missing = sorted(name for name, record_id in found.items() if not record_id)
            if missing:
                return self.env._(
                    'a stored answer names no %(model)s: "%(name)s"',
                    model=self.env[model_name]._description,
                    name=missing[0],
                )
        return None

    def action_suggest(self):
        """Add the lines a person would draw for the unmapped questions, each
        with the reason it was proposed, none that fails on the stored
        submissions (those held back are listed with why); existing lines
        are never changed."""
        for mapping in self:
            questions = mapping.form_id.with_context(active_test=True).question_ids
            notes = []
            mapping._kobo_suggest(
                mapping.model_name,
                mapping.line_ids,
                questions,
                False,
                mapping._kobo_stored_payloads(),
                notes,
            )
            mapping.suggest_notes = "\n".join(notes) or False
        return True

    def _kobo_suggest(
        self, model_name, lines, questions, repeat_path, payloads, notes, parent=None
    ):
        """Propose lines into ``model_name`` for the questions of
        ``repeat_path`` (False: outside repeats), best candidates first
        over all questions; a repeat into a one2many, then its questions."""
        taken = {line.field_name for line in lines}
        used = {line.question_path for line in lines}
        mine = [
            q
            for q in questions
            if not (q.is_metadata or q.is_system or q.is_group or q.type == "note")
            and q.xpath not in used
            and (q.repeat_xpath or False) == repeat_path
        ]
        items = (
            [i for p in payloads for i in iter_repeat(p, repeat_path)] if repeat_path else payloads
        )
        answers = {
            q.xpath: [
                v for v in (i.get(q.xpath) for i in items) if isinstance(v, str) and v.strip()
            ]
            for q in mine
        }
        fields_ = self._kobo_suggest_fields(model_name)
        words = {
            name: {_words(w) for w in texts}
            for name, texts in self._kobo_suggest_words(model_name).items()
        }
        candidates = {
            q: self._kobo_candidates(model_name, q, answers[q.xpath], fields_, words) for q in mine
        }
        done, held = set(), {}
        for rank in range(5):
            for question in mine:
                if question in done:
                    continue
                for r, name, reason in candidates[question]:
                    if r != rank or name in taken:
                        continue
                    line, why = self._kobo_propose(
                        model_name,
                        question,
                        name,
                        reason,
                        answers[question.xpath],
                        rank == 0,
                        questions,
                        payloads,
                        notes,
                        parent,
                    )
                    if line:
                        taken.add(name)
                        done.add(question)
                        if question.type != "geopoint":
                            break
                    else:
                        held.setdefault(question, (name, why))
        for question, (name, why) in held.items():
            if question not in done:
                notes.append(
                    self.env._(
                        "%(question)s → %(field)s: %(why)s",
                        question=question.label or question.xpath,
                        field=self.env[model_name]._fields[name].string,
                        why=why,
                    )
                )

    def _kobo_propose(
        self, model_name, question, name, reason, answers, said, questions, payloads, notes, parent
    ):
        """(the line created, None) or (None, why it was held back)."""
        if question.is_repeat:
            return self._kobo_propose_repeat(
                model_name, question, name, reason, questions, payloads, notes, parent
            )
        vals, why = self._kobo_fit(model_name, name, question, answers, said)
        if vals is None:
            return None, why
        reasons = ", ".join(r for r in (reason, why) if r)
        line = self.env["kobo.mapping.line"].create(
            dict(
                vals,
                mapping_id=self.id,
                parent_id=parent.id if parent else False,
                question_path=question.xpath,
                field_name=name,
                suggest_reason=reasons,
            )
        )
        failure = self._kobo_trial(line, payloads)
        if failure:
            line.unlink()
            return None, failure
        return line, None

    def _kobo_propose_repeat(
        self, model_name, question, name, reason, questions, payloads, notes, parent
    ):
        """A repeat into a one2many, kept when its questions fill what a
        line record needs (its name, its required fields)."""
        field = self.env[model_name]._fields[name]
        comodel = field.comodel_name
        if self.env["kobo.allowed.model"]._model_error(comodel, line=True):
            return None, self.env._("its lines are not allowed")
        line = self.env["kobo.mapping.line"].create(
            {
                "mapping_id": self.id,
                "parent_id": parent.id if parent else False,
                "question_path": question.xpath,
                "field_name": name,
                "suggest_reason": reason,
            }
        )
        self._kobo_suggest(
            comodel, line.child_ids, questions, question.xpath, payloads, notes, line
        )
        needed = set(self._kobo_required_fields(comodel, {field.inverse_name}))
        Comodel = self.env[comodel]
        if "name" in Comodel._fields and Comodel._fields["name"].store:
            needed.add("name")
        needed -= self._kobo_derived_fields(comodel)
        missing = needed - set(line.child_ids.mapped("field_name"))
        if missing:
            line.unlink()
            return None, self.env._(
                "no question of the repeat fills %(fields)s",
                fields=", ".join(Comodel._fields[n].string for n in sorted(missing)),
            )
        return line, None


class KoboMappingLine(models.Model):
    _inherit = "kobo.mapping.line"

    fit_types = fields.Json(
        compute="_compute_fit_types",
        help="The field types the chosen question can fill: the Odoo Field picker's domain.",
    )
    suggest_reason = fields.Char(
        string="Why",
        readonly=True,
        copy=False,
        help="Why Suggest proposed this line (cleared when the question or field changes).",
    )

    def write(self, vals):
        if "suggest_reason" not in vals and {
            "question_path",
            "question_id",
            "field_name",
            "field_id",
        } & set(vals):
            vals = dict(vals, suggest_reason=False)
        return super().write(vals)

    @api.depends("question_id", "question_path")
    def _compute_fit_types(self):
        for line in self:
            line.fit_types = fitting_types(line.question_id.type)

    def _compile(self, model, questions, tz, aliases):
        """A required field that Odoo fills itself (a default, a computed
        value, or one a bridge derives) may stay unanswered."""
        compiled = super()._compile(model, questions, tz, aliases)
        mapping = self.mapping_id[:1]
        derived = mapping._kobo_derived_fields(model._name) if mapping else set()
        for line in compiled:
            field = model._fields[line.field]
            if field.required and (line.field in derived or field.compute or field.default):
                line.convert = _optional(line.convert)
        return compiled


def _optional(convert):
    def wrapped(value):
        if value is None or value == "" or value == []:
            return False
        return convert(value)

    return wrapped
