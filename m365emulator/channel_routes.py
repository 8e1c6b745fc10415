"""Teams channels as a person and a test see them: `/kanal/{channel_id}` and `/_emulator/channels`."""

from __future__ import annotations

import json

from aiohttp import web

from .channel_html import channel_page
from .http_common import emulator_of
from .page_html import channel_ids

routes = web.RouteTableDef()


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


@routes.get("/kanal/{channel_id}")
async def channel(request: web.Request) -> web.Response:
    text = channel_page(emulator_of(request), request.match_info["channel_id"])
    return web.Response(text=text, content_type="text/html", charset="utf-8")


@routes.get("/_emulator/channels")
async def list_channels(request: web.Request) -> web.Response:
    """`{channel_id: {"name", "threads"}}` for configured channels and channels the bot posted in."""
    emulator = emulator_of(request)
    return web.json_response(
        {
            channel_id: {"name": emulator.channel_name(channel_id), "threads": len(emulator.channels.get(channel_id, []))}
            for channel_id in channel_ids(emulator)
        },
        dumps=_dumps,
    )


@routes.get("/_emulator/channels/{channel_id}")
async def channel_json(request: web.Request) -> web.Response:
    """`{"id", "name", "threads": [thread entry with "replies"]}`; 404 for a channel the bot cannot post in."""
    emulator = emulator_of(request)
    channel_id = request.match_info["channel_id"]
    if not emulator.channel_accepted(channel_id):
        return web.json_response({"error": {"code": "ChannelNotFound", "message": f"Channel {channel_id} not found."}},
                                 status=404)
    return web.json_response(
        {"id": channel_id, "name": emulator.channel_name(channel_id), "threads": emulator.channels.get(channel_id, [])},
        dumps=_dumps,
    )
