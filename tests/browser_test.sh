#!/bin/sh
# browser_test.sh - the page of `firth project` in headless Chromium: searching a word highlights
# exactly the neighbours `firth neighbors` prints, hostile words do not break the page, and the
# screenshots show points, labels, the word and its lines (tests/ref/browser_check.py).
# Skipped (with a message) when Debian's chromium or python3 is missing (scripts/deps.sh --test
# installs chromium). Screenshots are kept in $FIRTH_SHOTS (default build/browser-test/).
# Last line: "N passed, N failed".
set -u
FIRTH=${FIRTH:-build/firth}
PY=/usr/bin/python3
if ! command -v chromium > /dev/null 2>&1 && ! command -v chromium-browser > /dev/null 2>&1; then
    echo "SKIP browser test: chromium is not installed (scripts/deps.sh --test)"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi
if ! [ -x "$PY" ]; then
    echo "SKIP browser test: $PY is not installed"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi
T=$(mktemp -d /tmp/firth-browser-XXXXXX)
trap 'rm -rf "$T"' EXIT
case "$FIRTH" in /*) ;; *) FIRTH=$(pwd)/$FIRTH ;; esac
SHOTS=${FIRTH_SHOTS:-$(dirname "$FIRTH")/browser-test}
"$PY" "$(dirname "$0")/ref/browser_check.py" "$FIRTH" "$T" "$SHOTS"
