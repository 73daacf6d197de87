#!/usr/bin/env bash
# Installs and starts what the test suite needs beyond the Python packages:
# SIPp (Debian sip-tester) for the telephony tests, espeak-ng and sox for prompts and TTS, Chromium
# (driven by Playwright, never its own browser downloads) with a CJK font for the console tests, and a
# running PostgreSQL on 127.0.0.1:5432.
set -euo pipefail

need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need+=(sox)
# MP3 uploads of prompts: sox reads MP3 only with this format plugin
sox -h 2>/dev/null | grep -q "FORMATS:.* mp3" || need+=(libsox-fmt-mp3)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
fc-list 2>/dev/null | grep -q "Noto Sans CJK" || need+=(fonts-noto-cjk)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -q >/dev/null || true
    $sudo apt-get install -y -q "${need[@]}" >/dev/null
fi

# PostgreSQL: the machine kind starts it before the session; start it again if it went down.
if command -v pg_lsclusters >/dev/null 2>&1; then
    if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
        for v in $(ls /etc/postgresql 2>/dev/null); do
            pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
        done
        for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
    fi
fi

# The test suite uses database "test" (trust auth, user postgres); each run works in fresh schemas.
if command -v psql >/dev/null 2>&1 && pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
        psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE test" || true
    fi
fi
