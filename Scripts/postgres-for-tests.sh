#!/usr/bin/env bash
# A private PostgreSQL server on loopback for the tests, from Debian's `postgresql` binaries.
#
#   Scripts/postgres-for-tests.sh start DIR [PORT [ADDRESS NETWORK]]   # prints the environment the tests read (eval it)
#   Scripts/postgres-for-tests.sh stop DIR
#
# `start` makes a new cluster in DIR (owned by the `postgres` user when run as root: PostgreSQL refuses to run as
# root), listening on 127.0.0.1:PORT (default 5432) only — or on ADDRESS, accepting clients from NETWORK (a CIDR; the
# cluster test's namespaces) over TLS only, with a certificate from a CA made for it (DIR/ca.pem) — with password
# authentication (SCRAM) for TCP. It makes the
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
    tls=
    if [ -n "$network" ]; then
        # Clients from another host: TLS only, with a certificate for ADDRESS from a CA of its own (DIR/ca.pem, for
        # the clients' sslrootcert).
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=blindmatch test CA" \
            -keyout "$directory/ca.key" -out "$directory/ca.pem" >/dev/null 2>&1
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$listen" \
            -keyout "$data/server.key" -out "$directory/server.csr" >/dev/null 2>&1
        openssl x509 -req -in "$directory/server.csr" -CA "$directory/ca.pem" -CAkey "$directory/ca.key" \
            -CAcreateserial -days 2 -extfile <(printf 'subjectAltName=IP:%s\n' "$listen") \
            -out "$data/server.crt" >/dev/null 2>&1
        chmod 0600 "$data/server.key" "$directory/ca.key"
        if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$data/server.key" "$data/server.crt"; fi
        echo "hostssl all blindmatch $network scram-sha-256" >>"$data/pg_hba.conf"
        tls="-c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
    fi
    as_owner "$bin/pg_ctl" -D "$data" -l "$directory/log/server.log" -w \
        -o "-c listen_addresses=$listen -c port=$port -c unix_socket_directories=$directory/socket -c max_connections=300 -c fsync=off $tls" \
        start >/dev/null || { cat "$directory/log/server.log" >&2; exit 1; }
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$directory/password")
    chmod 0600 "$directory/password"
    # The role's password goes in through psql's standard input, not its arguments.
    {
        printf "CREATE ROLE blindmatch LOGIN CREATEDB PASSWORD '%s';\n" "$(cat "$directory/password")"
        printf "CREATE DATABASE blindmatch_test OWNER blindmatch;\n"
    } | as_owner "$bin/psql" -q -v ON_ERROR_STOP=1 -h "$directory/socket" -p "$port" -U postgres -d postgres >/dev/null
    if [ -n "$network" ]; then
        echo "export BLINDMATCH_TEST_DATABASE='postgres://blindmatch@$listen:$port/blindmatch_test?sslmode=require&sslrootcert=$directory/ca.pem'"
    else
        echo "export BLINDMATCH_TEST_DATABASE=postgres://blindmatch@$listen:$port/blindmatch_test"
    fi
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
