"""The action server process of ``medbot run``: rasa_sdk's app, bound and guarded.

    python -m components.action_server        # settings from MEDBOT_* variables

``python -m rasa_sdk`` listens on ``0.0.0.0`` and runs any action for any
tracker POSTed to ``/webhook``: whoever reaches it can act as any patient. This
launcher serves the same ``create_app`` but

- binds ``MEDBOT_ACTION_HOST`` (``127.0.0.1`` by default);
- when ``MEDBOT_ACTION_SECRET`` is set, refuses (401) every request to
  ``/webhook`` and ``/actions`` without ``Authorization: Bearer <secret>``
  (compared in constant time); the Rasa server sends it (``endpoints.yml``);
  beyond loopback the secret is mandatory (``bot.service.exposure``);
- answers an unexpected error without echoing the request (rasa_sdk's handler
  returns the whole tracker, and logs it, on any exception);
- sends no CORS headers: only the Rasa server calls it, never a browser;
- gives the actions the process's one ``bot.app.App`` (one database engine,
  one clock, every service): rasa_sdk instantiates actions without arguments,
  so the app is installed for the process before the actions run and
  disposed when the server stops.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import sys

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.app import App, install, uninstall
from bot.errors import ConfigError
from bot.logs import install as redact_logs
from bot.service.exposure import check_exposure
from bot.settings import Settings

log = logging.getLogger(__name__)

GUARDED = ("/webhook", "/actions")


def build_app(settings: Settings, action_package: str = "actions",
              medbot: App | None = None) -> Sanic:
    """rasa_sdk's application for ``action_package``, with the secret check, serving
    the actions with ``medbot`` (default: an ``App`` built from ``settings``)."""
    medbot = install(medbot or App.from_settings(settings))
    app = create_app(action_package, cors_origins=None)
    app.ctx.medbot = medbot
    secret = settings.action_secret

    @app.after_server_stop
    async def dispose(_app: Sanic, _loop: object) -> None:
        uninstall()
        medbot.dispose()

    @app.on_request
    async def authorize(request: Request) -> HTTPResponse | None:
        if secret is None or not request.path.startswith(GUARDED):
            return None
        scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              secret.encode()):
            return None
        log.warning("action_server.refused reason=bad_or_missing_secret peer=%s", request.ip)
        return response.json({"error": "unauthorized"}, status=401)

    @app.exception(Exception)
    async def failed(request: Request, exception: Exception) -> HTTPResponse:
        # No request body in the answer or the log: it is a patient's whole tracker.
        log.error("action_server.error path=%s type=%s", request.path,
                  type(exception).__name__)
        return response.json({"error": "action server error"}, status=500)

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.action_server")
    parser.add_argument("--port", type=int, help="default MEDBOT_ACTION_PORT")
    args = parser.parse_args(argv)
    redact_logs()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    if args.port:
        settings = settings.with_overrides(action_port=args.port)
    try:
        check_exposure(settings)
    except ConfigError as exc:
        print(f"medbot action server: {exc}", file=sys.stderr)
        return 2
    app = build_app(settings)
    log.info("action_server.listening host=%s port=%d secret=%s", settings.action_host,
             settings.action_port, "yes" if settings.action_secret else "no")
    app.run(settings.action_host, settings.action_port, workers=1, access_log=False,
            motd=False)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
