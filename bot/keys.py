"""Typed keys for what the aiohttp application carries."""
from aiohttp import web

from .services import Services

SERVICES = web.AppKey("services", Services)
