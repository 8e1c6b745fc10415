"""The aiohttp application: the Teams bot endpoint, the web pages and the JSON API."""
from __future__ import annotations

from aiohttp import web

from . import (access, alert_pages, alerts_api, api, commitment_pages, guard, meeting_api,
               meeting_pages, pages, plan_api, plan_pages, sign_in_pages, teams_endpoint,
               web_session)
from . import (casefile_pages, involved_api, involved_pages, request_input, security_headers,
               static_files, statistics_page)
from . import health, metrics, observe
from .entra_sign_in import ENTRA_SIGN_IN, EntraSignIn
from .keys import SERVICES
from .services import Services, build_services
from .settings import Settings


def create_app(settings: Settings, *, services: Services | None = None,
               start_worker: bool = True) -> web.Application:
    """The service. Pass ``services`` to share them (tests); otherwise they are built at start-up
    and closed at shutdown."""
    app = web.Application(middlewares=[observe.observe, request_input.body_limits,
                                       web_session.resolve, guard.guard,
                                       observe.incident_context],
                          client_max_size=1024 * 1024)
    observe.install(app)
    app[web_session.SETTINGS_KEY] = web_session.serializer(settings.session_secret)
    app.on_response_prepare.append(web_session.refresh)  # idle timeout: re-issue on use
    app.on_response_prepare.append(security_headers.add)  # CSP, HSTS, no-store, Referrer-Policy
    entra = EntraSignIn.from_settings(settings)
    if entra is not None:
        app[ENTRA_SIGN_IN] = entra

    async def lifecycle(app: web.Application):
        own = services is None
        app[SERVICES] = services or await build_services(settings, start_worker=start_worker)
        yield
        if own:
            await app[SERVICES].close()

    app.cleanup_ctx.append(lifecycle)
    app.add_routes(health.routes())
    app.add_routes(metrics.routes())
    app.add_routes(teams_endpoint.routes())
    app.add_routes(api.routes())
    app.add_routes(alerts_api.routes())
    app.add_routes(alert_pages.routes())
    app.add_routes(plan_api.routes())
    app.add_routes(involved_api.routes())
    app.add_routes(involved_pages.routes())
    app.add_routes(plan_pages.routes())
    app.add_routes(commitment_pages.routes())
    app.add_routes(meeting_api.routes())
    app.add_routes(meeting_pages.routes())
    app.add_routes(casefile_pages.routes())
    app.add_routes(statistics_page.routes())
    app.add_routes(pages.routes())
    app.add_routes(sign_in_pages.routes())
    app.add_routes(static_files.routes())
    access.check_routes(app)
    return app
