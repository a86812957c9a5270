# Sourced by the service scripts (bench-service.sh, fuzz-api.sh): a real `blindmatch serve` on a free loopback port in
# a temporary data directory, with one project, both parties' uploads, one succeeded run, and a token per role.
#
#   fixture_start BIN WATCH BULK     sets: work url project run upload operator_token auditor_token a_token b_token
#   fixture_run BIN                  prints the id of a new run, requested by the watch list and approved by the
#                                    bulk party (the fixture's run policy); it does not wait for the run
#   fixture_stop                     stops the server and removes the temporary folder (also on EXIT)
#   fixture_machine                  the processor's model name and core count, for a benchmark's first line
#   wrk_report NAME WRK-OUTPUT       one line of a wrk run: requests/s, p50/p99/max latency, non-2xx, socket errors
#
# Everything stays on 127.0.0.1 and in a temporary folder.

fixture_start() {
    local bin watch=$2 bulk=$3
    bin=$(realpath "$1")
    local schema
    schema=$(realpath "$(dirname "${BASH_SOURCE[0]}")/../Protocol/examples/uk-watchlist.json")
    work=$(mktemp -d)
    trap fixture_stop EXIT
    (
        cd "$work"
        "$bin" synth --watch "$watch" --bulk "$bulk" --seed 7 --output data >/dev/null
        "$bin" keygen --output project.secret > keyid.txt
        for agency in agency-a council-b; do "$bin" keygen --signing --output "$agency" >/dev/null; done
        "$bin" tokenise --schema "$schema" --secret-file project.secret --input data/watch.csv --output a.bmt \
            --signing-key agency-a.key --party agency-a >/dev/null 2>&1
        "$bin" tokenise --schema "$schema" --secret-file project.secret --input data/bulk.csv --output b.bmt \
            --signing-key council-b.key --party council-b >/dev/null 2>&1
        mkdir -m 700 server
    )
    "$bin" serve --data-dir "$work/server/data" --port 0 --operator-token-file "$work/operator.token" \
        > "$work/server.out" 2> "$work/server.log" &
    fixture_pid=$!
    for _ in $(seq 1 200); do grep -q 'listening on' "$work/server.out" 2>/dev/null && break; sleep 0.1; done
    url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$work/server.out" | head -1)
    [ -n "$url" ] || { echo "the server did not start: $(cat "$work/server.log")" >&2; return 1; }
    export BLINDMATCH_SERVER=$url
    local key_id
    key_id=$(grep -oE '[0-9a-f]{32}' "$work/keyid.txt" | head -1)
    # The fixed rule with a clerical band (the service's default is `auto`, without a band): the benchmarks' result
    # pages then hold possible rows too, as when their figures were first measured.
    project=$("$bin" project create --token-file "$work/operator.token" --name fixture --purpose "Fixture." \
        --legal-basis "Synthetic data." --schema "$schema" --key-id "$key_id" \
        --watchlist "agency-a=$work/agency-a.pub" --bulk "council-b=$work/council-b.pub" --threshold 0.75 --review-from 0.65 \
        --minimum-records watchlist=1,bulk=1 --runs-per-day 1000 \
        | grep -oE 'p-[0-9a-f]{16}' | head -1)
    "$bin" token issue --token-file "$work/operator.token" --role party --project "$project" --party agency-a \
        -o "$work/a.token" >/dev/null
    "$bin" token issue --token-file "$work/operator.token" --role party --project "$project" --party council-b \
        -o "$work/b.token" >/dev/null
    "$bin" token issue --token-file "$work/operator.token" --role auditor --name fixture-auditor \
        -o "$work/auditor.token" >/dev/null
    # Each party binds its token to its signing key (Protocol/service.md, "Party tokens are bound to the party's key").
    "$bin" token activate --token-file "$work/a.token" --signing-key "$work/agency-a.key" >/dev/null
    "$bin" token activate --token-file "$work/b.token" --signing-key "$work/council-b.key" >/dev/null
    "$bin" upload --token-file "$work/a.token" --receipts "$work/receipts" --project "$project" --party agency-a \
        "$work/a.bmt" >/dev/null
    upload=$("$bin" upload --token-file "$work/b.token" --receipts "$work/receipts" --project "$project" --party council-b \
        "$work/b.bmt" | grep -oE 'u-[0-9a-f]{16}' | head -1)
    # The fixture's run, to its end.
    run=$(fixture_run "$bin")
    for _ in $(seq 1 600); do
        "$bin" run show --token-file "$work/a.token" --project "$project" "$run" | grep -q 'status: succeeded' && break
        sleep 0.2
    done
    operator_token=$(tr -d '\n' < "$work/operator.token")
    auditor_token=$(tr -d '\n' < "$work/auditor.token")
    a_token=$(tr -d '\n' < "$work/a.token")
    b_token=$(tr -d '\n' < "$work/b.token")
}

fixture_run() {
    local run
    run=$("$1" run --token-file "$work/a.token" --receipts "$work/receipts" --project "$project" --no-wait \
        | grep -oE 'r-[0-9a-f]{16}' | head -1)
    "$1" run approve --token-file "$work/b.token" --receipts "$work/receipts" --project "$project" "$run" >/dev/null
    echo "$run"
}

fixture_stop() {
    if [ -n "${fixture_pid:-}" ]; then
        kill "$fixture_pid" 2>/dev/null && wait "$fixture_pid" 2>/dev/null
        fixture_pid=
    fi
    [ -n "${work:-}" ] && rm -rf "$work"
    work=
}

fixture_machine() {
    echo "$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}'), $(nproc) cores"
}

wrk_report() { # name output-of-wrk
    printf '%-34s %9s req/s  p50 %8s  p99 %8s  max %8s  non-2xx %s  socket errors %s\n' "$1" \
        "$(awk '/Requests\/sec/ {print $2}' <<<"$2")" "$(awk '$1=="50%" {print $2}' <<<"$2")" \
        "$(awk '$1=="99%" {print $2}' <<<"$2")" "$(awk '$1=="Latency" {print $4}' <<<"$2")" \
        "$(awk '/Non-2xx/ {print $NF}' <<<"$2" | grep . || echo 0)" \
        "$(awk '/Socket errors/ {print $0}' <<<"$2" | grep -oE '[0-9]+' | paste -sd/ - | grep . || echo 0)"
}
