#!/bin/sh
# Installs the dashboard's browser libraries from package-lock.json and copies them
# into the gateway's static/vendor/ folder (git-ignored; rebuilt, never committed).
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
vendor="$here/../src/gateway/static/vendor"

cd "$here"
npm ci --no-audit --no-fund --loglevel=error
mkdir -p "$vendor"
cp node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js "$vendor/"
cp node_modules/lightweight-charts/LICENSE "$vendor/lightweight-charts.LICENSE"
echo "dashboard libraries copied to $(cd "$vendor" && pwd)"
