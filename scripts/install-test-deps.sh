#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real: Prometheus (and promtool),
# Alertmanager (and amtool), docker-compose to validate the compose file, the reference
# exposition parsers (python3-prometheus-client), python3 for the
# stock-like bot client, systemd (systemd-analyze checks the documented unit), Debian's
# chromium for the status page's browser tests (driven by playwright-core; no browser is ever
# downloaded), iproute2 (`ip netns`: the many-host test's hosts) and openssl (its certificates,
# scripts/first-tls.sh). Safe to run again; does nothing when all are present.
set -euo pipefail
packages=(python3 python3-prometheus-client prometheus prometheus-alertmanager docker-compose systemd chromium iproute2 openssl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
