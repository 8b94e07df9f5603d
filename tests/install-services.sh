#!/usr/bin/env bash
# Installs the real services the suite runs against, when they are missing:
# PostgreSQL (throwaway clusters started by a fixture), systemd-nspawn (the unit and install
# tests), Chromium (the window email is rendered headless to a PNG) and Tesseract's language
# data (the OCR of scanned forms). With `--ocr`, only the language data: what the daemon
# itself needs from the system (`make run`; the tesserocr wheel carries the library).
set -euo pipefail

missing=()
ls /usr/share/tesseract-ocr/*/tessdata/ind.traineddata >/dev/null 2>&1 || missing+=(tesseract-ocr-ind)
ls /usr/share/tesseract-ocr/*/tessdata/eng.traineddata >/dev/null 2>&1 || missing+=(tesseract-ocr-eng)
if [ "${1:-}" != "--ocr" ]; then
  [ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    || missing+=(postgresql)
  command -v systemd-nspawn >/dev/null 2>&1 || missing+=(systemd-container)
  command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing: ${missing[*]} (run as root, or install them: apt-get install -y ${missing[*]})" >&2
  exit 0
fi
echo "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The package starts a cluster of its own; the tests start their own on free ports.
if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_ctlcluster >/dev/null 2>&1; then
  pg_lsclusters -h 2>/dev/null | awk '{print $1, $2}' | while read -r version name; do
    pg_ctlcluster "$version" "$name" stop 2>/dev/null || true
  done
fi
