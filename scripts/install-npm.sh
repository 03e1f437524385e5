#!/usr/bin/env bash
# Installs the interop peers (npm packages) into interop/node_modules from the committed
# lockfile. Idempotent; skipped quietly when interop/package.json does not exist yet.
set -euo pipefail
cd "$(dirname "$0")/../interop"
[[ -f package.json ]] || exit 0
if [[ -d node_modules && node_modules/.package-lock.json -nt package-lock.json ]]; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
