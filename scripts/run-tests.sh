#!/usr/bin/env bash
# Runs lint, type checks and the whole pytest suite. pytest's exit code 5 (no tests collected)
# is a failure here: a run that tests nothing must not pass silently.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests bench || exit 1
.venv/bin/mypy || exit 1
.venv/bin/python -m pytest "$@"
rc=$?
if [ $rc -eq 5 ]; then
    echo "pytest collected no tests: failing the run" >&2
    exit 1
fi
exit $rc
