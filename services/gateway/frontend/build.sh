#!/bin/sh
# Installs the dashboard's and the API documentation's browser libraries from package-lock.json and copies them
# into the gateway's static/vendor/ folder (git-ignored; rebuilt, never committed).
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
vendor="$here/../src/gateway/static/vendor"

cd "$here"
npm ci --no-audit --no-fund --loglevel=error
mkdir -p "$vendor"
cp node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js "$vendor/"
cp node_modules/lightweight-charts/LICENSE "$vendor/lightweight-charts.LICENSE"
# The API documentation pages (/docs, /redoc) load these instead of a CDN.
cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
   node_modules/swagger-ui-dist/favicon-32x32.png "$vendor/"
cp node_modules/swagger-ui-dist/LICENSE "$vendor/swagger-ui.LICENSE"
cp node_modules/redoc/bundles/redoc.standalone.js "$vendor/"
cp node_modules/redoc/LICENSE "$vendor/redoc.LICENSE"
echo "dashboard libraries copied to $(cd "$vendor" && pwd)"
