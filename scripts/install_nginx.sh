#!/usr/bin/env bash
# Install Debian's nginx for the scale-out tests (tests/integration/test_two_instances.py):
# the `nginx` package (/usr/sbin/nginx). The tests run it as the current user with their
# own prefix and configuration in a temporary directory, on 127.0.0.1 only; the service
# Debian may start with the package is stopped and disabled (nothing listens on port 80).
# Idempotent: returns at once when nginx is installed. Needs root (or sudo) and Debian's
# package registry; fails with a clear message when it cannot install.
set -euo pipefail

NGINX=/usr/sbin/nginx
PACKAGES=(nginx)

if [ -x "$NGINX" ]; then
  exit 0
fi

fail() {
  cat >&2 <<MSG
medbot: could not install nginx for the two-instance tests: $1
Install it by hand, then run the tests again:
  sudo apt-get update && sudo apt-get install --no-install-recommends ${PACKAGES[*]}
(expected: $NGINX; apt log: ${log:-none})
MSG
  exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found (not a Debian/Ubuntu system)"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  fail "installing packages needs root (or password-less sudo)"
fi

log=$(mktemp -t medbot-install-nginx.XXXXXX.log)
export DEBIAN_FRONTEND=noninteractive
apt_install() {
  # policy-rc.d answers 101: the package's post-install does not start a server on port 80
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends \
    -o Dpkg::Use-Pty=0 "${PACKAGES[@]}" >>"$log" 2>&1
}

echo "medbot: installing ${PACKAGES[*]} for the two-instance tests (once)..." >&2
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod 755 "$policy"
  own_policy=1
fi
cleanup() { if [ -n "$own_policy" ]; then "${SUDO[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT
# A fresh machine may have stale or no package lists: update only when needed.
if ! apt_install; then
  "${SUDO[@]}" apt-get update -q >>"$log" 2>&1 || { tail -n 20 "$log" >&2; fail "apt-get update failed"; }
  apt_install || { tail -n 20 "$log" >&2; fail "apt-get install failed"; }
fi

[ -x "$NGINX" ] || fail "$NGINX missing after the install"
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  "${SUDO[@]}" systemctl disable --now nginx >>"$log" 2>&1 || true
fi
rm -f "$log"
echo "medbot: $("$NGINX" -v 2>&1 || echo nginx) installed." >&2
