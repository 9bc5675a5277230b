"""KPI's asset permissions: codenames, implications, contradictions, labels."""

# codename: (name, implied, contradictory)
PERMISSIONS = {
    "add_submissions": ("Can submit data to asset", (), ()),
    "change_asset": ("Can change asset", ("view_asset",), ()),
    "change_submissions": (
        "Can modify submitted data for asset",
        ("add_submissions", "view_asset", "view_submissions"),
        ("partial_submissions",),
    ),
    "delete_submissions": (
        "Can delete submitted data for asset",
        ("view_asset", "view_submissions"),
        ("partial_submissions",),
    ),
    "discover_asset": ("Can discover asset in public lists", ("view_asset",), ()),
    "manage_asset": (
        "Can manage all aspects of asset",
        (
            "discover_asset",
            "add_submissions",
            "change_asset",
            "change_submissions",
            "validate_submissions",
            "view_submissions",
            "delete_submissions",
            "view_asset",
        ),
        (),
    ),
    "partial_submissions": (
        "Can make partial actions on submitted data for asset for specific users",
        ("view_asset",),
        (
            "view_submissions",
            "change_submissions",
            "delete_submissions",
            "validate_submissions",
            "manage_asset",
        ),
    ),
    "validate_submissions": (
        "Can validate submitted data asset",
        ("view_asset", "view_submissions"),
        ("partial_submissions",),
    ),
    "view_asset": ("Can view asset", (), ()),
    "view_submissions": (
        "Can view submitted data for asset",
        ("view_asset",),
        ("partial_submissions",),
    ),
}

PARTIAL_LABEL = {
    "default": "Act on submissions only from specific users",
    "view_submissions": "View submissions only from specific users",
    "change_submissions": "Edit submissions only from specific users",
    "delete_submissions": "Delete submissions only from specific users",
    "validate_submissions": "Validate submissions only from specific users",
}
LABELS = {
    "view_asset": "View form",
    "change_asset": "Edit form",
    "manage_asset": "Manage project",
    "add_submissions": "Add submissions",
    "view_submissions": "View submissions",
    "partial_submissions": PARTIAL_LABEL,
    "change_submissions": "Edit submissions",
    "delete_submissions": "Delete submissions",
    "validate_submissions": "Validate submissions",
    "discover_asset": "Discover asset",
}
ASSIGNABLE = {
    "survey": [
        "view_asset",
        "change_asset",
        "manage_asset",
        "add_submissions",
        "view_submissions",
        "partial_submissions",
        "change_submissions",
        "delete_submissions",
        "validate_submissions",
    ],
    "collection": ["view_asset", "change_asset", "discover_asset", "manage_asset"],
}
OWNER_PERMS = sorted(set(PERMISSIONS["manage_asset"][1]) - {"discover_asset"} | {"manage_asset"})


def assignable(asset_type):
    return ASSIGNABLE.get(asset_type, ["view_asset", "change_asset", "manage_asset"])


def with_implied(codename):
    """The codename plus everything it implies (manage_asset skips discover)."""
    implied = set(PERMISSIONS[codename][1]) | {codename}
    if codename == "manage_asset":
        implied.discard("discover_asset")
    return implied


def implying(codename):
    """Codenames whose grant implies ``codename`` (revoked along with it)."""
    return {c for c, (_n, implied, _x) in PERMISSIONS.items() if codename in implied}
