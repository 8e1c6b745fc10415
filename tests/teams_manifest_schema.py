"""Microsoft's own JSON schemas for the Teams app manifest, for the package tests.

The schemas come from the npm package @microsoft/app-manifest at a pinned version (the
package Microsoft's tooling uses to validate manifests; it ships every published schema
version under ``build/json-schemas/teams/v<version>/``). They are fetched once with
``npm pack``, checked against the pinned integrity hash, and kept in ``var/`` (git-ignored)
for later runs; nothing of them is committed.

The schemas declare JSON Schema draft-04 but use ``const`` (for ``manifestVersion``) and
``if``/``then``, which draft-04 does not know. Microsoft's validator (Ajv with its draft-04
class) enforces them; jsonschema's plain Draft4Validator would silently ignore them and accept
a manifest whose ``manifestVersion`` does not match its schema. ``manifest_validator`` adds
them, and refuses a schema that uses any other keyword it would ignore.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
from jsonschema import Draft4Validator, Draft7Validator, FormatChecker

PACKAGE = "@microsoft/app-manifest"
PACKAGE_VERSION = "1.1.2"
PACKAGE_INTEGRITY = ("sha512-uXdmYzhIcchi3Tc9Sh3pTDMe55zy7ge19bnYCGB1gzuyha85Ii7wfdTruwEhqseaX9pwsW"
                     "DRB5Ot/ltv0rCONw==")
SCHEMAS_IN_PACKAGE = re.compile(r"^package/build/json-schemas/teams/v(\d+\.\d+)/"
                                r"MicrosoftTeams\.schema\.json$")
CACHE = (Path(__file__).resolve().parents[1] / "var" / "test-cache"
         / f"microsoft-app-manifest-{PACKAGE_VERSION}")
NPM_TIMEOUT_SECONDS = 300

# Keywords that validate nothing (annotations, structure) and so may be left unknown.
ANNOTATIONS = {"$schema", "id", "$id", "description", "default", "definitions", "title",
               "examples", "$comment", "deprecated"}


# Keywords whose value is data, not a schema.
VALUES = {"enum", "const", "default", "examples", "required"}


class SchemaUnavailable(Exception):
    """The schemas could not be had (no npm, no registry, a wrong download)."""


def teams_schemas() -> dict[str, Path]:
    """Every released Teams manifest schema in the pinned package, by version ("1.30")."""
    if not CACHE.is_dir():
        _fetch()
    found = {}
    for path in CACHE.glob("v*/MicrosoftTeams.schema.json"):
        found[path.parent.name[1:]] = path
    if not found:
        raise SchemaUnavailable(f"{CACHE} holds no schemas; delete it to fetch them again")
    return found


def newest(versions) -> str:
    """The highest numbered version ("1.30" above "1.9")."""
    return max(versions, key=lambda v: tuple(int(n) for n in v.split(".")))


def _fetch() -> None:
    npm = shutil.which("npm")
    if not npm:
        raise SchemaUnavailable(f"npm is not installed; it fetches {PACKAGE}@{PACKAGE_VERSION}")
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE.parent, prefix=".fetch-") as work:
        work = Path(work)
        try:
            result = subprocess.run(
                [npm, "pack", f"{PACKAGE}@{PACKAGE_VERSION}", "--pack-destination", str(work),
                 "--loglevel", "error"],
                capture_output=True, text=True, timeout=NPM_TIMEOUT_SECONDS, cwd=work)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SchemaUnavailable(f"npm pack {PACKAGE}@{PACKAGE_VERSION} failed: {error}")
        tarballs = list(work.glob("*.tgz"))
        if result.returncode != 0 or len(tarballs) != 1:
            raise SchemaUnavailable(f"npm pack {PACKAGE}@{PACKAGE_VERSION} failed "
                                    f"(exit {result.returncode}): {result.stderr.strip()[-500:]}")
        data = tarballs[0].read_bytes()
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        if integrity != PACKAGE_INTEGRITY:
            raise SchemaUnavailable(f"{tarballs[0].name} is not the pinned {PACKAGE}@"
                                    f"{PACKAGE_VERSION} (integrity {integrity})")
        unpacked = work / "schemas"
        with tarfile.open(tarballs[0], "r:gz") as archive:
            for member in archive.getmembers():
                match = SCHEMAS_IN_PACKAGE.match(member.name)
                if match and member.isfile():
                    target = unpacked / f"v{match.group(1)}" / "MicrosoftTeams.schema.json"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.extractfile(member).read())
        if not unpacked.is_dir():
            raise SchemaUnavailable(f"{PACKAGE}@{PACKAGE_VERSION} holds no Teams schemas")
        try:
            os.replace(unpacked, CACHE)
        except OSError:
            if not CACHE.is_dir():  # another run did not put it there first
                raise


def _uri(value) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or parts.path)) and " " not in value


FORMATS = FormatChecker()
FORMATS.checks("uri")(_uri)

ManifestValidator = jsonschema.validators.extend(Draft4Validator, {
    "const": Draft7Validator.VALIDATORS["const"],
    "if": Draft7Validator.VALIDATORS["if"],
})


def _keywords(node, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            if key in ("properties", "definitions", "patternProperties", "dependencies"):
                for sub in value.values():
                    _keywords(sub, found)
            elif key not in VALUES:
                _keywords(value, found)
    elif isinstance(node, list):
        for item in node:
            _keywords(item, found)


def unknown_keywords(schema: dict) -> set[str]:
    """Keywords in ``schema`` that ``ManifestValidator`` would silently ignore."""
    found: set[str] = set()
    _keywords(schema, found)
    known = set(ManifestValidator.VALIDATORS) | ANNOTATIONS | {"then", "else"}
    return found - known


def manifest_validator(schema: dict):
    unknown = unknown_keywords(schema)
    if unknown:
        raise AssertionError(f"the schema uses keywords the validator would ignore: {unknown}")
    # The schema's own structure; its patterns are ECMAScript regular expressions (some use
    # \p{L}, which Python's re lacks), so the metaschema's "regex" format is not checked here.
    Draft4Validator(Draft4Validator.META_SCHEMA).validate(schema)
    return ManifestValidator(schema, format_checker=FORMATS)
