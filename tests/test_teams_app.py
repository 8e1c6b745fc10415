"""The Teams app package: zip layout, manifest, drawn icons, validation and the CLI.

Microsoft's rules, and where they are written:
- the manifest validates against Microsoft's JSON schema for its version, taken from the npm
  package @microsoft/app-manifest (tests/teams_manifest_schema.py), and uses the newest version
  that package ships:
  https://learn.microsoft.com/microsoftteams/platform/resources/schema/manifest-schema
- the package is a zip with manifest.json (that name) and the two icons at its root:
  https://learn.microsoft.com/microsoftteams/platform/concepts/build-and-test/apps-package
- icons: color a 192x192 PNG, outline a 32x32 PNG, transparent, white:
  https://learn.microsoft.com/microsoft-365/extensibility/schema/root-icons
  https://learn.microsoft.com/microsoftteams/platform/concepts/design/design-teams-app-icon-store-appbar
- developer.websiteUrl, privacyUrl and termsOfUseUrl are https:// URLs:
  https://learn.microsoft.com/microsoft-365/extensibility/schema/root-developer
"""
from __future__ import annotations

import copy
import io
import json
import os
import uuid
import zipfile

import pytest
from PIL import Image

from bot.cli import main
from bot.teams_app import (MANIFEST_VERSION, SCHEMA_URL, TeamsAppError, build_manifest,
                           build_package, default_icons, teams_app_id, validate_manifest,
                           write_package)
from m365emulator.config import DEFAULT_BOT_APP_ID
from tests.teams_manifest_schema import (PACKAGE, PACKAGE_VERSION, SchemaUnavailable,
                                         manifest_validator, newest, teams_schemas)

BOT_ID = "0b7c6a52-3f0e-4d5b-9a61-2c1e8f4d7a90"
PUBLIC_URL = "https://beredskab.kk.example"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("BEREDSKAB_BOT_APP_ID", "BEREDSKAB_PUBLIC_URL", "BEREDSKAB_DEMO"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def schemas() -> dict:
    """Microsoft's manifest schemas by version; skipped (failed with CI=true) without them."""
    try:
        return teams_schemas()
    except SchemaUnavailable as error:
        reason = f"{PACKAGE}@{PACKAGE_VERSION} cannot be had: {error}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def schema(schemas) -> dict:
    """The newest schema the package ships: the one the Teams package must satisfy."""
    return json.loads(schemas[newest(schemas)].read_text(encoding="utf-8"))


def schema_errors(schema: dict, manifest: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in manifest_validator(schema).iter_errors(manifest)]


def read_package(path) -> tuple[list[str], dict, Image.Image, Image.Image]:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json").decode("utf-8"))
        color = Image.open(io.BytesIO(zf.read("color.png")))
        outline = Image.open(io.BytesIO(zf.read("outline.png")))
        color.load()
        outline.load()
    return names, manifest, color, outline


def valid_manifest() -> dict:
    return build_manifest(bot_app_id=BOT_ID, public_url=PUBLIC_URL)


def test_package_has_exactly_the_three_files_at_the_root(tmp_path):
    # apps-package: a zip of manifest.json and the two icons, at its root (no folder inside)
    out = tmp_path / "ssp-beredskab.zip"
    build_package(out, bot_app_id=BOT_ID, public_url=PUBLIC_URL, version="1.2.3")
    names, manifest, color, outline = read_package(out)
    assert sorted(names) == ["color.png", "manifest.json", "outline.png"]
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert not any(info.is_dir() or "/" in info.filename or "\\" in info.filename
                       for info in zf.infolist())
    # the icons the manifest names are the files at the root
    assert {manifest["icons"]["color"], manifest["icons"]["outline"]} == \
        set(names) - {"manifest.json"}

    assert manifest["$schema"] == \
        "https://developer.microsoft.com/json-schemas/teams/v1.30/MicrosoftTeams.schema.json"
    assert manifest["manifestVersion"] == "1.30"
    assert manifest["version"] == "1.2.3"
    assert manifest["id"] == teams_app_id(BOT_ID) == str(uuid.UUID(manifest["id"]))
    assert manifest["id"] != BOT_ID
    assert manifest["localizationInfo"] == {"defaultLanguageTag": "da-dk"}
    assert manifest["name"] == {"short": "SSP Beredskab",
                                "full": "SSP Beredskab – SSP Københavns beredskab"}
    assert len(manifest["description"]["short"]) <= 80
    assert len(manifest["description"]["full"]) <= 4000
    assert manifest["developer"]["websiteUrl"] == f"{PUBLIC_URL}/om"
    assert manifest["developer"]["privacyUrl"] == f"{PUBLIC_URL}/privatliv"
    assert manifest["developer"]["termsOfUseUrl"] == f"{PUBLIC_URL}/vilkaar"
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert manifest["accentColor"] == "#1c3f94"
    assert manifest["validDomains"] == ["beredskab.kk.example"]

    [bot] = manifest["bots"]
    assert bot["botId"] == BOT_ID
    assert bot["scopes"] == ["personal", "team", "groupChat"]
    assert bot["supportsFiles"] is False and bot["isNotificationOnly"] is False
    for command_list in bot["commandLists"]:
        assert {c["title"]: c["description"] for c in command_list["commands"]} == {
            "status": "Status for hændelser, du er med i",
            "mine opgaver": "Dine opgaver i handleplanerne",
            "hjælp": "Hvad botten kan",
        }
    assert sorted(s for cl in bot["commandLists"] for s in cl["scopes"]) == \
        sorted(["personal", "team", "groupChat"])
    assert validate_manifest(manifest) == []


def test_the_app_id_is_stable_for_the_same_bot():
    assert teams_app_id(BOT_ID) == teams_app_id(BOT_ID.upper())
    assert teams_app_id(BOT_ID) != teams_app_id(DEFAULT_BOT_APP_ID)


def test_icons_have_the_right_sizes_and_the_outline_is_white_on_transparent(tmp_path):
    out = tmp_path / "app.zip"
    build_package(out, bot_app_id=BOT_ID, public_url=PUBLIC_URL)
    _, _, color, outline = read_package(out)
    assert color.format == "PNG" and color.size == (192, 192)
    assert outline.format == "PNG" and outline.size == (32, 32)
    # The colour icon is the accent colour with white on it.
    colors = set(color.convert("RGB").getdata())
    assert (0x1C, 0x3F, 0x94) in colors and (255, 255, 255) in colors

    pixels = list(outline.convert("RGBA").getdata())
    assert all(a == 0 or (r, g, b, a) == (255, 255, 255, 255) for r, g, b, a in pixels)
    assert any(a == 0 for *_, a in pixels) and any(a == 255 for *_, a in pixels)


def test_validation_catches_a_long_short_description_and_a_bad_guid():
    manifest = valid_manifest()
    manifest["description"]["short"] = "x" * 81
    manifest["id"] = "ikke-et-guid"
    manifest["bots"][0]["botId"] = "1234"
    problems = validate_manifest(manifest)
    assert any("description.short" in p and "80" in p for p in problems)
    assert any("id 'ikke-et-guid' er ikke et GUID" in p for p in problems)
    assert any("botId '1234'" in p for p in problems)


@pytest.mark.parametrize("change, expected", [
    (lambda m: m.update(version="1.0"), "version"),
    (lambda m: m.update({"$schema": SCHEMA_URL.replace("v1.30", "v1.19")}), "$schema"),
    (lambda m: m.update(manifestVersion="1.19"), "manifestVersion"),
    (lambda m: m.pop("accentColor"), "accentColor"),
    (lambda m: m["name"].update(short="S" * 31), "name.short"),
    (lambda m: m["developer"].update(privacyUrl="http://x.example/p"), "privacyUrl"),
    (lambda m: m["bots"][0]["commandLists"][0]["commands"][0].update(title="t" * 129), "title"),
    (lambda m: m.update(validDomains=["https://x.example/"]), "validDomains"),
    (lambda m: m["icons"].update(color="ikoner/color.png"), "pakkens rod"),
    (lambda m: m["icons"].update(outline="color.png"), "to forskellige filer"),
])
def test_validation_catches_other_schema_violations(change, expected):
    manifest = copy.deepcopy(valid_manifest())
    change(manifest)
    assert any(expected in p for p in validate_manifest(manifest))


def test_validation_checks_icon_sizes_and_outline_transparency():
    icons = default_icons()
    assert validate_manifest(valid_manifest(), icons) == []

    wrong_size = io.BytesIO()
    Image.new("RGB", (96, 96), "#1c3f94").save(wrong_size, format="PNG")
    opaque_outline = io.BytesIO()
    Image.new("RGBA", (32, 32), (28, 63, 148, 255)).save(opaque_outline, format="PNG")
    problems = validate_manifest(valid_manifest(), {"color.png": wrong_size.getvalue(),
                                                     "outline.png": opaque_outline.getvalue()})
    assert any("color.png skal være 192x192" in p for p in problems)
    assert any("outline.png skal have en gennemsigtig baggrund" in p for p in problems)
    assert any("kun indeholde hvide og gennemsigtige" in p for p in problems)
    assert any("ikonet 'outline.png' findes ikke" in p
               for p in validate_manifest(valid_manifest(), {"color.png": icons["color.png"]}))


def test_an_invalid_package_is_not_written(tmp_path):
    manifest = valid_manifest()
    manifest["id"] = "ikke-et-guid"
    out = tmp_path / "app.zip"
    with pytest.raises(TeamsAppError) as error:
        write_package(out, manifest)
    assert "ikke et GUID" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_cli_builds_the_package(tmp_path, capsys):
    out = tmp_path / "app.zip"
    assert main(["teams-app", "--out", str(out), "--app-id", BOT_ID,
                 "--public-url", PUBLIC_URL, "--version", "2.0.1"]) == 0
    assert "Teams-pakken er skrevet" in capsys.readouterr().out
    _, manifest, _, _ = read_package(out)
    assert manifest["bots"][0]["botId"] == BOT_ID and manifest["version"] == "2.0.1"


def test_cli_takes_the_bot_id_and_public_url_from_the_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("BEREDSKAB_BOT_APP_ID", BOT_ID)
    monkeypatch.setenv("BEREDSKAB_PUBLIC_URL", "https://ssp.kk.example/")
    out = tmp_path / "app.zip"
    assert main(["teams-app", "--out", str(out)]) == 0
    _, manifest, _, _ = read_package(out)
    assert manifest["bots"][0]["botId"] == BOT_ID
    assert manifest["validDomains"] == ["ssp.kk.example"]
    assert manifest["developer"]["privacyUrl"] == "https://ssp.kk.example/privatliv"


def test_cli_refuses_without_a_bot_id(tmp_path, capsys):
    out = tmp_path / "app.zip"
    assert main(["teams-app", "--out", str(out), "--public-url", PUBLIC_URL]) == 2
    assert "Bottens app-id kendes ikke" in capsys.readouterr().err
    assert not out.exists()


def test_cli_demo_uses_the_emulator_bot_and_allows_http_on_this_machine(tmp_path):
    out = tmp_path / "app.zip"
    assert main(["teams-app", "--out", str(out), "--demo"]) == 0
    _, manifest, _, _ = read_package(out)
    assert manifest["bots"][0]["botId"] == DEFAULT_BOT_APP_ID
    assert manifest["developer"]["privacyUrl"] == "http://127.0.0.1:8400/privatliv"
    assert manifest["validDomains"] == ["127.0.0.1"]


def test_cli_refuses_http_outside_demo(tmp_path, capsys):
    out = tmp_path / "app.zip"
    assert main(["teams-app", "--out", str(out), "--app-id", BOT_ID,
                 "--public-url", "http://127.0.0.1:8400"]) == 2
    assert "https-adresse" in capsys.readouterr().err
    assert not out.exists()


def test_cli_refuses_an_http_public_url_from_the_settings_outside_demo(tmp_path, monkeypatch,
                                                                       capsys):
    monkeypatch.setenv("BEREDSKAB_BOT_APP_ID", BOT_ID)
    monkeypatch.setenv("BEREDSKAB_PUBLIC_URL", "http://ssp.kk.example")
    out = tmp_path / "app.zip"
    assert main(["teams-app", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "BEREDSKAB_PUBLIC_URL" in err and "skal være en https-adresse" in err
    assert not out.exists()


@pytest.mark.parametrize("args, expected", [
    (["--app-id", BOT_ID, "--public-url", "http://beredskab.kk.example"],
     "Kun demo-pakken (--demo) må bruge http"),
    (["--demo", "--public-url", "http://beredskab.kk.example"],
     "demo-pakken må kun bruge http på denne maskine"),
    (["--app-id", BOT_ID, "--public-url", "beredskab.kk.example"],
     "skal være en https-adresse med et værtsnavn"),
    (["--app-id", BOT_ID, "--public-url", "https://"],
     "skal være en https-adresse med et værtsnavn"),
    (["--app-id", BOT_ID, "--public-url", "https://beredskab.kk.example/?side=1"],
     "?forespørgsel"),
])
def test_cli_refuses_public_urls_teams_cannot_use(tmp_path, capsys, args, expected):
    out = tmp_path / "app.zip"
    assert main(["teams-app", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert "Teams-pakken blev ikke skrevet" in err and expected in err, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_validation_wants_different_short_and_full_texts():
    manifest = valid_manifest()
    manifest["name"]["full"] = manifest["name"]["short"]
    manifest["description"]["full"] = f"Kort sagt: {manifest['description']['short']}."
    problems = validate_manifest(manifest)
    assert "name.short og name.full må ikke være ens" in problems
    assert "description.short må ikke gentages i description.full" in problems
    assert validate_manifest(valid_manifest()) == []


# --- Microsoft's own schema --------------------------------------------------------------------

def test_the_package_uses_the_newest_schema_version_microsoft_publishes(schemas, schema):
    assert MANIFEST_VERSION == newest(schemas)
    assert SCHEMA_URL == ("https://developer.microsoft.com/json-schemas/teams/"
                          f"v{newest(schemas)}/MicrosoftTeams.schema.json")
    assert schema["properties"]["manifestVersion"]["const"] == MANIFEST_VERSION


@pytest.mark.parametrize("args", [
    ["--app-id", BOT_ID, "--public-url", PUBLIC_URL],  # production
    ["--demo"],  # the emulator's bot, http://127.0.0.1:8400
], ids=["production", "demo"])
def test_the_package_validates_against_microsofts_schema(tmp_path, schema, args):
    out = tmp_path / "app.zip"
    assert main(["teams-app", "--out", str(out), *args]) == 0
    _, manifest, _, _ = read_package(out)
    assert manifest["$schema"] == SCHEMA_URL
    assert schema_errors(schema, manifest) == []


def test_the_package_from_the_settings_validates_against_microsofts_schema(tmp_path, schema,
                                                                          monkeypatch):
    monkeypatch.setenv("BEREDSKAB_BOT_APP_ID", BOT_ID)
    monkeypatch.setenv("BEREDSKAB_PUBLIC_URL", "https://ssp.kk.example/beredskab/")
    out = tmp_path / "app.zip"
    assert main(["teams-app", "--out", str(out), "--version", "3.1.4"]) == 0
    _, manifest, _, _ = read_package(out)
    assert manifest["developer"]["websiteUrl"] == "https://ssp.kk.example/beredskab/om"
    assert schema_errors(schema, manifest) == []


@pytest.mark.parametrize("where, change", [
    ("manifestVersion", lambda m: m.update(manifestVersion="1.19")),
    ("$schema", lambda m: m.update({"$schema": "ikke en adresse"})),
    ("id", lambda m: m.update(id="ikke-et-guid")),
    ("name/short", lambda m: m["name"].update(short="S" * 31)),
    ("developer/privacyUrl", lambda m: m["developer"].update(privacyUrl="ftp://x.example/p")),
    ("bots/0/scopes/0", lambda m: m["bots"][0]["scopes"].__setitem__(0, "channel")),
    ("", lambda m: m.update(hjemmeside="https://x.example")),
])
def test_the_schema_check_refuses_what_microsoft_refuses(schema, where, change):
    manifest = valid_manifest()
    change(manifest)
    errors = schema_errors(schema, manifest)
    assert any(e.startswith(f"{where}: ") for e in errors), errors


def test_the_schema_admits_http_so_the_builder_refuses_it_outside_demo(schema):
    """v1.30 types the developer URLs as anyHttpUrl (^[Hh][Tt][Tt][Pp][Ss]?://) and takes any
    string in validDomains; the docs ask for https:// URLs. So the schema alone would let an
    http production package through, and the builder is what refuses it."""
    public = build_manifest(bot_app_id=BOT_ID, public_url="http://beredskab.kk.example")
    assert schema_errors(schema, public) == []
    problems = validate_manifest(public)
    assert [p.split(" ")[0] for p in problems] == \
        ["developer.websiteUrl", "developer.privacyUrl", "developer.termsOfUseUrl"]
    assert all("skal være en https-adresse" in p for p in problems)
    assert validate_manifest(public, demo=True) != []

    local = build_manifest(bot_app_id=BOT_ID, public_url="http://localhost:8400")
    assert schema_errors(schema, local) == []
    assert validate_manifest(local, demo=True) == []
    assert validate_manifest(local) != []
