#!/usr/bin/env bash
# Run the whole test suite (unit + PostgreSQL + trained-model integration tests).
set -euo pipefail
cd "$(dirname "$0")/.."
export MEDBOT_TEST_POSTGRES_URL="${MEDBOT_TEST_POSTGRES_URL:-postgresql+psycopg2://postgres@127.0.0.1:5432/test}"
export MEDBOT_TEST_REDIS_URL="${MEDBOT_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1
# Headless Chromium for tests/acceptance (a no-op when installed). In CI a missing
# browser stops the run; locally the browser tests are skipped with the reason.
if ! scripts/install_browser.sh && [ -n "${CI:-}" ]; then
  exit 1
fi
exec .venv/bin/python -m pytest "$@"
