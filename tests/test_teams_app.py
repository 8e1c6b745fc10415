"""The Teams app package: zip layout, manifest, drawn icons, validation and the CLI."""
from __future__ import annotations

import copy
import io
import json
import uuid
import zipfile

import pytest
from PIL import Image

from bot.cli import main
from bot.teams_app import (TeamsAppError, build_manifest, build_package, default_icons,
                           teams_app_id, validate_manifest, write_package)
from m365emulator.config import DEFAULT_BOT_APP_ID

BOT_ID = "0b7c6a52-3f0e-4d5b-9a61-2c1e8f4d7a90"
PUBLIC_URL = "https://beredskab.kk.example"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("BEREDSKAB_BOT_APP_ID", "BEREDSKAB_PUBLIC_URL", "BEREDSKAB_DEMO"):
        monkeypatch.delenv(name, raising=False)


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
    out = tmp_path / "ssp-beredskab.zip"
    build_package(out, bot_app_id=BOT_ID, public_url=PUBLIC_URL, version="1.2.3")
    names, manifest, color, outline = read_package(out)
    assert sorted(names) == ["color.png", "manifest.json", "outline.png"]

    assert manifest["$schema"].endswith("/teams/v1.19/MicrosoftTeams.schema.json")
    assert manifest["manifestVersion"] == "1.19"
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
    (lambda m: m.pop("accentColor"), "accentColor"),
    (lambda m: m["name"].update(short="S" * 31), "name.short"),
    (lambda m: m["developer"].update(privacyUrl="http://x.example/p"), "privacyUrl"),
    (lambda m: m["bots"][0]["commandLists"][0]["commands"][0].update(title="t" * 33), "title"),
    (lambda m: m.update(validDomains=["https://x.example/"]), "validDomains"),
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


def test_cli_demo_uses_the_emulator_bot_and_allows_http(tmp_path):
    out = tmp_path / "app.zip"
    assert main(["teams-app", "--out", str(out), "--demo"]) == 0
    _, manifest, _, _ = read_package(out)
    assert manifest["bots"][0]["botId"] == DEFAULT_BOT_APP_ID
    assert manifest["validDomains"] == ["127.0.0.1"]


def test_cli_refuses_http_outside_demo(tmp_path, capsys):
    out = tmp_path / "app.zip"
    assert main(["teams-app", "--out", str(out), "--app-id", BOT_ID,
                 "--public-url", "http://127.0.0.1:8400"]) == 2
    assert "https-adresse" in capsys.readouterr().err
    assert not out.exists()
