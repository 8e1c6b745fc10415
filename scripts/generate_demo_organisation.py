#!/usr/bin/env python3
"""Write the fictional demo organisation: handleplaner/directory/data/demo-organisation.yaml.

The shape follows SSP København's framework description (seed 003 §3 and §5): a styregruppe
chaired by the head of the secretariat, a chefgruppe, the SSP Sekretariat, five ledergrupper of
three local areas each plus the city-wide SSP+ ledergruppe, fifteen lokaludvalg, seven
koordinationsgrupper plus the SSP+ koordinationsgruppe, and contacts at external parties; about
400 people in all. Every person is fictional: names are drawn, with a fixed seed, from lists of
common Danish first and last names, and any full name that appears in the source documents
(../shared/seeds/*.txt, OCR spellings included) is refused. E-mail domains end in ``.example``
and phone numbers use the unallocated ``+45 00`` range.

    python scripts/generate_demo_organisation.py            # write the file
    python scripts/generate_demo_organisation.py --check    # fail if the file is out of date
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import unicodedata
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "handleplaner" / "directory" / "data" / "demo-organisation.yaml"
SEEDS = ROOT.parent / "shared" / "seeds"
RANDOM_SEED = 2026

AUTHORITIES = [  # code, name, fixed party at a beredskabsmøde
    ("BUF", "Børne- og Ungdomsforvaltningen", True),
    ("SOF", "Socialforvaltningen", True),
    ("KFF", "Kultur- og Fritidsforvaltningen", True),
    ("BIF", "Beskæftigelses- og Integrationsforvaltningen", True),
    ("POL", "Københavns Politi", True),
    ("KRIM", "Kriminalforsorgen Øst", False),
    ("SSP", "SSP Sekretariatet", True),
    ("TSB", "Team Sikker By", False),
    ("HBR", "Hovedstadens Beredskab", False),
    ("BSH", "Boligsociale helhedsplaner", False),
    ("FRB", "Frederiksberg Kommune", False),
    ("TAK", "Tårnby Kommune", False),
    ("DRK", "Dragør Kommune", False),
]
AUTHORITY_NAME = {code: name for code, name, _ in AUTHORITIES}

# The SSP map in seed 003 §3.1 names eleven areas; the other four of the fifteen lokaludvalg are
# not legible there, so Østerbro, Valby, Nordvest and Amager Sydøst complete the city.
AREAS = [  # code, name, bydel
    ("indre-noerrebro", "Indre Nørrebro", "Nørrebro"),
    ("ydre-noerrebro", "Ydre Nørrebro", "Nørrebro"),
    ("oesterbro", "Østerbro", "Østerbro"),
    ("bispebjerg", "Bispebjerg", "Bispebjerg"),
    ("nordvest", "Nordvest", "Bispebjerg"),
    ("broenshoej-bellahoej", "Brønshøj/Bellahøj", "Brønshøj-Husum"),
    ("tingbjerg-husum", "Tingbjerg/Husum", "Brønshøj-Husum"),
    ("vanloese", "Vanløse", "Vanløse"),
    ("valby", "Valby", "Valby"),
    ("indre-by-og-christianshavn", "Indre By og Christianshavn", "Indre By"),
    ("vesterbro", "Vesterbro", "Vesterbro/Kongens Enghave"),
    ("sydhavnen", "Sydhavnen", "Vesterbro/Kongens Enghave"),
    ("amager-nordoest", "Amager Nordøst", "Amager Øst"),
    ("amager-sydoest", "Amager Sydøst", "Amager Øst"),
    ("islands-brygge-og-sundbyvester", "Islands Brygge & Sundbyvester", "Amager Vest"),
]
AREA_NAME = {code: name for code, name, _ in AREAS}

LEDERGRUPPER = {  # five local ledergrupper, three areas each
    1: ["indre-noerrebro", "ydre-noerrebro", "oesterbro"],
    2: ["bispebjerg", "nordvest", "broenshoej-bellahoej"],
    3: ["tingbjerg-husum", "vanloese", "valby"],
    4: ["indre-by-og-christianshavn", "vesterbro", "sydhavnen"],
    5: ["amager-nordoest", "amager-sydoest", "islands-brygge-og-sundbyvester"],
}
KOORDINATIONSGRUPPER = {  # seven local koordinationsgrupper, each inside one ledergruppe
    1: ["indre-noerrebro", "ydre-noerrebro"],
    2: ["oesterbro"],
    3: ["bispebjerg", "nordvest", "broenshoej-bellahoej"],
    4: ["tingbjerg-husum", "vanloese", "valby"],
    5: ["indre-by-og-christianshavn", "vesterbro"],
    6: ["sydhavnen"],
    7: ["amager-nordoest", "amager-sydoest", "islands-brygge-og-sundbyvester"],
}
HELHEDSPLAN_AREAS = ["indre-noerrebro", "ydre-noerrebro", "bispebjerg", "nordvest",
                     "tingbjerg-husum", "vesterbro", "sydhavnen", "amager-nordoest"]

# Names that appear in the source documents are never used, not even in other combinations.
SEED_NAME_WORDS = {"peter", "balsgaard", "hrolf", "langgaard", "carsten", "lund", "jensen",
                   "flemming", "balvig", "jesper", "nielsen", "jan", "møller", "iversen",
                   "bjarne", "jeppesen", "claus", "bülow", "kirsten", "blæhr"}

FIRST_NAMES = [
    "Anne", "Mette", "Hanne", "Louise", "Camilla", "Sofie", "Ida", "Freja", "Maja", "Emma",
    "Line", "Trine", "Signe", "Marie", "Karen", "Lone", "Pia", "Helle", "Birgitte", "Susanne",
    "Charlotte", "Nanna", "Astrid", "Cecilie", "Julie", "Katrine", "Malene", "Rikke", "Tina",
    "Dorthe", "Lærke", "Amalie", "Sara", "Yasmin", "Amira", "Fatima", "Leila", "Aisha", "Nadia",
    "Zainab", "Gitte", "Bente", "Tove", "Sanne", "Stine", "Mia", "Josefine", "Ditte", "Vibeke",
    "Mads", "Søren", "Rasmus", "Anders", "Morten", "Henrik", "Thomas", "Martin", "Mikkel",
    "Kasper", "Jonas", "Frederik", "Christian", "Lars", "Niels", "Torben", "Ole", "Kim", "Jakob",
    "Emil", "Oliver", "Magnus", "Simon", "Nikolaj", "Troels", "Bo", "Ulrik", "Esben", "Mathias",
    "Ali", "Omar", "Hassan", "Ahmad", "Bilal", "Yusuf", "Kenneth", "Michael", "Steen",
    "Kristian", "Asger", "Villads", "Rune", "Anton", "Tobias", "Benjamin", "Mustafa", "Karim",
]
LAST_NAMES = [
    "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen", "Rasmussen",
    "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Christiansen",
    "Poulsen", "Johansen", "Knudsen", "Mortensen", "Holm", "Schmidt", "Frederiksen",
    "Østergaard", "Lauridsen", "Bech", "Dahl", "Lind", "Krogh", "Bak", "Vinther", "Skov",
    "Friis", "Juhl", "Mikkelsen", "Kjær", "Bang", "Toft", "Kirk", "Winther", "Ravn", "Nygaard",
    "Søndergaard", "Clausen", "Eriksen", "Berg", "Bruun", "Kjeldsen", "Ahmed", "Hussein",
    "Yilmaz", "Demir", "Khan", "Nguyen", "Abdi", "Karimi", "Haddad", "Svendsen", "Nissen",
    "Dam", "Storm", "Bisgaard", "Brandt", "Vestergaard", "Holst", "Lassen", "Gregersen",
    "Simonsen", "Kofoed", "Overgaard", "Thygesen", "Hedegaard",
]

OCR_VARIANTS = {"ø": "(?:ø|o|oe|g|@|e|s)", "æ": "(?:æ|ae|a|e|z)", "å": "(?:å|aa|a|é)",
                "ü": "(?:ü|u|ue)", "é": "(?:é|e)"}



#: Group kinds that have their own Teams channel for alerts in the demo organisation.
CHANNEL_KINDS = ("styregruppe", "chefgruppe", "sekretariat", "ledergruppe")


def teams_channel_id(code: str) -> str:
    """A deterministic, fictional Teams channel id for a group."""
    import hashlib

    return f"19:{hashlib.sha256(code.encode()).hexdigest()[:32]}@thread.tacv2"

def name_pattern(name: str) -> re.Pattern:
    """A pattern finding ``name`` in OCR'd text: æøå misread, any middle name, either order."""
    def word(text: str) -> str:
        return "".join(OCR_VARIANTS.get(ch, re.escape(ch)) for ch in text.lower())
    parts = name.split()
    first, last = word(parts[0]), word(parts[-1])
    middle = r"\s+(?:\S+\s+){0,2}"
    return re.compile(rf"\b{first}{middle}{last}\b|\b{last},?\s+{first}\b", re.IGNORECASE)


def load_seed_text(seeds: Path) -> str:
    files = sorted(seeds.glob("*.txt"))
    if not files:
        sys.exit(f"fandt ingen kildedokumenter i {seeds}: navnetjekket kan ikke køres")
    return "\n".join(f.read_text(encoding="utf-8", errors="replace") for f in files)


def ascii_fold(text: str) -> str:
    text = text.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9-]+", "-", text).strip("-")


class Organisation:
    def __init__(self, rng: random.Random, seed_text: str) -> None:
        self.rng = rng
        self.seed_text = seed_text
        self.people: list[dict] = []
        self.by_id: dict[str, dict] = {}
        self.groups: list[dict] = []
        self.names: set[str] = set()
        self.emails: set[str] = set()
        self.first_names = [n for n in FIRST_NAMES if n.lower() not in SEED_NAME_WORDS]
        self.last_names = [n for n in LAST_NAMES if n.lower() not in SEED_NAME_WORDS]

    # -- people ---------------------------------------------------------------------------

    def fresh_name(self, authority: str) -> tuple[str, str]:
        domain = f"{authority.lower()}.kk.example"
        while True:
            first = self.rng.choice(self.first_names)
            last = self.rng.choice(self.last_names)
            name = f"{first} {last}"
            email = f"{ascii_fold(first)}.{ascii_fold(last)}@{domain}"
            if name in self.names or email in self.emails:
                continue
            if name_pattern(name).search(self.seed_text):
                continue  # a real person named in the source documents
            self.names.add(name)
            self.emails.add(email)
            return name, email

    def person(self, authority: str, role: str, title: str, *, external: bool = False) -> str:
        number = len(self.people) + 1
        person_id = f"p{number:04d}"
        name, email = self.fresh_name(authority)
        person: dict = {"id": person_id, "name": name, "title": title, "role": role,
                        "authority": authority, "email": email}
        if external:
            person["channels"] = ["email"]
        else:
            person["teams_user_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, email))
            draw = self.rng.random()
            person["channels"] = (["teams", "email"] if draw < 0.80 else
                                  ["email"] if draw < 0.92 else ["email", "teams"])
        if role in ("direktør", "chef", "sekretariatschef", "sekretariat", "politikommissær",
                    "ssp-leder"):
            person["phone"] = f"+45 00 {number // 10000 % 100:02d} {number // 100 % 100:02d} " \
                              f"{number % 100:02d}"
        person["deputy"] = None
        self.people.append(person)
        self.by_id[person_id] = person
        return person_id

    # -- groups ---------------------------------------------------------------------------

    def group(self, code: str, kind: str, name: str, areas: list[str] | str | None = None
              ) -> dict:
        group = {"code": code, "kind": kind, "name": name, "areas": areas, "chair": None,
                 "members": [], "home": []}
        self.groups.append(group)
        return group

    def seat(self, group: dict, authority: str, role: str, title: str,
             role_in_group: str = "medlem", *, external: bool = False) -> str:
        """A new person whose home group is ``group``."""
        person_id = self.person(authority, role, title, external=external)
        group["members"].append((person_id, role_in_group))
        group["home"].append(person_id)
        return person_id

    def join(self, group: dict, person_id: str, role_in_group: str = "medlem") -> None:
        group["members"].append((person_id, role_in_group))

    def deputies(self, group: dict) -> None:
        """Give everyone at home in ``group`` a deputy of the same authority in the group: a
        ring over the authority's members, or a new suppleant when there is only one."""
        by_authority: dict[str, list[str]] = defaultdict(list)
        for person_id in group["home"]:
            if self.by_id[person_id]["deputy"] is None:
                by_authority[self.by_id[person_id]["authority"]].append(person_id)
        for authority, ids in by_authority.items():
            if len(ids) == 1:
                only = self.by_id[ids[0]]
                role = "leder" if only["role"] == "ssp-leder" else only["role"]
                ids.append(self.seat(group, authority, role, only["title"], "suppleant",
                                     external="teams_user_id" not in only))
            for i, person_id in enumerate(ids):
                self.by_id[person_id]["deputy"] = ids[(i + 1) % len(ids)]


def area_list(codes: list[str]) -> str:
    names = [AREA_NAME[c] for c in codes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " og " + names[-1]


def build(seed_text: str) -> Organisation:
    rng = random.Random(RANDOM_SEED)
    org = Organisation(rng, seed_text)

    # SSP Sekretariatet: the head (chair of styregruppe and chefgruppe), a deputy head who also
    # serves SSP+, one consultant per ledergruppe area and two police officers on loan.
    sek = org.group("sekretariat", "sekretariat", "SSP Sekretariatet")
    head = org.seat(sek, "SSP", "sekretariatschef", "Sekretariatschef, SSP Sekretariatet",
                    "formand")
    sek["chair"] = head
    deputy_head = org.seat(sek, "SSP", "sekretariat", "Souschef og SSP+-konsulent, "
                                                      "SSP Sekretariatet")
    consultants = {n: org.seat(sek, "SSP", "sekretariat",
                               f"SSP-konsulent, SSP Sekretariatet ({area_list(areas)})")
                   for n, areas in LEDERGRUPPER.items()}
    for _ in range(2):
        org.seat(sek, "POL", "politikommissær", "Politikommissær, udlånt til SSP Sekretariatet")
    org.by_id[head]["deputy"] = deputy_head
    org.by_id[deputy_head]["deputy"] = head
    org.deputies(sek)

    # Styregruppe and chefgruppe: one director or chief per authority in each; they are each
    # other's deputies.
    styre = org.group("styregruppe", "styregruppe", "SSP-styregruppen")
    chef = org.group("chefgruppe", "chefgruppe", "SSP-chefgruppen")
    for group in (styre, chef):
        org.join(group, head, "formand")
        group["chair"] = head
    strategic = {
        "BUF": ("Direktør, Børne- og Ungdomsforvaltningen", "Chef for skole og fritid, BUF"),
        "SOF": ("Direktør, Socialforvaltningen", "Centerchef, Din Sociale Indgang, SOF"),
        "KFF": ("Direktør, Kultur- og Fritidsforvaltningen", "Kultur- og fritidschef, KFF"),
        "BIF": ("Direktør, Beskæftigelses- og Integrationsforvaltningen",
                "Chef for Jobcenter København, BIF"),
        "POL": ("Politiinspektør, Københavns Politi", "Vicepolitiinspektør, Københavns Politi"),
        "KRIM": ("Områdechef, Kriminalforsorgen Øst",
                 "Afdelingschef, Kriminalforsorgen i Frihed"),
    }
    for authority, (director_title, chief_title) in strategic.items():
        director_role = "direktør" if authority in ("BUF", "SOF", "KFF", "BIF") else "chef"
        director = org.seat(styre, authority, director_role, director_title)
        chief = org.seat(chef, authority, "chef", chief_title)
        org.by_id[director]["deputy"] = chief
        org.by_id[chief]["deputy"] = director

    # The five ledergrupper (seed 003 §5.4.1), each with one SSP-leder per fixed party.
    ledergrupper = {}
    for n, areas in LEDERGRUPPER.items():
        lg = org.group(f"ledergruppe-{n}", "ledergruppe", f"SSP-ledergruppe {n}: {area_list(areas)}",
                       areas)
        ledergrupper[n] = lg
        where = area_list(areas)
        org.seat(lg, "SOF", "ssp-leder", "Afdelingsleder, børn og unge, Din Sociale Indgang",
                 "ssp-leder")
        org.seat(lg, "SOF", "leder", "Leder, Bydækkende Gadeplan")
        org.seat(lg, "BUF", "ssp-leder", f"Skoleleder ({AREA_NAME[areas[0]]})", "ssp-leder")
        org.seat(lg, "BUF", "leder", f"Skoleleder ({AREA_NAME[areas[1]]})")
        org.seat(lg, "BUF", "leder", f"Klyngeleder, fritidscentre ({where})")
        org.seat(lg, "BUF", "leder", f"Fritidscenterleder ({AREA_NAME[areas[2]]})")
        org.seat(lg, "KFF", "ssp-leder", f"Bydelsleder, Kultur og Fritid ({where})", "ssp-leder")
        org.seat(lg, "POL", "ssp-leder", "Sektionsleder, Nærpolitiafdelingen", "ssp-leder")
        org.seat(lg, "POL", "leder", "Sektionsleder, Forebyggelsesafdelingen")
        org.seat(lg, "BIF", "ssp-leder", "Leder, Jobcenter København", "ssp-leder")
        org.join(lg, consultants[n], "sekretær")
        org.deputies(lg)

    plus = org.group("ledergruppe-ssp-plus", "ledergruppe",
                     "SSP+-ledergruppen (17,5-25 år, hele byen)", "all")
    org.seat(plus, "SOF", "ssp-leder", "Afdelingsleder, myndighed, Din Sociale Indgang",
             "ssp-leder")
    org.seat(plus, "SOF", "leder", "Leder, Gadeplan 18+")
    org.seat(plus, "SOF", "leder", "Leder, 18+ enheden")
    org.seat(plus, "BUF", "ssp-leder", "Leder, Ungdommens Uddannelsesvejledning", "ssp-leder")
    org.seat(plus, "BIF", "ssp-leder", "Leder, Jobcenter København", "ssp-leder")
    org.seat(plus, "POL", "ssp-leder", "Leder, Center for Borgertryghed", "ssp-leder")
    org.seat(plus, "KRIM", "leder", "Leder, Kriminalforsorgen i Frihed")
    org.join(plus, deputy_head, "sekretær")
    org.deputies(plus)

    region_of = {area: n for n, areas in LEDERGRUPPER.items() for area in areas}

    # Fifteen lokaludvalg (§5.5.1): SOF, a teacher from each school and a pedagogue from each
    # fritidscenter (BUF), KFF, a forebygger and a nærpolitibetjent.
    lokaludvalg = {}
    for code, name, _ in AREAS:
        lu = org.group(f"lokaludvalg-{code}", "lokaludvalg", f"SSP-lokaludvalg {name}", [code])
        lokaludvalg[code] = lu
        org.seat(lu, "SOF", "medarbejder", "Kriminalitetsmedarbejder, Din Sociale Indgang")
        org.seat(lu, "SOF", "medarbejder", "Gadeplansmedarbejder, Bydækkende Gadeplan")
        org.seat(lu, "SOF", "medarbejder",
                 rng.choice(["Medarbejder, Den Korte Snor", "Medarbejder, Ny Start",
                             "Medarbejder, Idrætsprojektet"]))
        for school in range(1, rng.randint(4, 6) + 1):
            org.seat(lu, "BUF", "medarbejder", f"Lærer, skole {school} i {name}")
        for club in range(1, rng.randint(2, 4) + 1):
            org.seat(lu, "BUF", "medarbejder", f"Pædagog, fritidscenter {club} i {name}")
        org.seat(lu, "KFF", "medarbejder",
                 rng.choice(["Bibliotekar", "Kulturhusmedarbejder", "Idrætskonsulent"])
                 + f", {name}")
        org.seat(lu, "POL", "medarbejder", "Forebygger, Forebyggelsesafdelingen")
        org.seat(lu, "POL", "medarbejder", "Nærpolitibetjent, Nærpolitiafdelingen")
        org.join(lu, consultants[region_of[code]], "sekretær")
        org.deputies(lu)

    # Seven koordinationsgrupper (§5.6.1) and the SSP+ koordinationsgruppe.
    for n, areas in KOORDINATIONSGRUPPER.items():
        kg = org.group(f"koordinationsgruppe-{n}", "koordinationsgruppe",
                       f"SSP-koordinationsgruppe {n}: {area_list(areas)}", areas)
        org.seat(kg, "SOF", "medarbejder", "Kriminalitetsmedarbejder, Den Korte Snor")
        org.seat(kg, "SOF", "medarbejder", "Gadeplansmedarbejder, Bydækkende Gadeplan")
        org.seat(kg, "BUF", "medarbejder", "UU-vejleder, Ungdommens Uddannelsesvejledning")
        for area in areas:
            org.seat(kg, "BUF", "medarbejder",
                     rng.choice(["Lærer", "Pædagog"]) + f", folkeskole i {AREA_NAME[area]}")
        org.seat(kg, "POL", "medarbejder", "Politifaglig forebygger, Forebyggelsesafdelingen")
        org.seat(kg, "POL", "medarbejder", "Socialfaglig forebygger, Forebyggelsesafdelingen")
        if rng.random() < 0.5:
            org.seat(kg, "POL", "medarbejder", "Nærpolitibetjent, Nærpolitiafdelingen")
        org.join(kg, consultants[region_of[areas[0]]], "sekretær")
        org.deputies(kg)

    kg_plus = org.group("koordinationsgruppe-city", "koordinationsgruppe",
                        "SSP+-koordinationsgruppen (17,5-25 år, hele byen)", "all")
    org.seat(kg_plus, "SOF", "koordinator", "SSP+-koordinator, Din Sociale Indgang")
    org.seat(kg_plus, "SOF", "medarbejder", "Rådgiver, børne- og voksenområdet, "
                                            "Din Sociale Indgang")
    org.seat(kg_plus, "SOF", "medarbejder", "Gadeplansmedarbejder 18+")
    org.seat(kg_plus, "SOF", "medarbejder",
             "Medarbejder, Enheden for Kriminalpræventive Indsatser (EKI)")
    org.seat(kg_plus, "SOF", "medarbejder", "Medarbejder, Psykiatrienheden")
    org.seat(kg_plus, "BUF", "medarbejder", "UU-vejleder, Ungdommens Uddannelsesvejledning")
    org.seat(kg_plus, "BIF", "medarbejder", "Beskæftigelseskonsulent, Jobcenter København")
    org.seat(kg_plus, "POL", "medarbejder", "Politifaglig forebygger, Forebyggelsesafdelingen")
    org.seat(kg_plus, "POL", "medarbejder", "Socialfaglig forebygger, Forebyggelsesafdelingen")
    org.seat(kg_plus, "KRIM", "medarbejder", "Medarbejder, Kriminalforsorgen i Frihed")
    org.join(kg_plus, deputy_head, "sekretær")
    org.deputies(kg_plus)

    # External parties, invited after a concrete assessment (seed 003 §7.3).
    tsb = org.group("ekstern-team-sikker-by", "ekstern", "Team Sikker By")
    for title in ("Chefkonsulent, Team Sikker By", "Konsulent, Team Sikker By"):
        org.seat(tsb, "TSB", "ekstern", title, external=True)
    org.deputies(tsb)
    hbr = org.group("ekstern-hovedstadens-beredskab", "ekstern", "Hovedstadens Beredskab")
    for title in ("Vagtchef, Hovedstadens Beredskab", "Indsatsleder, Hovedstadens Beredskab"):
        org.seat(hbr, "HBR", "ekstern", title, external=True)
    org.deputies(hbr)
    bsh = org.group("ekstern-boligsociale-helhedsplaner", "ekstern",
                    "Boligsociale helhedsplaner")
    for area in HELHEDSPLAN_AREAS:
        person_id = org.seat(bsh, "BSH", "ekstern",
                             f"Boligsocial medarbejder, helhedsplan i {AREA_NAME[area]}",
                             external=True)
        org.join(lokaludvalg[area], person_id)
    org.deputies(bsh)
    nabo = org.group("ekstern-nabokommuner", "ekstern",
                     "Nabokommuner (Frederiksberg, Tårnby, Dragør)")
    for authority in ("FRB", "TAK", "DRK"):
        org.seat(nabo, authority, "ekstern", f"SSP-konsulent, {AUTHORITY_NAME[authority]}",
                 external=True)
    org.deputies(nabo)
    return org


# -- writing -------------------------------------------------------------------------------

PLAIN = re.compile(r"^[a-z0-9][a-z0-9.@_+-]*$")


def q(value) -> str:
    """A YAML scalar: plain for codes, ids and e-mail addresses, double-quoted otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if PLAIN.match(text) and text not in ("null", "true", "false", "yes", "no", "on", "off"):
        return text
    return json.dumps(text, ensure_ascii=False)


def render(org: Organisation) -> str:
    out = [
        "# SSP Beredskab: demo-organisation. Alle personer er fiktive.",
        "# Genereret af scripts/generate_demo_organisation.py; ret i scriptet, ikke her.",
        f"# {len(org.people)} personer, {len(org.groups)} grupper, {len(AREAS)} lokalområder.",
        "authorities:",
    ]
    for code, name, fixed in AUTHORITIES:
        out.append(f"  - {{code: {code}, name: {q(name)}, fixed_party: {q(fixed)}}}")
    out.append("areas:")
    for code, name, bydel in AREAS:
        out.append(f"  - {{code: {code}, name: {q(name)}, bydel: {q(bydel)}}}")
    out.append("groups:")
    for group in org.groups:
        out += [f"  - code: {group['code']}", f"    kind: {group['kind']}",
                f"    name: {q(group['name'])}"]
        if group["areas"] == "all":
            out.append("    areas: all")
        elif group["areas"]:
            out.append(f"    areas: [{', '.join(group['areas'])}]")
        if group["chair"]:
            out.append(f"    chair: {group['chair']}")
        if group["kind"] in CHANNEL_KINDS:
            out.append(f"    teams_channel: {q(teams_channel_id(group['code']))}")
        out.append("    members:")
        for person_id, role in group["members"]:
            out.append(f"      - {{person: {person_id}, role: {q(role)}}}")
    out.append("people:")
    for person in org.people:
        out += [f"  - id: {person['id']}", f"    name: {q(person['name'])}",
                f"    title: {q(person['title'])}", f"    role: {q(person['role'])}",
                f"    authority: {person['authority']}", f"    email: {q(person['email'])}"]
        if person.get("teams_user_id"):
            out.append(f"    teams_user_id: {person['teams_user_id']}")
        if person["deputy"]:
            out.append(f"    deputy: {person['deputy']}")
        out.append(f"    channels: [{', '.join(person['channels'])}]")
        if person.get("phone"):
            out.append(f"    phone: {q(person['phone'])}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--seeds", type=Path, default=SEEDS,
                        help="folder with the source documents whose names must not be used")
    parser.add_argument("--check", action="store_true",
                        help="only compare with the existing file; exit 1 if it differs")
    args = parser.parse_args(argv)

    org = build(load_seed_text(args.seeds))
    text = render(org)

    sys.path.insert(0, str(ROOT))
    from handleplaner.directory import load_directory  # validates everything, or raises

    data = load_directory(text)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} er ikke opdateret; kør {Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{args.output} er opdateret ({len(data.people)} personer)")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"skrev {args.output}: {len(data.people)} personer, {len(data.groups)} grupper, "
          f"{len(data.areas)} områder")
    return 0


if __name__ == "__main__":
    sys.exit(main())
