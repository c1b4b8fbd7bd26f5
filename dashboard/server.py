"""The dashboard's server: ``python -m dashboard``, from any folder.

Streamlit reads ``.streamlit/config.toml`` only from the folder it is started in (and the
user's home), so a server started elsewhere ran with Streamlit's defaults: 200 MB uploads and
full tracebacks for every visitor. The settings that protect the server are therefore pinned
here, in code, with the headers Streamlit has no setting for and a short notice in place of any
unexpected error's traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import uuid
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipelines.ingest import reader

HERE = Path(__file__).resolve().parent
LOG = logging.getLogger("ragboard.dashboard")

SETTINGS: dict[str, Any] = {
    "server.maxUploadSize": reader.MAX_BYTES // (1024 * 1024),  # MB: what the reader accepts
    "server.maxMessageSize": 50,            # MB to a browser: no page needs more
    "server.enableXsrfProtection": True,
    "server.enableCORS": True,
    "server.headless": True,
    "server.fileWatcherType": "none",       # a served dashboard does not reload its code
    "client.showErrorDetails": "none",      # visitors never see a traceback or a server path
    "client.toolbarMode": "viewer",
    "browser.gatherUsageStats": False,
}

# Sent with every HTTP response: no other site may frame the dashboard (clickjacking), browsers
# take content types as given, and addresses with a quarter or area do not leak to other sites.
HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class SecurityHeaders:
    """ASGI middleware adding HEADERS to HTTP responses (the websocket is left alone)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()
                         if k.lower().encode() not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def hide_error(exc: Exception) -> bool:
    """An unexpected error: the detail goes to the server's log under a reference, the visitor
    gets one sentence with that reference. Returning True keeps Streamlit's own display away."""
    ref = uuid.uuid4().hex[:8]
    LOG.error("Unexpected error on a page (reference %s)", ref, exc_info=exc)
    st.error(f"Something went wrong on this page, so it could not be shown. Try again; if it happens again,"
             f" tell the administrator the reference {ref}.")
    return True


app = st.App(HERE / "app.py", middleware=[Middleware(SecurityHeaders)], on_script_error=hide_error)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description="Serve the ragboard dashboard.")
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--address", default="localhost",
                        help="the address to listen on (default: localhost; 0.0.0.0 for every interface)")
    args = parser.parse_args(argv)
    sys.argv = sys.argv[:1]  # the page script takes no arguments
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app.run(config={**SETTINGS, "server.port": args.port, "server.address": args.address})
