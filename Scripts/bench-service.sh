#!/usr/bin/env bash
# Latency and memory of the matching service on loopback (issue 9's before/after figures; a start for issue 11's
# load benchmark). Builds nothing: give it a blindmatch binary (a release build).
#
#   Scripts/bench-service.sh .build/release/blindmatch [seconds per endpoint] [connections]
#
# It makes synthetic data (2,000 × 50,000), starts `blindmatch serve` on a free loopback port in a temporary data
# directory, sets up a project with both uploads and one succeeded run through the client commands, then drives
# `GET /me` and a results page (1,000 rows) with wrk (Debian's `wrk`) for a bounded time each, and prints requests/s,
# p50 and p99 latency, errors, and the server's resident memory (VmRSS now, VmHWM peak). Everything stays on
# 127.0.0.1 and in a temporary folder that is removed at the end.
set -euo pipefail
bin=$(realpath "${1:?usage: $0 BLINDMATCH-BINARY [SECONDS] [CONNECTIONS]}")
seconds=${2:-10}
connections=${3:-8}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
schema=$(realpath "$(dirname "$0")/../Protocol/examples/uk-watchlist.json")
work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
"$bin" synth --watch 2000 --bulk 50000 --seed 7 --output data >/dev/null
"$bin" keygen --output project.secret > keyid.txt
key_id=$(grep -oE '[0-9a-f]{32}' keyid.txt | head -1)
for agency in agency-a council-b; do "$bin" keygen --signing --output "$agency" >/dev/null; done
"$bin" tokenise --schema "$schema" --secret-file project.secret --input data/watch.csv --output a.bmt \
    --signing-key agency-a.key --party agency-a >/dev/null 2>&1
"$bin" tokenise --schema "$schema" --secret-file project.secret --input data/bulk.csv --output b.bmt \
    --signing-key council-b.key --party council-b >/dev/null 2>&1
mkdir -m 700 server
"$bin" serve --data-dir server/data --port 0 --operator-token-file operator.token > server.out 2> server.log &
server_pid=$!
for _ in $(seq 1 100); do grep -q 'listening on' server.out 2>/dev/null && break; sleep 0.1; done
url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' server.out | head -1)
export BLINDMATCH_SERVER=$url
project=$("$bin" project create --token-file operator.token --name bench --purpose "Benchmark." \
    --legal-basis "Synthetic data." --schema "$schema" --key-id "$key_id" \
    --watchlist agency-a=agency-a.pub --bulk council-b=council-b.pub --review-from 0.75 | grep -oE 'p-[0-9a-f]{16}' | head -1)
"$bin" token issue --token-file operator.token --role party --project "$project" --party agency-a -o a.token >/dev/null
"$bin" token issue --token-file operator.token --role party --project "$project" --party council-b -o b.token >/dev/null
"$bin" upload --token-file a.token --project "$project" --party agency-a a.bmt >/dev/null
"$bin" upload --token-file b.token --project "$project" --party council-b b.bmt >/dev/null
run=$("$bin" run --token-file a.token --project "$project" | grep -oE 'r-[0-9a-f]{16}' | head -1)
token=$(tr -d '\n' < a.token)
measure() { # name path
    local out
    out=$(wrk -t 2 -c "$connections" -d "${seconds}s" --latency -H "Authorization: Bearer $token" "$url$2")
    printf '%-14s %10s req/s  p50 %8s  p99 %8s  non-2xx %s\n' "$1" \
        "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" \
        "$(awk '$1=="99%" {print $2}' <<<"$out")" "$(awk '/Non-2xx/ {print $NF}' <<<"$out" | grep . || echo 0)"
}
echo "binary: $bin; $connections connections, ${seconds}s per endpoint; machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
measure "GET /me" "/me"
measure "results page" "/projects/$project/runs/$run/results/agency-a?limit=1000"
grep -E 'VmRSS|VmHWM' "/proc/$server_pid/status" | tr -s ' \t' ' '
