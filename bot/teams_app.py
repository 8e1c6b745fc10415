"""The Teams app package: manifest.json plus the two icons, zipped for upload to Teams.

The manifest uses app manifest schema v1.30, the newest version Microsoft publishes in the
npm package @microsoft/app-manifest (1.1.2); the tests validate the generated manifest against
that package's own JSON schema. ``validate_manifest`` checks, in Danish, the fields this
product relies on (required fields, lengths, GUIDs, the version, the addresses, the icons) so
that an invalid package is never written. The icons are in ``teams_app_icons``.

Addresses: Microsoft's documentation asks for https:// URLs in ``developer`` (websiteUrl,
privacyUrl, termsOfUseUrl), and Teams loads an app's pages over HTTPS. The v1.30 schema itself
is looser (its ``anyHttpUrl`` pattern ``^[Hh][Tt][Tt][Pp][Ss]?://`` admits http, and
``validDomains`` takes any string), so the schema alone would not catch an http production
package: this module refuses it. Only the demo package may point at http, and only on this
machine (localhost, 127.0.0.1, ::1), where the schema accepts it as it stands.
"""
from __future__ import annotations

import ipaddress
import json
import os
import re
import tempfile
import uuid
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

from .teams_app_icons import (ACCENT_COLOR, COLOR_ICON, COLOR_SIZE, OUTLINE_ICON, OUTLINE_SIZE,
                              check_icon, default_icons)

MANIFEST_VERSION = "1.30"
SCHEMA_URL = ("https://developer.microsoft.com/json-schemas/teams/"
              f"v{MANIFEST_VERSION}/MicrosoftTeams.schema.json")
PACKAGE_FILES = ("manifest.json", COLOR_ICON, OUTLINE_ICON)

# The Teams app id is derived from the bot's app id, so rebuilding the package for the same bot
# gives the same app (Teams then treats a new package as an update, not a second app).
APP_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:ssp-beredskab:teams-app")

BOT_SCOPES = ("personal", "team", "groupChat")
COMMANDS = (
    ("status", "Status for hændelser, du er med i"),
    ("mine opgaver", "Dine opgaver i handleplanerne"),
    ("hjælp", "Hvad botten kan"),
)

NAME_SHORT = "SSP Beredskab"
NAME_FULL = "SSP Beredskab – SSP Københavns beredskab"
DESCRIPTION_SHORT = "Hændelser, fælles handleplaner og varsler for SSP København"
DESCRIPTION_FULL = (
    "SSP Beredskab er SSP Københavns beredskab. Når der sker en alvorlig hændelse, samler "
    "SSP Beredskab de relevante fagpersoner, sender varsler i Teams og på mail og holder styr på, "
    "hvem der har kvitteret. Sammen lægger I en fælles handleplan med opgaver og aftaler, som "
    "styregruppen godkender. I Teams kan du skrive 'status' for at se de hændelser, du er med i, "
    "'mine opgaver' for dine opgaver i handleplanerne og 'hjælp' for at se, hvad botten kan."
)
DEVELOPER_NAME = "SSP København"

GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
LANGUAGE_TAG = re.compile(r"^[A-Za-z0-9]{1,8}(-[A-Za-z0-9]{1,8}){0,2}$")
PERMISSIONS = ("identity", "messageTeamMembers")

# Maximum lengths and counts from the v1.30 manifest schema.
LIMITS = {
    ("name", "short"): 30,
    ("name", "full"): 100,
    ("description", "short"): 80,
    ("description", "full"): 4000,
    ("developer", "name"): 32,
}
URL_MAX = 2048
COMMAND_TITLE_MAX = 128
COMMAND_DESCRIPTION_MAX = 4000
COMMANDS_PER_LIST_MAX = 12
VALID_DOMAINS_MAX = 100


class TeamsAppError(Exception):
    """The package cannot be built; ``problems`` lists every reason (in Danish)."""

    def __init__(self, problems: list[str]):
        super().__init__("Teams-pakken er ugyldig:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


def teams_app_id(bot_app_id: str) -> str:
    """The stable Teams app id for a bot app id."""
    return str(uuid.uuid5(APP_ID_NAMESPACE, bot_app_id.strip().lower()))


def build_manifest(*, bot_app_id: str, public_url: str, version: str = "1.0.0",
                   app_id: str | None = None) -> dict:
    base = public_url.rstrip("/")
    host = urlsplit(base).hostname or ""
    commands = [{"title": title, "description": text} for title, text in COMMANDS]
    return {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id or teams_app_id(bot_app_id),
        "localizationInfo": {"defaultLanguageTag": "da-dk"},
        "developer": {
            "name": DEVELOPER_NAME,
            "websiteUrl": f"{base}/om",
            "privacyUrl": f"{base}/privatliv",
            "termsOfUseUrl": f"{base}/vilkaar",
        },
        "name": {"short": NAME_SHORT, "full": NAME_FULL},
        "description": {"short": DESCRIPTION_SHORT, "full": DESCRIPTION_FULL},
        "icons": {"color": COLOR_ICON, "outline": OUTLINE_ICON},
        "accentColor": ACCENT_COLOR,
        "bots": [{
            "botId": bot_app_id,
            "scopes": list(BOT_SCOPES),
            "supportsFiles": False,
            "isNotificationOnly": False,
            # One command list per scope, as the schema documentation asks.
            "commandLists": [{"scopes": [scope], "commands": commands} for scope in BOT_SCOPES],
        }],
        "permissions": list(PERMISSIONS),
        "validDomains": [host] if host else [],
    }


# --- validation --------------------------------------------------------------------------------

def _get(manifest: dict, *path: str):
    value = manifest
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _is_loopback(host: str | None) -> bool:
    """This machine: the only place the demo package may use http."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def address_problem(value, what: str, *, demo: bool) -> str | None:
    """Why ``value`` cannot be one of the package's web addresses (in Danish), or None.

    https everywhere; http only in the demo package and only on this machine."""
    if not isinstance(value, str) or not value:
        return f"{what} mangler"
    if len(value) > URL_MAX:
        return f"{what} må højst være {URL_MAX} tegn (er {len(value)})"
    parts = urlsplit(value)
    try:
        host = parts.hostname
    except ValueError:
        host = None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not host:
        return (f"{what} skal være en https-adresse med et værtsnavn, fx "
                f"https://beredskab.kk.dk (er '{value}')")
    if scheme == "http" and not demo:
        return (f"{what} skal være en https-adresse (er '{value}'); Teams henter kun sider over "
                "https. Kun demo-pakken (--demo) må bruge http, og kun på localhost")
    if scheme == "http" and not _is_loopback(host):
        return (f"{what} skal være en https-adresse (er '{value}'); demo-pakken må kun bruge "
                "http på denne maskine (localhost, 127.0.0.1)")
    return None


def check_public_url(public_url: str, *, demo: bool) -> list[str]:
    """Problems with the service's public address, the base of the package's web addresses."""
    what = "Tjenestens offentlige adresse (--public-url eller BEREDSKAB_PUBLIC_URL)"
    problem = address_problem(public_url, what, demo=demo)
    if problem:
        return [problem]
    parts = urlsplit(public_url)
    if parts.query or parts.fragment or parts.username or parts.password:
        return [f"{what} må ikke have brugernavn, ?forespørgsel eller #anker (er '{public_url}')"]
    return []


def validate_manifest(manifest: dict, icons: dict[str, bytes] | None = None, *,
                      demo: bool = False) -> list[str]:
    """Every problem with the manifest (and, if given, the icon files), in Danish.

    An empty list means the package can be built. ``demo`` permits http addresses on this
    machine (the local demo); everything else must be https."""
    problems: list[str] = []
    if not isinstance(manifest, dict):
        return ["manifestet skal være et JSON-objekt"]

    for field in ("$schema", "manifestVersion", "version", "id", "developer", "name",
                  "description", "icons", "accentColor"):
        if field not in manifest:
            problems.append(f"feltet '{field}' mangler")
    for path in (("developer", "name"), ("developer", "websiteUrl"), ("developer", "privacyUrl"),
                 ("developer", "termsOfUseUrl"), ("name", "short"), ("name", "full"),
                 ("description", "short"), ("description", "full"), ("icons", "color"),
                 ("icons", "outline")):
        value = _get(manifest, *path)
        if path[0] in manifest and (not isinstance(value, str) or not value.strip()):
            problems.append(f"feltet '{'.'.join(path)}' mangler eller er tomt")

    if "manifestVersion" in manifest and manifest["manifestVersion"] != MANIFEST_VERSION:
        problems.append(f"manifestVersion skal være '{MANIFEST_VERSION}'")
    if "$schema" in manifest and manifest["$schema"] != SCHEMA_URL:
        problems.append(f"$schema skal være {SCHEMA_URL} (samme version som manifestVersion)")
    version = manifest.get("version")
    if "version" in manifest and (not isinstance(version, str) or not SEMVER.match(version)
                                  or len(version) > 256):
        problems.append(f"version '{version}' er ikke et versionsnummer på formen 1.0.0")
    app_id = manifest.get("id")
    if "id" in manifest and (not isinstance(app_id, str) or not GUID.match(app_id)):
        problems.append(f"id '{app_id}' er ikke et GUID")

    for path, limit in LIMITS.items():
        value = _get(manifest, *path)
        if isinstance(value, str) and len(value) > limit:
            problems.append(f"'{'.'.join(path)}' må højst være {limit} tegn (er {len(value)})")
    # The manifest reference: name.short and name.full differ, description.short and
    # description.full differ, and the short description is not repeated in the full one.
    for part in ("name", "description"):
        short, full = _get(manifest, part, "short"), _get(manifest, part, "full")
        if isinstance(short, str) and isinstance(full, str) and short.strip() \
                and short.strip().casefold() == full.strip().casefold():
            problems.append(f"{part}.short og {part}.full må ikke være ens")
        elif part == "description" and isinstance(short, str) and isinstance(full, str) \
                and short.strip() and short.strip().casefold() in full.casefold():
            problems.append("description.short må ikke gentages i description.full")

    for key in ("websiteUrl", "privacyUrl", "termsOfUseUrl"):
        value = _get(manifest, "developer", key)
        if isinstance(value, str) and value:
            problem = address_problem(value, f"developer.{key}", demo=demo)
            if problem:
                problems.append(problem)

    accent = manifest.get("accentColor")
    if "accentColor" in manifest and (not isinstance(accent, str) or not HEX_COLOR.match(accent)):
        problems.append(f"accentColor '{accent}' skal være en farvekode som #1c3f94")

    tag = _get(manifest, "localizationInfo", "defaultLanguageTag")
    if "localizationInfo" in manifest and (not isinstance(tag, str) or not LANGUAGE_TAG.match(tag)):
        problems.append(f"localizationInfo.defaultLanguageTag '{tag}' er ikke en sprogkode")

    problems += _validate_bots(manifest.get("bots"))

    permissions = manifest.get("permissions", [])
    if not isinstance(permissions, list) or any(p not in PERMISSIONS for p in permissions):
        problems.append(f"permissions må kun indeholde {', '.join(PERMISSIONS)}")

    domains = manifest.get("validDomains", [])
    if not isinstance(domains, list) or len(domains) > VALID_DOMAINS_MAX:
        problems.append(f"validDomains skal være en liste med højst {VALID_DOMAINS_MAX} domæner")
    else:
        for domain in domains:
            if not isinstance(domain, str) or not domain or "://" in domain or "/" in domain \
                    or len(domain) > URL_MAX:
                problems.append(f"validDomains: '{domain}' skal være et domæne uden protokol og sti")

    web_app = manifest.get("webApplicationInfo")
    if web_app is not None:
        if not isinstance(web_app, dict) or not GUID.match(str(web_app.get("id", ""))):
            problems.append("webApplicationInfo.id skal være et GUID")
        elif "resource" in web_app and (not isinstance(web_app["resource"], str)
                                        or len(web_app["resource"]) > URL_MAX):
            problems.append("webApplicationInfo.resource skal være en adresse på højst 2048 tegn")

    for key in ("color", "outline"):
        name = _get(manifest, "icons", key)
        if isinstance(name, str) and name and (
                "/" in name or "\\" in name or name in (".", "..", "manifest.json")
                or not name.lower().endswith(".png")):
            problems.append(f"icons.{key} '{name}' skal være navnet på en PNG-fil i pakkens rod, "
                            "fx color.png")
    color_name = _get(manifest, "icons", "color")
    if isinstance(color_name, str) and color_name == _get(manifest, "icons", "outline"):
        problems.append("icons.color og icons.outline skal være to forskellige filer")

    if icons is not None:
        color_name = _get(manifest, "icons", "color")
        outline_name = _get(manifest, "icons", "outline")
        for name, size, outline in ((color_name, COLOR_SIZE, False),
                                    (outline_name, OUTLINE_SIZE, True)):
            if not isinstance(name, str):
                continue
            if name not in icons:
                problems.append(f"ikonet '{name}' findes ikke i pakken")
            else:
                problems += check_icon(name, icons[name], size, outline=outline)
    return problems


def _validate_bots(bots) -> list[str]:
    if not isinstance(bots, list) or len(bots) != 1:
        return ["bots skal indeholde præcis én bot"]
    bot = bots[0]
    if not isinstance(bot, dict):
        return ["bots[0] skal være et objekt"]
    problems = []
    bot_id = bot.get("botId")
    if not isinstance(bot_id, str) or not GUID.match(bot_id):
        problems.append(f"bots[0].botId '{bot_id}' er ikke et GUID (bottens app-id i Entra ID)")
    scopes = bot.get("scopes")
    if not isinstance(scopes, list) or not scopes or any(s not in BOT_SCOPES for s in scopes):
        problems.append(f"bots[0].scopes skal være en eller flere af {', '.join(BOT_SCOPES)}")
    for flag in ("supportsFiles", "isNotificationOnly"):
        if flag in bot and not isinstance(bot[flag], bool):
            problems.append(f"bots[0].{flag} skal være true eller false")
    lists = bot.get("commandLists", [])
    if not isinstance(lists, list) or len(lists) > 3:
        return problems + ["bots[0].commandLists skal være en liste med højst 3 kommandolister"]
    for n, command_list in enumerate(lists):
        where = f"bots[0].commandLists[{n}]"
        list_scopes = command_list.get("scopes") if isinstance(command_list, dict) else None
        commands = command_list.get("commands") if isinstance(command_list, dict) else None
        if not isinstance(list_scopes, list) or not list_scopes \
                or any(s not in BOT_SCOPES for s in list_scopes):
            problems.append(f"{where}.scopes skal være en eller flere af {', '.join(BOT_SCOPES)}")
        if not isinstance(commands, list) or not commands \
                or len(commands) > COMMANDS_PER_LIST_MAX:
            problems.append(f"{where}.commands skal have 1-{COMMANDS_PER_LIST_MAX} kommandoer")
            continue
        for m, command in enumerate(commands):
            title = command.get("title") if isinstance(command, dict) else None
            text = command.get("description") if isinstance(command, dict) else None
            if not isinstance(title, str) or not title or len(title) > COMMAND_TITLE_MAX:
                problems.append(f"{where}.commands[{m}].title skal være 1-{COMMAND_TITLE_MAX} tegn")
            if not isinstance(text, str) or not text or len(text) > COMMAND_DESCRIPTION_MAX:
                problems.append(f"{where}.commands[{m}].description skal være "
                                f"1-{COMMAND_DESCRIPTION_MAX} tegn")
    return problems


# --- the package -------------------------------------------------------------------------------

def write_package(out: Path, manifest: dict, icons: dict[str, bytes] | None = None, *,
                  demo: bool = False) -> Path:
    """Validate, then write the zip (manifest.json and icons at the root). Nothing is written
    if the package is invalid; an existing file is replaced only by a complete new one."""
    icons = default_icons() if icons is None else icons
    problems = validate_manifest(manifest, icons, demo=demo)
    if problems:
        raise TeamsAppError(problems)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    entries = [("manifest.json",
                json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"),
               (manifest["icons"]["color"], icons[manifest["icons"]["color"]]),
               (manifest["icons"]["outline"], icons[manifest["icons"]["outline"]])]
    handle, temporary = tempfile.mkstemp(prefix=".teams-app-", suffix=".zip", dir=out.parent)
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return out


def build_package(out: Path, *, bot_app_id: str, public_url: str, version: str = "1.0.0",
                  demo: bool = False) -> dict:
    """Build and write the package; returns the manifest. Raises TeamsAppError if invalid
    (nothing is written then); outside ``demo`` every address must be https."""
    problems = check_public_url(public_url, demo=demo)
    if problems:
        raise TeamsAppError(problems)
    manifest = build_manifest(bot_app_id=bot_app_id, public_url=public_url, version=version)
    write_package(out, manifest, demo=demo)
    return manifest
