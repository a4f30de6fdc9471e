# shellcheck shell=bash
# start-postgres.sh: make a local PostgreSQL 15 ready for the pgstore tests
# and export CARBONKIT_PG_DSN. Meant to be sourced, as root, by .ci/run:
#
#	source ledger/pgstore/ci/start-postgres.sh
#
# On a clean Debian machine it installs the distribution's postgresql
# package (apt-get, noninteractive); it starts the 15/main cluster if it is
# down, and creates the role and database if they are missing. Running it
# again, or with the server already up, changes nothing. Override the names
# with CARBONKIT_PG_USER, CARBONKIT_PG_PASSWORD and CARBONKIT_PG_DB.
#
# Being sourced, it does not change the caller's shell options; it returns
# non-zero, with a message, on the first step that fails.

_carbonkit_pg_start() {
	local user="${CARBONKIT_PG_USER:-carbonkit}"
	local pass="${CARBONKIT_PG_PASSWORD:-carbonkit}"
	local db="${CARBONKIT_PG_DB:-carbonkit_test}"
	local version=15 cluster=main port

	if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ ! -d "/usr/lib/postgresql/$version/bin" ]; then
		echo "start-postgres: installing postgresql-$version with apt-get" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq || return 1
		apt-get install -y -qq --no-install-recommends "postgresql-$version" postgresql-client-common >/dev/null || return 1
	fi
	if ! pg_lsclusters -h 2>/dev/null | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { found = 1 } END { exit !found }'; then
		echo "start-postgres: creating cluster $version/$cluster" >&2
		pg_createcluster "$version" "$cluster" >/dev/null || return 1
	fi
	if ! pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c && $4 == "online" { up = 1 } END { exit !up }'; then
		echo "start-postgres: starting cluster $version/$cluster" >&2
		pg_ctlcluster "$version" "$cluster" start || return 1
	fi
	port="$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { print $3 }')"

	# Wait for the server to accept connections (a fresh start may take a moment).
	local i
	for i in $(seq 1 50); do
		if runuser -u postgres -- pg_isready -q -p "$port"; then
			break
		fi
		if [ "$i" = 50 ]; then
			echo "start-postgres: the server on port $port is not accepting connections" >&2
			return 1
		fi
		sleep 0.2
	done

	_carbonkit_psql() { runuser -u postgres -- psql -p "$port" -X -q -v ON_ERROR_STOP=1 "$@"; }
	# A role and a database, each created only if missing. The role owns the
	# database, so the tests can create and drop their own schemas in it.
	_carbonkit_psql -d postgres -v user="$user" -v pass="$pass" <<'SQL' || return 1
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'user', :'pass')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'user', :'pass') \gexec
SQL
	_carbonkit_psql -d postgres -v user="$user" -v db="$db" <<'SQL' || return 1
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
	unset -f _carbonkit_psql

	export CARBONKIT_PG_DSN="postgres://$user:$pass@127.0.0.1:$port/$db?sslmode=disable"
	echo "start-postgres: CARBONKIT_PG_DSN points at database $db on port $port" >&2
}

_carbonkit_pg_start
_carbonkit_pg_status=$?
unset -f _carbonkit_pg_start
if [ "$_carbonkit_pg_status" -ne 0 ]; then
	unset _carbonkit_pg_status
	echo "start-postgres: failed" >&2
	return 1 2>/dev/null || exit 1
fi
unset _carbonkit_pg_status
