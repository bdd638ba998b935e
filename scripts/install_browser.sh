#!/usr/bin/env bash
# Install Debian's headless browser for the acceptance tests (tests/acceptance):
# the `chromium` and `chromium-driver` packages (/usr/bin/chromium, /usr/bin/chromedriver),
# and a CJK font so that screenshots of Chinese pages are readable (not boxes).
# Idempotent: returns at once when all three are installed. Needs root (or sudo) and
# Debian's package registry; fails with a clear message when it cannot install.
# Selenium Manager is never used: the tests point Selenium at these two files.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
CHROMEDRIVER=/usr/bin/chromedriver
CJK_FONT=/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
PACKAGES=(chromium chromium-driver fonts-wqy-zenhei)

if [ -x "$CHROMIUM" ] && [ -x "$CHROMEDRIVER" ] && [ -f "$CJK_FONT" ]; then
  exit 0
fi

fail() {
  cat >&2 <<MSG
medbot: could not install the headless browser for the acceptance tests: $1
Install it by hand, then run the tests again:
  sudo apt-get update && sudo apt-get install --no-install-recommends ${PACKAGES[*]}
(expected: $CHROMIUM, $CHROMEDRIVER and $CJK_FONT; apt log: ${log:-none})
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

log=$(mktemp -t medbot-install-browser.XXXXXX.log)
export DEBIAN_FRONTEND=noninteractive
apt_install() {
  "${SUDO[@]}" apt-get install -y -q --no-install-recommends \
    -o Dpkg::Use-Pty=0 "${PACKAGES[@]}" >>"$log" 2>&1
}

echo "medbot: installing ${PACKAGES[*]} for the browser tests (once)..." >&2
# A fresh machine may have stale or no package lists: update only when needed.
if ! apt_install; then
  "${SUDO[@]}" apt-get update -q >>"$log" 2>&1 || { tail -n 20 "$log" >&2; fail "apt-get update failed"; }
  apt_install || { tail -n 20 "$log" >&2; fail "apt-get install failed"; }
fi

[ -x "$CHROMIUM" ] || fail "$CHROMIUM missing after the install"
[ -x "$CHROMEDRIVER" ] || fail "$CHROMEDRIVER missing after the install"
[ -f "$CJK_FONT" ] || fail "$CJK_FONT missing after the install"
rm -f "$log"
echo "medbot: $("$CHROMIUM" --version 2>/dev/null || echo chromium) installed." >&2
