#!/bin/sh
# A first try at a secured bridge: a private CA, a server certificate per bridge host, the
# password Prometheus scrapes with, and each bridge's web config (--web.config.file).
#
#   scripts/first-tls.sh DIR HOST [HOST...]
#
# DIR/ca.crt, ca.key            the CA (made once; Prometheus trusts ca.crt: tls_config.ca_file)
# DIR/prometheus-password       the scrape password (made once; basic_auth.password_file)
# DIR/HOST/server.crt, .key     the bridge's certificate for HOST (a name or an IP address)
# DIR/HOST/web.yml              the bridge's --web.config.file: TLS, and user "prometheus"
#
# Run it again with another HOST to add a bridge; the CA and the password are kept. For
# production, use certificates from your own PKI or ACME; the format is the same.
set -eu
[ "$#" -ge 2 ] || { echo "usage: $0 DIR HOST [HOST...]" >&2; exit 2; }
dir=$1
shift
here=$(cd "$(dirname "$0")/.." && pwd)
cli="$here/dist/src/cli.js"
[ -f "$cli" ] || { echo "$0: build the bridge first (npm install)" >&2; exit 1; }
mkdir -p "$dir"
umask 077
if [ ! -f "$dir/ca.crt" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -subj "/CN=kissbot-bridge CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
fi
if [ ! -f "$dir/prometheus-password" ]; then
  openssl rand -base64 24 | tr -d '\n' > "$dir/prometheus-password"
fi
hash=$(node "$cli" hash-password < "$dir/prometheus-password")
for host in "$@"; do
  mkdir -p "$dir/$host"
  case "$host" in
    *[!0-9.]*) case "$host" in *:*) san="IP:$host" ;; *) san="DNS:$host" ;; esac ;;
    *) san="IP:$host" ;;
  esac
  printf 'subjectAltName=%s\n' "$san" > "$dir/$host/server.ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$host" \
    -keyout "$dir/$host/server.key" -out "$dir/$host/server.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$host/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 825 -extfile "$dir/$host/server.ext" -out "$dir/$host/server.crt" 2>/dev/null
  rm -f "$dir/$host/server.csr" "$dir/$host/server.ext"
  cat > "$dir/$host/web.yml" <<YAML
# kissbot-bridge --web.config.file (exporter-toolkit format). Paths are relative to this file.
tls_server_config:
  cert_file: server.crt
  key_file: server.key
basic_auth_users:
  prometheus: "$hash"
YAML
  echo "$dir/$host/web.yml"
done
