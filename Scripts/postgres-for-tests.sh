#!/usr/bin/env bash
# A private PostgreSQL server on loopback for the tests, from Debian's `postgresql` binaries.
#
#   Scripts/postgres-for-tests.sh start DIR [PORT [ADDRESS NETWORK]]   # prints the environment the tests read (eval it)
#   Scripts/postgres-for-tests.sh stop DIR
#
# `start` makes a new cluster in DIR (owned by the `postgres` user when run as root: PostgreSQL refuses to run as
# root), listening on 127.0.0.1:PORT (default 5432) only — or on ADDRESS, accepting clients from NETWORK (a CIDR; the
# cluster test's namespaces) — with password authentication (SCRAM) for TCP. It makes the
# role `blindmatch` (CREATEDB: each test makes its own database) with a random password kept in DIR/password (0600,
# owned by the caller), and the database `blindmatch_test`. It prints, for `eval`:
#   BLINDMATCH_TEST_DATABASE=postgres://blindmatch@127.0.0.1:PORT/blindmatch_test
#   BLINDMATCH_TEST_DATABASE_PASSWORD_FILE=DIR/password
# The password never appears on a command line: psql reads it from a file.
set -euo pipefail

command=${1:?usage: postgres-for-tests.sh start|stop DIR [PORT]}
directory=${2:?usage: postgres-for-tests.sh start|stop DIR [PORT]}
port=${3:-5432}
listen=${4:-127.0.0.1}
network=${5:-}

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "PostgreSQL's server binaries are missing: apt-get install -y postgresql" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$command" in
start)
    mkdir -p "$directory"
    directory=$(cd "$directory" && pwd)
    # The server runs as `postgres`: it must reach its directories (put DIR where every user can pass, e.g. /tmp).
    if [ "$(id -u)" = 0 ]; then chmod 0755 "$directory"; fi
    data="$directory/data"
    if [ -d "$data" ]; then as_owner "$bin/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$data"; fi
    mkdir -p "$data" "$directory/socket" "$directory/log"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$data" "$directory/socket" "$directory/log"; fi
    chmod 0700 "$data"
    as_owner "$bin/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >"$directory/log/initdb.log" 2>&1 ||
        { cat "$directory/log/initdb.log" >&2; exit 1; }
    if [ -n "$network" ]; then echo "host all blindmatch $network scram-sha-256" >>"$data/pg_hba.conf"; fi
    as_owner "$bin/pg_ctl" -D "$data" -l "$directory/log/server.log" -w \
        -o "-c listen_addresses=$listen -c port=$port -c unix_socket_directories=$directory/socket -c max_connections=300 -c fsync=off" \
        start >/dev/null || { cat "$directory/log/server.log" >&2; exit 1; }
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$directory/password")
    chmod 0600 "$directory/password"
    # The role's password goes in through psql's standard input, not its arguments.
    {
        printf "CREATE ROLE blindmatch LOGIN CREATEDB PASSWORD '%s';\n" "$(cat "$directory/password")"
        printf "CREATE DATABASE blindmatch_test OWNER blindmatch;\n"
    } | as_owner "$bin/psql" -q -v ON_ERROR_STOP=1 -h "$directory/socket" -p "$port" -U postgres -d postgres >/dev/null
    echo "export BLINDMATCH_TEST_DATABASE=postgres://blindmatch@$listen:$port/blindmatch_test"
    echo "export BLINDMATCH_TEST_DATABASE_PASSWORD_FILE=$directory/password"
    ;;
stop)
    if [ -d "$directory/data" ]; then as_owner "$bin/pg_ctl" -D "$directory/data" -m fast -w stop >/dev/null; fi
    ;;
*)
    echo "usage: postgres-for-tests.sh start|stop DIR [PORT]" >&2
    exit 2
    ;;
esac
