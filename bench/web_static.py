"""The baseline of `web-listing`: a bare aiohttp handler returning bytes from memory.

`python bench/web_static.py FOLDER PORT` serves each FOLDER/N.body at the path (with
its query) in N.path, with the content type in N.type: what `dispatch-tui web` served.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web


def main() -> None:
    folder, port = Path(sys.argv[1]), int(sys.argv[2])
    answers: dict[str, tuple[bytes, str]] = {}
    for body in sorted(folder.glob("*.body")):
        path = body.with_suffix(".path").read_text()
        answers[path] = (body.read_bytes(), body.with_suffix(".type").read_text())

    async def handler(request: web.Request) -> web.Response:
        body, content_type = answers[request.path_qs]
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
