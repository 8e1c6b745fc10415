"""The pages' style sheets and scripts (``templates/web/static/``), served from ``/statisk/``.

They are files of their own because the Content-Security-Policy (``security_headers.py``) allows
no inline script or style. Only the files in that folder are served, by name; they hold no
personal data, so browsers may keep them (and ask again whether they changed).
"""
from __future__ import annotations

from aiohttp import web

from beredskab_templates import folder as templates_folder

from . import access

PREFIX = "/statisk/"
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
FILES = {path.name: path for path in (templates_folder() / "web" / "static").iterdir()
         if path.suffix in TYPES}


@access.rule(access.PUBLIC)
async def asset(request: web.Request) -> web.StreamResponse:
    path = FILES.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound(text="Filen findes ikke.")
    return web.FileResponse(path, headers={"Content-Type": TYPES[path.suffix],
                                           "Cache-Control": "no-cache"})


def routes() -> list[web.RouteDef]:
    return [web.get(PREFIX + "{name}", asset)]
