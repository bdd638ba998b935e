"""The Rasa server process of ``medbot run``: Rasa's own CLI, after medbot's
performance fixes for the pinned Rasa 3.6.

    python -m components.rasa_server run --model ... --endpoints ...   # = python -m rasa run ...

The fix (measured in docs/benchmarks.md, "WeChat channel"):

- **Action-server responses are validated with a validator built once.** Rasa 3.6
  (``RemoteAction._validate_action_result``) calls ``jsonschema.validate(result,
  schema)`` for every custom-action call, which first checks the constant
  response schema against the draft 2020-12 meta-schema: ~33 ms of CPU per call
  on this machine, and every patient message runs at least one custom action
  (the language slot's mapping). The replacement checks the schema once and
  then validates each response against the same schema, with the same
  validator class, the same best-match error and Rasa's own error message, so
  a malformed response is refused exactly as before (tests/components/test_rasa_server.py).

- **A model loads without a training step.** Rasa 3.6 (``RasaModel.load``) builds
  the weights of DIET and TED by *training one step* (``model.fit`` on one example,
  then discarding it): tracing the training function takes ~45 of the ~55 s a
  worker needs to load the model on this machine, at every start of every worker.
  The replacement builds the prediction variables by one eager prediction, loads
  the trained weights into them (variables used only in training are not needed and
  are not created), then prepares and traces prediction exactly as Rasa does. The
  parse of every message and the policy's predictions are identical to Rasa's own
  load (tests/integration/test_model_load.py); fine-tuning keeps Rasa's load.

The server also answers ``GET /health`` (for ``medbot run``'s supervisor, a load
balancer or a container health check): 200 once this worker has loaded the model,
with the worker's process id and whether the database answers.

``MEDBOT_WORKERS`` (``medbot run --workers N``) becomes Rasa's own ``SANIC_WORKERS``:
Sanic forks N workers that share the listening socket, after the channels were
built here. A worker inherits the app but never its database connections: the
``Database`` opens a new engine in a process it was not created in
(``bot.store.db``), and Rasa loads the agent, tracker store and lock store per
worker (``before_server_start``). N > 1 is refused without a Redis lock store and
PostgreSQL (``bot.service.runtime.check_workers``); Rasa would fall back to one
worker on the in-memory lock store.

Before Rasa starts, the process's ``bot.app.App`` is installed: Rasa instantiates the
input channels of ``credentials.yml`` with ``from_credentials`` and nothing else, and
every channel (REST, WeChat, the console) takes its database, gate and services from
that one app, so the Rasa process has one database engine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from functools import lru_cache
from typing import Any

_INSTALLED = "_medbot_cached_validator"
_HEALTH_INSTALLED = "_medbot_health"
HEALTH_DB_TIMEOUT = 2.0  # seconds; a health check must answer even while the database hangs

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    """Rasa's action-response schema, checked once, with the validator
    ``jsonschema.validate`` would pick for it."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def install() -> None:
    """Replace ``RemoteAction._validate_action_result`` (idempotent)."""
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction._validate_action_result
    if getattr(original, _INSTALLED, False):
        return

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        from jsonschema.exceptions import best_match

        if best_match(_response_validator().iter_errors(result)) is None:
            return True
        return original(self, result)  # invalid: Rasa's own check raises its own error

    setattr(_validate_action_result, _INSTALLED, True)
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


_FAST_LOAD = "_medbot_fast_load"


def install_fast_load() -> None:
    """Replace ``RasaModel.load`` for prediction (idempotent); fine-tuning, or a load
    without a prediction example, keeps Rasa's own."""
    from rasa.utils.tensorflow.models import RasaModel

    stock = RasaModel.load
    if getattr(stock, _FAST_LOAD, False):
        return
    stock_load = stock.__func__

    def load(cls: type[RasaModel], model_file_name: str, model_data_example: Any,
             predict_data_example: Any = None, finetune_mode: bool = False,
             *args: Any, **kwargs: Any) -> RasaModel:
        if finetune_mode or predict_data_example is None:
            return stock_load(cls, model_file_name, model_data_example, predict_data_example,
                              finetune_mode, *args, **kwargs)
        import tensorflow as tf

        config = kwargs.get("config", {})
        model = cls(*args, **kwargs)
        model.compile(optimizer=tf.keras.optimizers.Adam(config.get("learning_rate", 0.001)),
                      run_eagerly=config.get("run_eagerly"))
        eager = model._run_eagerly
        model._run_eagerly = True  # one eager prediction creates the prediction variables
        model.run_inference(predict_data_example)
        model._run_eagerly = eager
        model.load_weights(model_file_name).expect_partial()  # training-only state unused
        # what the eager pass prepared came from the untrained weights: prepare again
        model.prepared_for_prediction = False
        model._tf_predict_step = None
        model.run_inference(predict_data_example)  # traces prediction once, as Rasa does
        return model

    wrapped = classmethod(load)
    setattr(load, _FAST_LOAD, True)
    RasaModel.load = wrapped  # type: ignore[method-assign]


def install_health() -> None:
    """Add ``GET /health`` to the Sanic app Rasa configures (idempotent)."""
    import rasa.core.run as rasa_run

    original = rasa_run.configure_app
    if getattr(original, _HEALTH_INSTALLED, False):
        return

    def configure_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)
        app.add_route(health, "/health", methods=["GET"], name="medbot_health")
        return app

    setattr(configure_app, _HEALTH_INSTALLED, True)
    rasa_run.configure_app = configure_app


async def health(request: Any) -> Any:
    """200 when this worker's agent is loaded; the body names the worker (``pid``)
    and says whether the database answers (``ok`` / ``down``): a database outage is
    shared by every instance, and the channels still answer emergencies without it,
    so it does not take the worker out of a load balancer."""
    from sanic import response

    agent = getattr(request.app.ctx, "agent", None)
    ready = agent is not None and agent.is_ready()
    try:
        database = await asyncio.wait_for(asyncio.to_thread(_database_state), HEALTH_DB_TIMEOUT)
    except asyncio.TimeoutError:
        database = "down"
    return response.json({"status": "ok" if ready else "loading", "pid": os.getpid(),
                          "database": database}, status=200 if ready else 503)


def _database_state() -> str:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from bot.app import current_app

    try:
        with current_app().db.read() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("health.database_down error=%s", type(exc).__name__)
        return "down"
    return "ok"


def use_workers(settings: Any) -> int:
    """Rasa's ``SANIC_WORKERS`` from ``MEDBOT_WORKERS`` (one typed setting decides),
    after the checks ``medbot run`` makes, for a server started on its own (a
    container of ``deploy/``).

    Raises:
        ConfigError: several workers without a shared lock store and database, or
            an interface beyond loopback without ``MEDBOT_REST_TOKEN``.
    """
    from bot.service.exposure import check_exposure
    from bot.service.runtime import check_workers

    check_exposure(settings)
    check_workers(settings)
    os.environ["SANIC_WORKERS"] = str(settings.workers)
    return settings.workers


def install_app() -> Any:
    """The Rasa process's app, from the ``MEDBOT_*`` environment (built lazily:
    nothing is opened until a channel asks)."""
    from bot.app import App
    from bot.app import install as install_medbot
    from bot.settings import Settings

    return install_medbot(App.from_settings(Settings.from_env()))


def main() -> None:
    from bot.errors import ConfigError
    from bot.logs import install as redact_logs
    from bot.settings import Settings

    redact_logs()  # no openids, phone numbers or tokens in Rasa's and Sanic's logs
    try:
        use_workers(Settings.from_env())
    except ConfigError as exc:
        print(f"medbot rasa server: {exc}", file=sys.stderr)
        sys.exit(2)
    install()
    install_fast_load()
    install_health()
    install_app()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
