"""Demo forms and deterministic demo submissions for the offline sandbox.

``FORMS`` holds the XLSForm rows of each demo form (reusable by tests);
``seed_demo(fake)`` imports, deploys and fills them.
"""

import datetime as dt
import random
import struct
import zlib

from .xlsform import build_xlsform

EN, FR = "label::English (en)", "label::Français (fr)"


def _q(type_, name, en, fr, **extra):
    return {"type": type_, "name": name, EN: en, FR: fr, **extra}


HOUSEHOLD = {
    "survey": [
        {"type": "start", "name": "start"},
        {"type": "end", "name": "end"},
        _q("begin_group", "hh", "Household", "Ménage"),
        _q("text", "head_name", "Head of household", "Chef de ménage", required="yes"),
        _q("integer", "size", "Household size", "Taille du ménage", required="yes"),
        _q("select_one water", "water", "Main water source", "Source d'eau principale"),
        _q("select_multiple assets", "assets", "Assets owned", "Biens possédés"),
        {"type": "end_group"},
        _q("date", "visit_date", "Visit date", "Date de visite"),
        _q("geopoint", "location", "Location", "Localisation"),
        _q("begin_repeat", "members", "Members", "Membres"),
        _q("text", "member_name", "Name", "Nom"),
        _q("integer", "member_age", "Age", "Âge"),
        _q("select_one sex", "member_sex", "Sex", "Sexe"),
        {"type": "end_repeat"},
    ],
    "choices": [
        {"list_name": "water", "name": "tap", EN: "Tap", FR: "Robinet"},
        {"list_name": "water", "name": "well", EN: "Well", FR: "Puits"},
        {"list_name": "water", "name": "river", EN: "River", FR: "Rivière"},
        {"list_name": "assets", "name": "radio", EN: "Radio", FR: "Radio"},
        {"list_name": "assets", "name": "bicycle", EN: "Bicycle", FR: "Vélo"},
        {"list_name": "assets", "name": "phone", EN: "Mobile phone", FR: "Téléphone"},
        {"list_name": "sex", "name": "female", EN: "Female", FR: "Femme"},
        {"list_name": "sex", "name": "male", EN: "Male", FR: "Homme"},
    ],
    "settings": {
        "form_title": "Household survey",
        "id_string": "household_survey",
        "default_language": "English (en)",
    },
}
STOCK = {
    "survey": [
        {"type": "text", "name": "supplier", "label": "Supplier", "required": "yes"},
        {"type": "date", "name": "delivery_date", "label": "Delivery date"},
        {"type": "begin_repeat", "name": "items", "label": "Items"},
        {"type": "text", "name": "product", "label": "Product name", "required": "yes"},
        {"type": "decimal", "name": "quantity", "label": "Quantity", "required": "yes"},
        {"type": "end_repeat"},
    ],
    "choices": [],
    "settings": {"form_title": "Stock delivery", "id_string": "stock_delivery"},
}
CONTACT = {
    "survey": [
        {"type": "text", "name": "name", "label": "Full name", "required": "yes"},
        {"type": "text", "name": "email", "label": "Email"},
        {"type": "text", "name": "phone", "label": "Phone"},
        {"type": "text", "name": "city", "label": "City"},
    ],
    "choices": [],
    "settings": {"form_title": "Contact registration", "id_string": "contact_registration"},
}
# household registration -> contacts (country, needs as tags, location, members)
REGISTRATION = {
    "survey": [
        _q("text", "head_name", "Head of household", "Chef de ménage", required="yes"),
        _q("text", "phone", "Phone", "Téléphone"),
        _q("select_one country", "country", "Country", "Pays", required="yes"),
        _q("select_multiple needs", "needs", "Needs", "Besoins"),
        _q("geopoint", "location", "Location", "Localisation"),
        _q("image", "photo", "Photo of the household", "Photo du ménage"),
        _q("begin_repeat", "members", "Members", "Membres"),
        _q("text", "member_name", "Name", "Nom", required="yes"),
        _q("integer", "member_age", "Age", "Âge"),
        {"type": "end_repeat"},
    ],
    "choices": [
        {"list_name": "country", "name": "sn", EN: "Senegal", FR: "Sénégal"},
        {"list_name": "country", "name": "ml", EN: "Mali", FR: "Mali"},
        {"list_name": "country", "name": "ke", EN: "Kenya", FR: "Kenya"},
        {"list_name": "needs", "name": "food", EN: "Food", FR: "Nourriture"},
        {"list_name": "needs", "name": "water", EN: "Water", FR: "Eau"},
        {"list_name": "needs", "name": "shelter", EN: "Shelter", FR: "Abri"},
        {"list_name": "needs", "name": "health", EN: "Health", FR: "Santé"},
    ],
    "settings": {
        "form_title": "Household registration",
        "id_string": "household_registration",
        "default_language": "English (en)",
    },
}
# the demo products: their internal references are the codes of products.csv
DISTRIBUTION_PRODUCTS = {
    "KB-RICE25": ("Rice 25kg", "Riz 25kg"),
    "KB-OIL5": ("Cooking oil 5L", "Huile 5L"),
    "KB-SOAP": ("Soap bar", "Savon"),
    "KB-BLANKET": ("Blanket", "Couverture"),
}
# distribution -> one stock picking, one move per item
DISTRIBUTION = {
    "survey": [
        _q("select_one warehouse", "warehouse", "Warehouse", "Entrepôt", required="yes"),
        _q("date", "distribution_date", "Distribution date", "Date de distribution"),
        _q("text", "beneficiary", "Beneficiary", "Bénéficiaire"),
        _q("begin_repeat", "items", "Items", "Articles"),
        # the product list is a form media file published from Odoo (a KoBo media list)
        _q("select_one_from_file products.csv", "product", "Product", "Produit", required="yes"),
        _q("decimal", "quantity", "Quantity", "Quantité", required="yes"),
        _q("select_one unit", "unit", "Unit", "Unité"),
        {"type": "end_repeat"},
    ],
    "choices": [
        {"list_name": "warehouse", "name": "WH", EN: "Main warehouse", FR: "Entrepôt principal"},
        {"list_name": "unit", "name": "units", EN: "Units", FR: "Unités"},
    ],
    "settings": {
        "form_title": "Distribution",
        "id_string": "distribution",
        "default_language": "English (en)",
    },
}
FORMS = {
    "household": HOUSEHOLD,
    "stock": STOCK,
    "contact": CONTACT,
    "registration": REGISTRATION,
    "distribution": DISTRIBUTION,
}

FIRST = [
    "Amina",
    "Jean",
    "Fatou",
    "Pierre",
    "Aïcha",
    "Moussa",
    "Claire",
    "Ibrahim",
    "Sofia",
    "Luc",
    "Mariam",
    "Omar",
    "Chloé",
    "Kofi",
    "Élodie",
    "Youssef",
    "Nadia",
    "Thomas",
]
LAST = ["Diallo", "Martin", "Ndiaye", "Dubois", "Traoré", "Bernard", "Koné", "Moreau", "Sow"]
CITIES = ["Dakar", "Paris", "Bamako", "Lyon", "Abidjan", "Brussels", "Nairobi", "Montréal"]
PRODUCTS = [
    "Rice 25kg",
    "Cooking oil 5L",
    "Soap bar",
    "Maize flour 10kg",
    "Sugar 1kg",
    "Water filter",
    "Blanket",
    "Jerrycan 20L",
]
START = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.timezone.utc)


def xlsform(key):
    form = FORMS[key]
    return build_xlsform(form["survey"], form["choices"], form["settings"])


def _person(rng):
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def household_answers(rng, i):
    day = START + dt.timedelta(days=i)
    members = [
        {
            "members/member_name": _person(rng),
            "members/member_age": str(rng.randint(1, 80)),
            "members/member_sex": rng.choice(["female", "male"]),
        }
        for _ in range(rng.randint(1, 4))
    ]
    return {
        "start": day.strftime("%Y-%m-%dT09:00:00.000+00:00"),
        "end": day.strftime("%Y-%m-%dT09:12:00.000+00:00"),
        "hh/head_name": _person(rng),
        "hh/size": str(len(members)),
        "hh/water": rng.choice(["tap", "well", "river"]),
        "hh/assets": " ".join(sorted(rng.sample(["radio", "bicycle", "phone"], rng.randint(1, 3)))),
        "visit_date": day.date().isoformat(),
        "location": f"{14.6 + rng.random():.5f} {-17.5 + rng.random():.5f} 12.0 5.0",
        "members": members,
    }


def stock_answers(rng, i):
    return {
        "supplier": rng.choice(["Sahel Foods", "Atlas Trading", "Kivu Supplies"]),
        "delivery_date": (START + dt.timedelta(days=i)).date().isoformat(),
        "items": [
            {"items/product": p, "items/quantity": str(rng.randint(1, 50))}
            for p in rng.sample(PRODUCTS, rng.randint(1, 4))
        ],
    }


def contact_answers(rng, i):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    plain = first.lower().translate(str.maketrans("ïéèô", "ieeo"))
    return {
        "name": f"{first} {last}",
        "email": f"{plain}.{last.lower().replace('é', 'e')}{i}@example.org",
        "phone": f"+221 77 {rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
        "city": rng.choice(CITIES),
    }


def registration_answers(rng, i):
    return {
        "head_name": _person(rng),
        "phone": f"+221 70 {rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
        "country": rng.choice(["sn", "ml", "ke"]),
        "needs": " ".join(sorted(rng.sample(["food", "water", "shelter", "health"], 2))),
        "location": f"{14.6 + rng.random():.5f} {-17.5 + rng.random():.5f} 12.0 5.0",
        "members": [
            {"members/member_name": _person(rng), "members/member_age": str(rng.randint(1, 80))}
            for _ in range(rng.randint(1, 3))
        ],
    }


def distribution_answers(rng, i):
    return {
        "warehouse": "WH",
        "distribution_date": (START + dt.timedelta(days=i)).date().isoformat(),
        "beneficiary": _person(rng),
        "items": [
            {
                "items/product": code,
                "items/quantity": str(rng.randint(1, 10)),
                "items/unit": "units",
            }
            for code in rng.sample(sorted(DISTRIBUTION_PRODUCTS), 3)
        ],
    }


ANSWERS = {
    "household": household_answers,
    "stock": stock_answers,
    "contact": contact_answers,
    "registration": registration_answers,
    "distribution": distribution_answers,
}


def png(rgb, size=8):
    """A small one-colour PNG (the households' photos)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def registration_files(rng, i):
    colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
    return {"photo": (f"household_{i}.png", png(colour), "image/png")}


FILES = {"registration": registration_files}


def seed_demo(fake, owner=None, count=20, seed=42):
    """Create, deploy and fill the demo forms; return ``{key: uid}``."""
    rng = random.Random(seed)
    uids = {}
    for key in FORMS:
        uid = fake.create_asset(owner=owner, xlsform=xlsform(key), deploy=True)
        for i in range(count):
            when = START + dt.timedelta(days=i, hours=rng.randint(0, 9), minutes=rng.randint(0, 59))
            files = FILES[key](rng, i) if key in FILES else None
            fake.add_submission(
                uid,
                ANSWERS[key](rng, i),
                submitted_by=owner or fake.admin,
                submission_time=when,
                attachments=files,
            )
        uids[key] = uid
    return uids
