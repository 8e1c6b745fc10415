"""The aiohttp application: the Teams bot endpoint, the web pages and the JSON API."""
from __future__ import annotations

from aiohttp import web

from . import (alert_pages, alerts_api, api, commitment_pages, meeting_api, meeting_pages,
               pages, plan_api, plan_pages, teams_endpoint, web_session)
from .keys import SERVICES
from .services import Services, build_services
from .settings import Settings


@web.middleware
async def security_headers(request: web.Request, handler):
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.content_type == "text/html":
        response.headers.setdefault("X-Frame-Options", "DENY")
    return response


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(settings: Settings, *, services: Services | None = None,
               start_worker: bool = True) -> web.Application:
    """The service. Pass ``services`` to share them (tests); otherwise they are built at start-up
    and closed at shutdown."""
    app = web.Application(middlewares=[security_headers], client_max_size=1024 * 1024)
    app[web_session.SETTINGS_KEY] = web_session.serializer(settings.session_secret)

    async def lifecycle(app: web.Application):
        own = services is None
        app[SERVICES] = services or await build_services(settings, start_worker=start_worker)
        yield
        if own:
            await app[SERVICES].close()

    app.cleanup_ctx.append(lifecycle)
    app.add_routes([web.get("/healthz", health)])
    app.add_routes(teams_endpoint.routes())
    app.add_routes(api.routes())
    app.add_routes(alerts_api.routes())
    app.add_routes(alert_pages.routes())
    app.add_routes(plan_api.routes())
    app.add_routes(plan_pages.routes())
    app.add_routes(commitment_pages.routes())
    app.add_routes(meeting_api.routes())
    app.add_routes(meeting_pages.routes())
    app.add_routes(pages.routes())
    return app
