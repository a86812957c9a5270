#!/usr/bin/env bash
# The service under load (issue 11): parallel uploads of a large token file, then a run on it, while other clients
# read. Builds nothing: give it a blindmatch binary (a release build).
#
#   Scripts/bench-upload.sh .build/release/blindmatch [ROWS] [PARALLEL] [SECONDS]
#
# It starts the service fixture (Scripts/service-fixture.sh: 2,000 × 50,000 records, one project, one succeeded
# run), tokenises a bulk file of ROWS records (default 1,000,000) for the bulk party, then for SECONDS (default 30):
# PARALLEL uploaders (default 2, the default --max-concurrent-uploads) upload it again and again while wrk reads
# `GET /healthz` and `GET /me`; then it queues a run of the watch list against it and, while that run computes and
# stores its results, reads a 1,000-row page of the fixture run's results. It prints upload times and rates,
# requests/s and p50/p99/max latency of each endpoint, every non-2xx answer, and the server's memory. Everything
# stays on 127.0.0.1.
set -euo pipefail
bin=$(realpath "${1:?usage: $0 BLINDMATCH-BINARY [ROWS] [PARALLEL] [SECONDS]}")
rows=${2:-1000000}
parallel=${3:-2}
seconds=${4:-30}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is missing" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
source "$here/service-fixture.sh"
fixture_start "$bin" 2000 50000
schema="$here/../Protocol/examples/uk-watchlist.json"
echo "binary: $bin; machine: $(fixture_machine)"
(
    cd "$work"
    "$bin" synth --watch 10 --bulk "$rows" --seed 8 --output big >/dev/null
    start=$(date +%s.%N)
    "$bin" tokenise --schema "$schema" --secret-file project.secret --input big/bulk.csv --output big.bmt \
        --signing-key council-b.key --party council-b >/dev/null 2>&1
    printf 'tokenised %s records in %.1f s\n' "$rows" "$(echo "$(date +%s.%N) - $start" | bc)"
)
size=$(stat -c %s "$work/big.bmt")
echo "token file: $size bytes"

uploads="$work/uploads.txt"
: > "$uploads"
stop="$work/stop"
uploader() {
    while [ ! -e "$stop" ]; do
        curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' -X POST -T "$work/big.bmt" -H 'Expect:' \
            -H "Authorization: Bearer $b_token" -H 'Content-Type: application/vnd.blindmatch.tokens' \
            "$url/projects/$project/parties/council-b/uploads" >> "$uploads"
    done
}
pids=()
for _ in $(seq 1 "$parallel"); do uploader & pids+=($!); done
health=$(mktemp) me=$(mktemp)
wrk -t 1 -c 4 -d "${seconds}s" --latency "$url/healthz" > "$health" &
wrk_health=$!
wrk -t 1 -c 4 -d "${seconds}s" --latency -H "Authorization: Bearer $a_token" "$url/me" > "$me"
wait "$wrk_health"
touch "$stop"
wait "${pids[@]}"
echo "-- $parallel parallel uploads for ${seconds} s, with readers:"
sort -k2 -n "$uploads" | awk -v size="$size" '{ n++; if ($1 != 201) bad++; t[n] = $2 } END {
    printf "uploads: %d (non-201: %d); seconds per upload: median %.2f, max %.2f; %.0f MB/s per upload\n",
        n, bad + 0, t[int((n + 1) / 2)], t[n], size / t[int((n + 1) / 2)] / 1e6 }'
wrk_report "GET /healthz" "$(cat "$health")"
wrk_report "GET /me" "$(cat "$me")"
grep -E 'VmRSS|VmHWM' "/proc/$fixture_pid/status" | tr -s ' \t' ' '

echo "-- a run of 2,000 × $rows records, while a 1,000-row results page is read:"
big_run=$(fixture_run "$bin")
page=$(mktemp)
wrk -t 1 -c 4 -d "${seconds}s" --latency -H "Authorization: Bearer $a_token" \
    "$url/projects/$project/runs/$run/results/agency-a?limit=1000" > "$page"
wrk_report "results page (during run)" "$(cat "$page")"
for _ in $(seq 1 600); do
    status=$(curl -sS -H "Authorization: Bearer $a_token" "$url/projects/$project/runs/$big_run" \
        | grep -oE '"status":"[a-z]+"' | head -1)
    case $status in *succeeded* | *failed*) break ;; esac
    sleep 1
done
curl -sS -H "Authorization: Bearer $a_token" "$url/projects/$project/runs/$big_run" \
    | grep -oE '"(status|summary)":("[a-z]+"|\{[^}]*\})'
grep -E 'VmRSS|VmHWM' "/proc/$fixture_pid/status" | tr -s ' \t' ' '
