#!/usr/bin/env bash
# Starts a local PostgreSQL for the fleet tests and bench:fleet (Debian; needs root), creates the
# role and database `latencylab`, and prints the URL to export as LATENCYLAB_TEST_PG.
#   eval "$(bash scripts/start-test-postgres.sh)"    # then: npm test
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2 ||
    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2; }
fi
ver=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
cluster=$(pg_lsclusters -h | awk 'NR==1 {print $2}')
if [ -z "${ver}" ]; then
  echo "no PostgreSQL cluster found (pg_lsclusters is empty)" >&2
  exit 1
fi
pg_ctlcluster "$ver" "$cluster" start >&2 2>/dev/null || true
for _ in $(seq 1 30); do
  su postgres -c "pg_isready -q" && break
  sleep 1
done
su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_roles WHERE rolname='latencylab'\"" | grep -q 1 ||
  su postgres -c "psql -q -c \"CREATE ROLE latencylab LOGIN SUPERUSER PASSWORD 'latencylab'\"" >&2
su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_database WHERE datname='latencylab'\"" | grep -q 1 ||
  su postgres -c "createdb -O latencylab latencylab" >&2
port=$(su postgres -c "psql -tAc 'SHOW port'")
echo "export LATENCYLAB_TEST_PG=postgres://latencylab:latencylab@127.0.0.1:${port}/latencylab"
