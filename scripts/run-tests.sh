#!/usr/bin/env bash
# Runs lint, type checks and the whole pytest suite. pytest's exit code 5 (no tests collected)
# is a failure here: a run that tests nothing must not pass silently.
#
# With no arguments the browser tests (tests/browser) run in a second pytest process: Playwright's
# sync API keeps its event loop running in the main thread for the whole session, and every later
# test that calls asyncio.run() would then fail with "cannot be called from a running event loop".
# With arguments, one pytest run gets exactly those arguments.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests bench || exit 1
.venv/bin/mypy || exit 1

run_pytest() {
    .venv/bin/python -m pytest "$@"
    local rc=$?
    if [ $rc -eq 5 ]; then
        echo "pytest collected no tests ($*): failing the run" >&2
        return 1
    fi
    return $rc
}

if [ $# -gt 0 ]; then
    run_pytest "$@"
    exit $?
fi

run_pytest --ignore=tests/browser
rc_main=$?
run_pytest tests/browser
rc_browser=$?
if [ $rc_main -ne 0 ] || [ $rc_browser -ne 0 ]; then
    echo "test runs failed: main suite rc=$rc_main, browser suite rc=$rc_browser" >&2
    exit 1
fi
exit 0
