"""What a KoBo mapping may write, decided on the server, in one place.

- The **allowlist** (``kobo.allowed.model``): the target models a system
  administrator allows (contacts by default; a bridge addon adds its own).
- The **hard floor**, in code, that no record lifts: never ``ir.*``,
  ``res.users``, ``res.groups``, ``res.company``, technical models, nor a
  field that is not stored, read-only, computed without inverse, restricted
  by ``groups``, or security-relevant (passwords, groups, companies, users,
  access tokens, relations to those models).
- **Line models**: the models each allowlist entry names as the lines of its
  records (a repeat group -> one2many lines: a transfer's moves, a
  contact's child contacts), still under the floor; nothing else reached
  through a one2many (a contact's bank accounts) is ever a line.
- The **safe pickers** (``kobo.target.model``, ``kobo.target.field``): read-only
  SQL views of ``ir.model`` / ``ir.model.fields`` (same ids) that show a KoBo
  manager exactly what the policy allows, without any read right on
  ``ir.model*``. A later picker (a comodel's lookup field, approved server
  actions) is another ``_table_query`` model over the same policy.

The API (``self.env["kobo.allowed.model"]``): ``_model_error``,
``_line_models``, ``_field_error``, ``_allowed_fields``, ``_check_target``,
``_protected_ids``. The import user's own access rights stay the final guard.
"""

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from odoo.addons.base.models.ir_model import FIELD_TYPES

from ..kobo_kpi.submission import SUPPORTED_TYPES

# binary/image are filled from a photo or file question (its attachment)
MAPPABLE_TYPES = sorted(SUPPORTED_TYPES)

# models no mapping ever writes, whatever the allowlist says
FLOOR_PREFIXES = (
    "ir.",
    "base.",
    "base_import.",
    "bus.",
    "mail.",
    "discuss.",
    "auth",
    "iap.",
    "web_",
    "kobo.",
    "res.users",
    "res.groups",
    "res.company",
    "res.config",
    "res.device",
    "res.lang",
    "res.currency",
    "res.country",
    "report.",
    "change.password",
    "digest.",
)
# a relation to one of these is a security-relevant field
SECURITY_MODEL_PREFIXES = (
    "ir.",
    "res.users",
    "res.groups",
    "res.company",
    "res.config",
    "auth",
    "mail.",
    "discuss.",
    "bus.",
)
SECURITY_FIELDS = {
    "id",
    "create_uid",
    "create_date",
    "write_uid",
    "write_date",
    "password",
    "new_password",
    "groups_id",
    "company_id",
    "company_ids",
    "user_id",
    "user_ids",
    "users",
    "share",
    "res_model",
    "res_model_id",
    "res_id",
    "model",
    "model_id",
}
SECURITY_FIELD_PREFIXES = (
    "message_",
    "activity_",
    "website_message",
    "access_",
    "signup_",
    "api_key",
)
SECURITY_FIELD_PARTS = ("password", "token", "secret")


class KoboAllowedModel(models.Model):
    """A model that KoBo mappings may create and update records of."""

    _name = "kobo.allowed.model"
    _description = "KoBo Allowed Target Model"
    _order = "name, id"

    name = fields.Char(required=True, translate=True)
    model = fields.Char(
        string="Technical Name", required=True, help="The Odoo model, e.g. res.partner."
    )
    line_models = fields.Char(
        string="Lines",
        help="Technical names (comma-separated) of the models a repeat group may create as "
        "one2many lines of these records, e.g. stock.move for transfers. Nothing else.",
    )

    _sql_constraints = [
        ("model_uniq", "unique(model)", "This model is already allowed."),
    ]

    @api.constrains("model", "line_models")
    def _check_model(self):
        for allowed in self:
            for model_name in [allowed.model, *allowed._line_model_names()]:
                error = self._floor_error(model_name)
                if error:
                    raise ValidationError(error)

    def _line_model_names(self):
        return [name.strip() for name in (self.line_models or "").split(",") if name.strip()]

    def unlink(self):
        self.env["kobo.mapping"]._disable_gone(self.mapped("model"), reason="allowlist")
        return super().unlink()

    # ------------------------------------------------------------------
    # The policy
    # ------------------------------------------------------------------
    @api.model
    def _floor_error(self, model_name):
        """Why ``model_name`` is below the hard floor (None if it is not)."""
        if not model_name or model_name not in self.env:
            return self.env._("The model %(model)s does not exist.", model=model_name)
        Model = self.env[model_name]
        if (
            model_name.startswith(FLOOR_PREFIXES)
            or Model._transient
            or Model._abstract
            or not Model._auto
        ):
            return self.env._(
                "KoBo imports never write %(model)s records (a technical or "
                "security-relevant model).",
                model=model_name,
            )
        return None

    @api.model
    def _allowed_models(self):
        """The allowlist, above the floor: {model name}."""
        # sudo: the allowlist is no secret, and every import path needs it
        names = self.sudo().search([]).mapped("model")
        return {name for name in names if not self._floor_error(name)}

    @api.model
    def _line_models(self):
        """{model name} the allowlist entries name as their lines, above the floor."""
        # sudo: the allowlist is no secret, and every import path needs it
        entries = self.sudo().search([])
        names = {name for entry in entries for name in entry._line_model_names()}
        return {name for name in names if not self._floor_error(name)}

    @api.model
    def _model_error(self, model_name, line=False):
        """Why ``model_name`` may not be a mapping's target (``line``: the
        target of a repeat's lines). None if it may."""
        error = self._floor_error(model_name)
        if error:
            return error
        if model_name in self._allowed_models() or (line and model_name in self._line_models()):
            return None
        return self.env._(
            "KoBo mappings may not create %(model)s records: a system administrator "
            "allows target models in KoBoToolbox > Configuration > Allowed Models.",
            model=model_name,
        )

    @api.model
    def _field_error(self, model_name, field_name):
        """Why the field may not be written by an import (None if it may).
        Checks the field only: the model is checked by ``_model_error``."""
        if not model_name or model_name not in self.env:
            return self.env._("The model %(model)s does not exist.", model=model_name)
        field = self.env[model_name]._fields.get(field_name or "")
        if field is None:
            return self.env._(
                "The model %(model)s has no field %(field)s.", model=model_name, field=field_name
            )

        def refuse(reason):
            return self.env._(
                "The field %(field)s of %(model)s cannot be filled from KoBo: %(reason)s.",
                field=field.string or field.name,
                model=model_name,
                reason=reason,
            )

        name = field.name
        if field.groups:
            return refuse(self.env._("it is restricted to some groups"))
        if (
            name in SECURITY_FIELDS
            or name.startswith(SECURITY_FIELD_PREFIXES)
            or any(part in name for part in SECURITY_FIELD_PARTS)
            or (field.relational and field.comodel_name.startswith(SECURITY_MODEL_PREFIXES))
        ):
            return refuse(self.env._("it is security-relevant"))
        if not field.store:
            return refuse(self.env._("it is not stored"))
        if field.compute and not field.inverse and field.readonly:
            return refuse(self.env._("it is computed"))
        if field.readonly:
            return refuse(self.env._("it is read-only"))
        if field.type not in MAPPABLE_TYPES:
            return refuse(self.env._("its type (%(type)s) is not supported", type=field.type))
        if field.type in ("one2many", "many2many") and self._floor_error(field.comodel_name):
            return refuse(self.env._("it links to records of a technical model"))
        return None

    @api.model
    def _allowed_fields(self, model_name):
        """[field name] of ``model_name`` that an import may write."""
        if model_name not in self.env:
            return []
        return [
            name for name in self.env[model_name]._fields if not self._field_error(model_name, name)
        ]

    @api.model
    def _check_target(self, model_name, field_names=(), line=False):
        """Raise UserError unless imports may write these fields of this model."""
        error = self._model_error(model_name, line=line)
        for name in field_names:
            error = error or self._field_error(model_name, name)
        if error:
            raise UserError(error)

    @api.model
    def _protected_ids(self, model_name):
        """Ids of ``model_name`` records that no import updates: those an
        Odoo user or company points to (e.g. their partners: overwriting a
        user's email would be an account takeover through password reset)."""
        ids = set()
        for owner in ("res.users", "res.company"):
            Owner = self.env[owner]
            for field in Owner._fields.values():
                if field.type == "many2one" and field.comodel_name == model_name and field.store:
                    self.env.cr.execute(
                        SQL(
                            "SELECT DISTINCT %s FROM %s WHERE %s IS NOT NULL",
                            SQL.identifier(field.name),
                            SQL.identifier(Owner._table),
                            SQL.identifier(field.name),
                        )
                    )
                    ids.update(row[0] for row in self.env.cr.fetchall())
        return ids


class KoboTargetModel(models.Model):
    """Safe picker: the allowed target models (ids of ``ir.model``)."""

    _name = "kobo.target.model"
    _description = "KoBo Target Model (picker)"
    _auto = False
    _order = "name"

    name = fields.Char(translate=True, readonly=True)
    model = fields.Char(readonly=True)

    @property
    def _table_query(self):
        allowed = sorted(self.env["kobo.allowed.model"]._allowed_models())
        return SQL("SELECT id, name, model FROM ir_model WHERE model = ANY(%s)", allowed)


class KoboFieldPicker(models.AbstractModel):
    """A safe picker of fields: a read-only view of the ``ir.model.fields``
    rows (same ids) that a policy lets through, for users who may not read
    ``ir.model.fields``. A picker gives ``_picked(model_name)``."""

    _name = "kobo.field.picker"
    _description = "KoBo Field Picker"

    name = fields.Char(readonly=True)
    field_description = fields.Char(string="Field", translate=True, readonly=True)
    model = fields.Char(string="Model Name", readonly=True)
    model_id = fields.Many2one("kobo.target.model", string="Model", readonly=True)
    ttype = fields.Selection(FIELD_TYPES, string="Type", readonly=True)
    relation = fields.Char(readonly=True)

    def _picked_models(self):
        return self.env["kobo.allowed.model"]._allowed_models()

    def _picked(self, model_name):
        """[field name] of ``model_name`` this picker offers."""
        raise NotImplementedError

    @property
    def _table_query(self):
        Fields = self.env["ir.model.fields"]
        ids = []
        for model_name in self._picked_models():
            field_ids = Fields._get_ids(model_name)
            ids += [field_ids[name] for name in self._picked(model_name) if name in field_ids]
        return SQL(
            "SELECT id, name, field_description, model, model_id, ttype, relation "
            "FROM ir_model_fields WHERE id = ANY(%s)",
            sorted(ids),
        )


class KoboTargetField(models.Model):
    """Safe picker: the fields an import may write, of the allowed models and
    of their line models."""

    _name = "kobo.target.field"
    _inherit = "kobo.field.picker"
    _description = "KoBo Target Field (picker)"
    _auto = False
    _order = "field_description, name"
    _rec_name = "field_description"
    _rec_names_search = ["field_description", "name"]

    def _picked_models(self):
        Policy = self.env["kobo.allowed.model"]
        return Policy._allowed_models() | Policy._line_models()

    def _picked(self, model_name):
        return self.env["kobo.allowed.model"]._allowed_fields(model_name)


class IrModel(models.Model):
    _inherit = "ir.model"

    def unlink(self):
        # a module's uninstall removes its models: mappings are kept, disabled
        self.env["kobo.mapping"]._disable_gone(self.mapped("model"))
        return super().unlink()


class IrModelFields(models.Model):
    _inherit = "ir.model.fields"

    def unlink(self):
        self.env["kobo.mapping"]._disable_gone(fields=[(f.model, f.name) for f in self])
        return super().unlink()
