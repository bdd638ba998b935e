#!/usr/bin/env bash
# Create .venv with Python 3.10 and install medbot's pinned dependencies.
# Idempotent: when requirements.lock and pyproject.toml are unchanged since the
# last successful install, it returns within a second.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  local candidates=()
  [ -n "${MEDBOT_PYTHON:-}" ] && candidates+=("$MEDBOT_PYTHON")
  candidates+=(python3.10 /root/.pyenv/versions/3.10.13/bin/python3.10)
  for dir in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.10.*/bin /usr/local/bin /usr/bin; do
    [ -x "$dir/python3.10" ] && candidates+=("$dir/python3.10")
  done
  for py in "${candidates[@]}"; do
    if command -v "$py" >/dev/null 2>&1 && \
       "$py" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; then
      command -v "$py"; return 0
    fi
  done
  return 1
}

stamp=.venv/.medbot-install-stamp
want=$(cat requirements.lock pyproject.toml | sha256sum | cut -c1-32)
if [ -x .venv/bin/python ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && \
   .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)'; then
  exit 0
fi

if ! PY=$(find_python); then
  cat >&2 <<'MSG'
medbot needs Python 3.10 (Rasa 3.6 does not run on 3.11 or newer), and none was found.
Install it, then run the command again, for example:
  pyenv install 3.10.13                      # with pyenv
  sudo apt-get install python3.10 python3.10-venv   # Debian/Ubuntu with a 3.10 package
or point MEDBOT_PYTHON at a Python 3.10 interpreter:  MEDBOT_PYTHON=/path/to/python3.10 make run
MSG
  exit 1
fi

echo "medbot: installing dependencies into .venv with $PY (first run takes a few minutes)..." >&2
if [ ! -x .venv/bin/python ] || \
   ! .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)'; then
  rm -rf .venv
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet -r requirements.lock
.venv/bin/python -m pip install --quiet --no-deps -e .
echo "$want" > "$stamp"
echo "medbot: .venv ready." >&2
