#!/usr/bin/env bash
# Runs the tests of every module in the repository: the core module and the
# nested ones (ledger/pgstore, whose tests skip with a one-line message unless
# CARBONKIT_PG_DSN names a PostgreSQL database; under CI=true they fail instead).
# Arguments are passed to every `go test`, e.g. ./test.sh -race -count=1.
set -euo pipefail
cd "$(dirname "$0")"

go test "$@" ./...
for mod in ledger/pgstore; do
	(cd "$mod" && go test "$@" ./...)
done
