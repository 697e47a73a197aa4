"""A minimal sendsms endpoint answering 202 at once, run as its own process
(`python bench/gateway.py PORTFILE`) so that it does not share a core's
GIL with the client being measured."""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web


async def accept(_request: web.Request) -> web.Response:
    return web.Response(status=202, text="0: Accepted for delivery")


async def serve(port_file: Path) -> web.AppRunner:
    app = web.Application()
    app.router.add_get("/cgi-bin/sendsms", accept)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port_file.write_text(str(runner.addresses[0][1]))
    return runner


def main() -> None:
    import asyncio

    loop = asyncio.new_event_loop()
    loop.run_until_complete(serve(Path(sys.argv[1])))
    loop.run_forever()


if __name__ == "__main__":
    main()
