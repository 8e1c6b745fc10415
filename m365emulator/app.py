"""The emulator as an aiohttp application, and starting it on a port."""

from __future__ import annotations

from aiohttp import web

from . import (
    calendar,
    channel_routes,
    chat_routes,
    connector_routes,
    graph_routes,
    group_routes,
    openid_routes,
    ops_routes,
    page_routes,
    sign_in_routes,
    token_routes,
)
from .api_middleware import api_middleware, base_url_middleware
from .config import EmulatorConfig
from .http_common import EMULATOR
from .limits import Clock
from .smtp import EmulatorSmtpServer
from .state import Emulator

# Graph, the connector and the token endpoint read bodies of up to 4 MB, as Graph does for sendMail.
MAX_BODY_BYTES = 4 * 1024 * 1024


def create_emulator_app(emulator: Emulator) -> web.Application:
    app = web.Application(middlewares=[base_url_middleware, api_middleware], client_max_size=MAX_BODY_BYTES)
    app[EMULATOR] = emulator
    # Fixed paths first: `/{tenant}/...` must not swallow them.
    for module in (ops_routes, openid_routes, graph_routes, group_routes, chat_routes, calendar, connector_routes, page_routes, channel_routes, sign_in_routes, token_routes):
        app.router.add_routes(module.routes)
    return app


async def start_emulator(
    config: EmulatorConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    clock: Clock | None = None,
) -> tuple[Emulator, web.AppRunner]:
    """Serve a new emulator on host:port (0: a free port); `emulator.base_url` tells where.

    With `config.smtp_port` set (0: a free port) the SMTP server is started on the same host too;
    `emulator.smtp_port` tells its port. Stop both with `await runner.cleanup()`.
    """
    emulator = Emulator(config, clock=clock) if clock is not None else Emulator(config)
    app = create_emulator_app(emulator)
    smtp_server = None
    if emulator.config.smtp_port is not None:
        smtp_server = EmulatorSmtpServer(emulator, host, emulator.config.smtp_port)

        async def stop_smtp(_app: web.Application) -> None:
            await smtp_server.stop()

        app.on_cleanup.append(stop_smtp)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        if smtp_server is not None:
            await smtp_server.start()
    except BaseException:
        await runner.cleanup()
        raise
    actual_port = runner.addresses[0][1] if runner.addresses else port
    display_host = f"[{host}]" if ":" in host else host
    emulator.base_url = f"http://{display_host}:{actual_port}"
    return emulator, runner
