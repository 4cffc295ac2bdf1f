#!/usr/bin/env bash
# Debian's Chromium for the UI's browser tests (tests/ui/test_ui_browser.py drives it with
# Playwright at /usr/bin/chromium; Playwright's own browser downloads are never used).
#
#   bash .ci/chromium.sh
#
# Does nothing when /usr/bin/chromium is there already. Otherwise installs the chromium package
# with apt-get (updating the package lists quietly first if the install fails without them).
# Whatever goes wrong, it says why on stderr and exits 0: the browser tests then skip, naming
# the missing browser.
set -u

log() { echo "chromium.sh: $*" >&2; }

if [ -x /usr/bin/chromium ]; then
    log "$(/usr/bin/chromium --version 2>/dev/null || echo chromium) is installed"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    log "no /usr/bin/chromium and no apt-get to install it; the browser tests will skip"
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
export DEBIAN_FRONTEND=noninteractive
install() { timeout 600 $SUDO apt-get install -y -q chromium >&2; }
log "installing Debian's chromium (at most 10 minutes)"
if ! install; then
    timeout 300 $SUDO apt-get update -q >/dev/null 2>&1 && install ||
        { log "could not install chromium; the browser tests will skip"; exit 0; }
fi
if [ -x /usr/bin/chromium ]; then
    log "$(/usr/bin/chromium --version 2>/dev/null || echo chromium) installed"
else
    log "chromium installed, but /usr/bin/chromium is missing; the browser tests will skip"
fi
exit 0
