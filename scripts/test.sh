#!/usr/bin/env bash
# Run the whole test suite (unit + PostgreSQL + trained-model integration tests).
#
# Time of day: the integration service runs at the real time unless MEDBOT_TEST_CLOCK
# (e.g. 06:00, Beijing time) is set. After a full run (no arguments), the chat tests
# that depend on the time of day run again at each time in MEDBOT_TEST_CLOCKS
# (.ci/run sets a few; empty: skipped). The booking logic itself is checked at
# several times of day in every run (tests/appointments/test_time_of_day.py).
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
# Debian's nginx for the two-instance tests behind a load balancer (same rule).
if ! scripts/install_nginx.sh && [ -n "${CI:-}" ]; then
  exit 1
fi
.venv/bin/python -m pytest "$@"
if [ "$#" -eq 0 ]; then
  for clock in ${MEDBOT_TEST_CLOCKS:-}; do
    echo "== chat tests with the service clock at ${clock} (Asia/Shanghai) =="
    MEDBOT_TEST_CLOCK="$clock" .venv/bin/python -m pytest -m integration -p no:cacheprovider \
      tests/integration/test_appointments_chat.py tests/integration/test_reminders_chat.py
  done
fi
