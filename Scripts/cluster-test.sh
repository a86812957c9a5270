#!/usr/bin/env bash
# The service as a cluster on one machine (issue 13), each process in its own network namespace joined by veth pairs
# to one bridge, so that every request, every database query and every chunk crosses an interface:
#
#   bmc-db   PostgreSQL              10.77.0.10:5432 (TLS)
#   bmc-s1   blindmatch serve        10.77.0.11:8443 (HTTPS)
#   bmc-s2   blindmatch serve        10.77.0.12:8443 (HTTPS)
#   bmc-w1…3 blindmatch worker       10.77.0.21–23
#   (the host) the clients           10.77.0.1 (the bridge)
#
#   Scripts/cluster-test.sh BLINDMATCH_BINARY [WATCH_RECORDS BULK_RECORDS]     (as root: namespaces need it)
#
# It makes a project and its tokens through one server and the other; uploads the watch list through s1; starts the
# bulk upload through s2 and SIGKILLs s2 in the middle of it (the upload must not be recorded), starts s2 again and
# uploads again; requests the run through s1 and approves it through s2; SIGKILLs worker w1 while it holds a chunk
# (a debug build's test hook holds it there), then starts the other two workers. The servers run with
# --no-local-chunks, so that the workers compute every chunk.
# Then it checks that:
#   - the run succeeds, with exactly the rows a single `blindmatch serve` on SQLite (no workers) finds on the same
#     files with the same settings (the service's defaults: the decision model chooses the threshold);
#   - every upload the clients were told was accepted is there, and the one cut short is not;
#   - every chunk of the run was written back once (chunk rows `done`, none twice), and the killed worker's chunk was
#     claimed again;
#   - the audit log exported through either server verifies (one chain, extended by both), with every receipt.
# Exits non-zero on the first failure, printing the logs of the processes involved.
set -euo pipefail

bin=$(realpath "${1:?usage: cluster-test.sh BLINDMATCH_BINARY [WATCH BULK]}")
watch_records=${2:-2000}
bulk_records=${3:-200000}
# About ten chunks of bulk rows, so that three workers and two servers share the run and a killed worker has one.
chunk_rows=$(((bulk_records + 9) / 10))
here=$(cd "$(dirname "$0")" && pwd)
schema="$here/../Protocol/examples/uk-watchlist.json"
[ "$(id -u)" = 0 ] || { echo "cluster-test.sh needs root (network namespaces)" >&2; exit 1; }

work=$(mktemp -d /tmp/blindmatch-cluster.XXXXXX)
chmod 0755 "$work"
namespaces=(bmc-db bmc-s1 bmc-s2 bmc-w1 bmc-w2 bmc-w3)
declare -A address=([bmc-db]=10.77.0.10 [bmc-s1]=10.77.0.11 [bmc-s2]=10.77.0.12 [bmc-w1]=10.77.0.21
    [bmc-w2]=10.77.0.22 [bmc-w3]=10.77.0.23)
declare -A pid=()
failed=1

log() { printf '== %s\n' "$*"; }

cleanup() {
    local status=$?
    for name in "${!pid[@]}"; do kill -9 "${pid[$name]}" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns exec bmc-db "$here/postgres-for-tests.sh" stop "$work/postgres" >/dev/null 2>&1 || true
    for namespace in "${namespaces[@]}"; do
        ip netns del "$namespace" 2>/dev/null || true
        ip link del "bmc-${namespace#bmc-}-h" 2>/dev/null || true
    done
    ip link del bmc-br 2>/dev/null || true
    if [ "$failed" = 1 ]; then
        echo "cluster test FAILED (exit $status); the last lines of each process's log:" >&2
        for file in "$work"/*.log "$work"/*.out "$work"/postgres/log/server.log; do
            [ -f "$file" ] && { echo "--- $file" >&2; tail -15 "$file" >&2; }
        done
    fi
    if [ "$failed" = 1 ] && [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

log "network: a bridge and a namespace with a veth pair for each process"
for namespace in "${namespaces[@]}"; do
    ip netns del "$namespace" 2>/dev/null || true
    ip link del "bmc-${namespace#bmc-}-h" 2>/dev/null || true
done
ip link del bmc-br 2>/dev/null || true
ip link add bmc-br type bridge
ip addr add 10.77.0.1/24 dev bmc-br
ip link set bmc-br up
for namespace in "${namespaces[@]}"; do
    short=${namespace#bmc-}
    ip netns add "$namespace"
    ip link add "bmc-$short-h" type veth peer name "bmc-$short-n"
    ip link set "bmc-$short-n" netns "$namespace"
    ip link set "bmc-$short-h" master bmc-br
    ip link set "bmc-$short-h" up
    ip netns exec "$namespace" ip addr add "${address[$namespace]}/24" dev "bmc-$short-n"
    ip netns exec "$namespace" ip link set "bmc-$short-n" up
    ip netns exec "$namespace" ip link set lo up
done

log "PostgreSQL in bmc-db, listening on ${address[bmc-db]} only"
eval "$(ip netns exec bmc-db "$here/postgres-for-tests.sh" start "$work/postgres" 5432 "${address[bmc-db]}" 10.77.0.0/24)"
database=$BLINDMATCH_TEST_DATABASE  # over TLS (sslmode=require), verified against the CA the script made
password_file=$BLINDMATCH_TEST_DATABASE_PASSWORD_FILE
psql_query() {
    PGPASSFILE=/dev/null PGPASSWORD=$(cat "$password_file") PGSSLMODE=verify-full \
        PGSSLROOTCERT="$work/postgres/ca.pem" psql -qtA -h "${address[bmc-db]}" -U blindmatch -d blindmatch_test -c "$1"
}

log "data: $watch_records × $bulk_records synthetic records, tokenised by the two agencies"
(
    cd "$work"
    "$bin" synth --watch "$watch_records" --bulk "$bulk_records" --seed 13 --output data >/dev/null
    "$bin" keygen --output project.secret >keyid.txt
    for agency in agency-a council-b; do "$bin" keygen --signing --output "$agency" >/dev/null; done
    "$bin" keygen --signing --output matcher >/dev/null
    "$bin" tokenise --schema "$schema" --secret-file project.secret --input data/watch.csv --output a.bmt \
        --signing-key agency-a.key --party agency-a >/dev/null 2>&1
    "$bin" tokenise --schema "$schema" --secret-file project.secret --input data/bulk.csv --output b.bmt \
        --signing-key council-b.key --party council-b >/dev/null 2>&1
    mkdir -m 0700 shared reference
)
key_id=$(grep -oE '[0-9a-f]{32}' "$work/keyid.txt" | head -1)

log "TLS: a CA of the test's own, and one certificate for both servers' addresses"
(
    cd "$work"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=cluster test CA" \
        -keyout ca.key -out ca.pem >/dev/null 2>&1
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=blindmatch" -keyout server.key \
        -out server.csr >/dev/null 2>&1
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out server.pem \
        -extfile <(printf 'subjectAltName=IP:%s,IP:%s\n' "${address[bmc-s1]}" "${address[bmc-s2]}") >/dev/null 2>&1
    chmod 0600 ca.key server.key
)

start_server() { # NAME
    local name=$1
    ip netns exec "bmc-$name" "$bin" serve --database "$database" --database-password-file "$password_file" \
        --data-dir "$work/shared" --checkpoint-key "$work/matcher.key" --host "${address[bmc-$name]}" --port 8443 \
        --tls-cert "$work/server.pem" --tls-key "$work/server.key" --operator-token-file "$work/operator.token" \
        --threads 1 --chunk-rows "$chunk_rows" --no-local-chunks \
        >>"$work/$name.out" 2>>"$work/$name.log" &
    pid[$name]=$!
    for _ in $(seq 1 300); do
        curl -fsS -o /dev/null --cacert "$work/ca.pem" "https://${address[bmc-$name]}:8443/healthz" 2>/dev/null &&
            return 0
        kill -0 "${pid[$name]}" 2>/dev/null || fail "server $name exited at start"
        sleep 0.1
    done
    fail "server $name did not answer /healthz"
}

start_worker() { # NAME [ENVIRONMENT...]
    local name=$1
    shift
    # (debug builds: --test-hooks lets BLINDMATCH_TEST_PAUSE=chunk-claimed hold the worker with a chunk claimed)
    ip netns exec "bmc-$name" env "$@" "$bin" worker --database "$database" --database-password-file "$password_file" \
        --store "$work/shared" --threads 1 --lease-seconds 4 --test-hooks >>"$work/$name.log" 2>&1 &
    pid[$name]=$!
}

log "two servers (bmc-s1, bmc-s2) on one database and one token store; they leave chunks to the workers"
start_server s1
start_server s2
log "worker w1, which will stop holding the first chunk it claims"
start_worker w1 BLINDMATCH_TEST_PAUSE=chunk-claimed
s1="https://${address[bmc-s1]}:8443"
s2="https://${address[bmc-s2]}:8443"

cli() { # SERVER TOKEN ARGS...
    local server=$1 token=$2
    shift 2
    "$bin" "$@" --server "$server" --ca-file "$work/ca.pem" --token-file "$work/$token.token"
}

log "the project through s1, the party tokens through s2, each activated through the other server"
project=$("$bin" project create --server "$s1" --ca-file "$work/ca.pem" --token-file "$work/operator.token" --name cluster \
    --purpose "Cluster test." --legal-basis "Synthetic data." --schema "$schema" --key-id "$key_id" \
    --watchlist "agency-a=$work/agency-a.pub" --bulk "council-b=$work/council-b.pub" \
    --minimum-records watchlist=1,bulk=1 --runs-per-day 100 | grep -oE 'p-[0-9a-f]{16}' | head -1)
[ -n "$project" ] || fail "no project"
cli "$s2" operator token issue --role party --project "$project" --party agency-a -o "$work/a.token" >/dev/null
cli "$s2" operator token issue --role party --project "$project" --party council-b -o "$work/b.token" >/dev/null
cli "$s1" operator token issue --role auditor --name cluster-auditor -o "$work/auditor.token" >/dev/null
cli "$s1" b token activate --signing-key "$work/council-b.key" >/dev/null
cli "$s2" a token activate --signing-key "$work/agency-a.key" >/dev/null

log "the watch list uploaded through s1"
cli "$s1" a upload --receipts "$work/receipts" --project "$project" --party agency-a "$work/a.bmt" >"$work/upload-a.txt"
upload_a=$(grep -oE 'u-[0-9a-f]{16}' "$work/upload-a.txt" | head -1)

log "the bulk upload through s2, cut short by SIGKILL of s2 halfway"
printf 'Authorization: Bearer %s\n' "$(tr -d '\n' <"$work/b.token")" >"$work/b.header"
chmod 0600 "$work/b.header"
bulk_bytes=$(stat -c %s "$work/b.bmt")
rate=$((bulk_bytes / 6))
curl -sS -o "$work/cut-upload.out" -w '%{http_code}' --cacert "$work/ca.pem" -H @"$work/b.header" \
    -H 'Content-Type: application/octet-stream' --limit-rate "$rate" --data-binary @"$work/b.bmt" \
    "$s2/projects/$project/parties/council-b/uploads" >"$work/cut-upload.code" 2>"$work/cut-upload.log" &
curl_pid=$!
sleep 2
kill -9 "${pid[s2]}"
wait "${pid[s2]}" 2>/dev/null || true
unset 'pid[s2]'
wait "$curl_pid" 2>/dev/null || true
code=$(cat "$work/cut-upload.code" 2>/dev/null || true)
case "$code" in 2*) fail "the upload cut short by the server's death was answered $code" ;; esac
[ "$(psql_query "SELECT count(*) FROM upload WHERE project = '$project' AND party = 'council-b'")" = 0 ] ||
    fail "an upload cut short by the server's death was recorded"

log "s2 starts again; the bulk upload through s2"
start_server s2
cli "$s2" b upload --receipts "$work/receipts" --project "$project" --party council-b "$work/b.bmt" >"$work/upload-b.txt"
upload_b=$(grep -oE 'u-[0-9a-f]{16}' "$work/upload-b.txt" | head -1)

log "the run: requested through s1, approved through s2"
run=$(cli "$s1" a run --receipts "$work/receipts" --project "$project" --no-wait | grep -oE 'r-[0-9a-f]{16}' | head -1)
cli "$s2" b run approve --receipts "$work/receipts" --project "$project" "$run" >/dev/null

log "SIGKILL of worker w1 while it holds a chunk of $run; then workers w2 and w3"
for _ in $(seq 1 600); do
    grep -q 'test hook: paused at chunk-claimed' "$work/w1.log" && break
    kill -0 "${pid[w1]}" 2>/dev/null || fail "worker w1 exited"
    sleep 0.1
done
grep -q 'test hook: paused at chunk-claimed' "$work/w1.log" || fail "worker w1 claimed no chunk"
w1_id=$(grep -oE 'worker=worker-[A-Za-z0-9_.-]+' "$work/w1.log" | head -1 | cut -d= -f2)
held=$(psql_query "SELECT count(*) FROM run_chunk WHERE run = '$run' AND status = 'claimed' AND worker = '$w1_id'")
[ "$held" = 1 ] || fail "worker w1 ($w1_id) holds $held chunks, expected 1"
kill -9 "${pid[w1]}"
wait "${pid[w1]}" 2>/dev/null || true
unset 'pid[w1]'
echo "killed w1 ($w1_id) holding a chunk"
start_worker w2
start_worker w3

log "waiting for the run"
status=
for _ in $(seq 1 1800); do
    status=$(cli "$s2" a run show --project "$project" "$run" | sed -n 's/^status: //p')
    case "$status" in succeeded | failed) break ;; esac
    sleep 0.2
done
[ "$status" = succeeded ] || fail "the run ended $status: $(cli "$s2" a run show --project "$project" "$run")"

log "checks"
chunks=$(psql_query "SELECT count(*) FROM run_chunk WHERE run = '$run'")
done_chunks=$(psql_query "SELECT count(*) FROM run_chunk WHERE run = '$run' AND status = 'done'")
reclaimed=$(psql_query "SELECT count(*) FROM run_chunk WHERE run = '$run' AND attempts > 1")
[ "$chunks" -gt 1 ] || fail "the run was not split into chunks ($chunks)"
[ "$done_chunks" = "$chunks" ] || fail "$done_chunks of $chunks chunks are done"
[ "$reclaimed" -ge 1 ] || fail "no chunk was claimed again after the worker's death"
[ "$(psql_query "SELECT count(*) FROM run_chunk WHERE run = '$run' AND worker = '$w1_id'")" = 0 ] ||
    fail "a chunk is still recorded as worker w1's, which died before writing it"
echo "chunks: $chunks, all done once; claimed again after the kill: $reclaimed"

cli "$s1" a results --receipts "$work/receipts" --project "$project" --run "$run" --party agency-a \
    --output "$work/cluster-a.csv" >/dev/null
cli "$s2" b results --receipts "$work/receipts" --project "$project" --run "$run" --party council-b \
    --output "$work/cluster-b.csv" >/dev/null

printf 'Authorization: Bearer %s\n' "$(tr -d '\n' <"$work/operator.token")" >"$work/operator.header"
chmod 0600 "$work/operator.header"
uploads=$(curl -fsS --cacert "$work/ca.pem" -H @"$work/operator.header" "$s1/projects/$project/uploads" |
    python3 -c 'import json, sys; print(" ".join(sorted(u["id"] for u in json.load(sys.stdin)["items"])) + " ")')
expected=$(printf '%s\n' "$upload_a" "$upload_b" | sort | tr '\n' ' ')
[ "$uploads" = "$expected" ] || fail "the project's uploads are [$uploads], expected [$expected]"
echo "uploads: the two accepted ones, nothing of the one cut short"

cli "$s2" auditor audit export --output "$work/audit.jsonl" >/dev/null
"$bin" audit verify "$work/audit.jsonl" --public-key "$work/matcher.pub" --receipts "$work/receipts" \
    >"$work/verify.txt" || { cat "$work/verify.txt" >&2; fail "the audit log does not verify"; }
echo "audit: $(tail -1 "$work/verify.txt")"

log "the reference: one serve on SQLite, no workers, the same files and settings"
"$bin" serve --data-dir "$work/reference/data" --port 0 --operator-token-file "$work/reference/operator.token" \
    >"$work/reference.out" 2>"$work/reference.log" &
pid[reference]=$!
for _ in $(seq 1 300); do grep -q 'listening on' "$work/reference.out" 2>/dev/null && break; sleep 0.1; done
reference=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$work/reference.out" | head -1)
[ -n "$reference" ] || fail "the reference server did not start"
ref() { "$bin" "$@" --server "$reference"; }
reference_project=$(ref project create --token-file "$work/reference/operator.token" --name cluster \
    --purpose "Cluster test." --legal-basis "Synthetic data." --schema "$schema" --key-id "$key_id" \
    --watchlist "agency-a=$work/agency-a.pub" --bulk "council-b=$work/council-b.pub" \
    --minimum-records watchlist=1,bulk=1 --runs-per-day 100 | grep -oE 'p-[0-9a-f]{16}' | head -1)
for side in a:agency-a b:council-b; do
    ref token issue --token-file "$work/reference/operator.token" --role party --project "$reference_project" \
        --party "${side#*:}" -o "$work/reference/${side%%:*}.token" >/dev/null
    ref token activate --token-file "$work/reference/${side%%:*}.token" --signing-key "$work/${side#*:}.key" >/dev/null
    ref upload --token-file "$work/reference/${side%%:*}.token" --receipts "$work/reference/receipts" \
        --project "$reference_project" --party "${side#*:}" "$work/${side%%:*}.bmt" >/dev/null
done
reference_run=$(ref run --token-file "$work/reference/a.token" --receipts "$work/reference/receipts" \
    --project "$reference_project" --no-wait | grep -oE 'r-[0-9a-f]{16}' | head -1)
ref run approve --token-file "$work/reference/b.token" --receipts "$work/reference/receipts" \
    --project "$reference_project" "$reference_run" >/dev/null
for _ in $(seq 1 1800); do
    ref run show --token-file "$work/reference/a.token" --project "$reference_project" "$reference_run" |
        grep -q '^status: succeeded' && break
    sleep 0.2
done
for side in a:agency-a b:council-b; do
    ref results --token-file "$work/reference/${side%%:*}.token" --receipts "$work/reference/receipts" \
        --project "$reference_project" --run "$reference_run" --party "${side#*:}" \
        --output "$work/reference-${side%%:*}.csv" >/dev/null
    cmp -s "$work/reference-${side%%:*}.csv" "$work/cluster-${side%%:*}.csv" ||
        fail "${side#*:}'s results differ from the single process's: $(diff "$work/reference-${side%%:*}.csv" "$work/cluster-${side%%:*}.csv" | head -5)"
done
echo "results: identical to the single process's ($(($(wc -l <"$work/cluster-a.csv") - 1)) rows for agency-a, $(($(wc -l <"$work/cluster-b.csv") - 1)) for council-b)"

failed=0
log "cluster test passed"
