#!/usr/bin/env bash
# System packages the platform needs: PostgreSQL with PostGIS (the embedded warehouse and the tests)
# Chromium (the browser tests of the reports) and npm (the portal's front-end assets). Installs only what is missing; Debian/Ubuntu only.
set -euo pipefail

have_postgis() { ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; }
have_postgres() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_chromium() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }

want=()
if ! have_postgres; then want+=(postgresql); fi
if ! have_postgis; then
  if have_postgres; then
    major=$(ls /usr/lib/postgresql | sort -n | tail -1)
    want+=("postgresql-${major}-postgis-3" "postgresql-${major}-postgis-3-scripts")
  else
    want+=(postgis)
  fi
fi
# npm installs the portal's front-end assets from its lock file (portal/static).
if ! command -v npm >/dev/null 2>&1; then want+=(npm); fi
if [ "${TERRITOIRE_SKIP_BROWSER:-0}" != 1 ] && ! have_chromium; then want+=(chromium); fi

if [ ${#want[@]} -eq 0 ]; then exit 0; fi
echo "installing system packages: ${want[*]}"
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
