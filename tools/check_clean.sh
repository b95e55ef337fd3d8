#!/usr/bin/env bash
# Fails when `nbdev-clean` or `nbdev-export` would change a tracked file: the notebooks must be committed clean,
# and bg2vec/ must be exactly what the notebooks export.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${VENV_BIN:-.venv/bin}
snapshot() { find nbs bg2vec -type f \( -name '*.ipynb' -o -name '*.py' \) -not -path '*/.ipynb_checkpoints/*' \
               -not -path '*/__pycache__/*' | LC_ALL=C sort | xargs sha256sum; }
before=$(snapshot)
"$bin/nbdev-clean" >/dev/null
"$bin/nbdev-export" >/dev/null
after=$(snapshot)
if [ "$before" != "$after" ]; then
  echo "nbdev-clean / nbdev-export changed these files; run them and commit the result:"
  diff <(echo "$before") <(echo "$after") | grep '^[<>]' | awk '{print "  " $3}' | sort -u
  exit 1
fi
echo "notebooks are clean and bg2vec/ matches nbdev-export"
