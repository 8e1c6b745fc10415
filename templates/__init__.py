"""The product's texts: Jinja2 templates for the web pages (``web/``), Adaptive Cards
(``teams/``), e-mails (``email/``), alert texts (``alerts/``) and the plan templates (``plans/``).

This folder is installed as the package ``beredskab_templates`` (pyproject.toml maps it), so an
installed ``beredskab`` reads its texts as package data through ``importlib.resources`` wherever
it runs, and a checkout reads the same files in place.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def folder() -> Path:
    """The folder holding the templates (a plain directory, installed or in a checkout)."""
    return Path(str(files(__name__)))


def label(path: Path) -> str:
    """A template file's name for messages, as the secretariat knows it: ``templates/plans/x.yaml``."""
    try:
        return "templates/" + Path(path).resolve().relative_to(folder().resolve()).as_posix()
    except ValueError:
        return str(path)
