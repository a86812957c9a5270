#!/usr/bin/env bash
# The service under load while a 1,000,000-row result set is stored and paged (issue 11). Builds nothing: give it a
# blindmatch binary (a release build).
#
#   Scripts/bench-load.sh .build/release/blindmatch [ROWS] [PARALLEL] [SECONDS]
#
# It starts the service fixture (Scripts/service-fixture.sh: 2,000 × 50,000 records, one project, one succeeded run),
# makes ROWS synthetic records (default 1,000,000) and tokenises them once for each party of the fixture's project, so
# that a run of the two matches every record and stores a result set of about ROWS rows. Then, with PARALLEL uploaders
# (default 2, the default --max-concurrent-uploads) uploading the bulk party's ROWS-record file again and again:
#
#   1. it queues that run and, from the moment the run starts writing its results until SECONDS later (default 15),
#      drives `GET /healthz`, `GET /me` and a results page (1,000 rows, following each page's cursor through the
#      fixture run's results) with wrk, 4 connections each;
#   2. once the run has succeeded, for SECONDS more, the same with the results pages walking the new ROWS-row result set.
#
# It prints requests/s, p50/p99/max latency and errors (non-2xx and socket errors) of each, how long storing the
# result set took, every upload's status, and the server's memory. Everything stays on 127.0.0.1; counts are bounded.
set -euo pipefail
bin=$(realpath "${1:?usage: $0 BLINDMATCH-BINARY [ROWS] [PARALLEL] [SECONDS]}")
rows=${2:-1000000}
parallel=${3:-2}
seconds=${4:-15}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is missing" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "sqlite3 is missing: apt-get install -y sqlite3" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
source "$here/service-fixture.sh"
fixture_start "$bin" 2000 50000
schema="$here/../Protocol/examples/uk-watchlist.json"
echo "binary: $bin; machine: $(fixture_machine)"
(
    cd "$work"
    "$bin" synth --watch 10 --bulk "$rows" --seed 8 --output big >/dev/null
    for party in agency-a council-b; do
        "$bin" tokenise --schema "$schema" --secret-file project.secret --input big/bulk.csv --output "big-$party.bmt" \
            --signing-key "$party.key" --party "$party" >/dev/null 2>&1
    done
    "$bin" upload --token-file a.token --project "$project" --party agency-a big-agency-a.bmt >/dev/null
    "$bin" upload --token-file b.token --project "$project" --party council-b big-council-b.bmt >/dev/null
)
echo "token files of $rows records ($(stat -c %s "$work/big-council-b.bmt") bytes), one a party, uploaded"

# A results page that follows each reply's Link header (the next page's cursor) and starts again after the last page.
cat > "$work/pages.lua" <<'LUA'
local first = os.getenv("FIRST_PAGE")
local path = first
request = function() return wrk.format("GET", path) end
response = function(status, headers, body)
    local link = headers["Link"] or headers["link"]
    path = (status == 200 and link and string.match(link, "<([^>]*)>")) or first
end
LUA
readers() { # label run-whose-results-are-paged
    local health me pages
    health=$(mktemp) me=$(mktemp) pages=$(mktemp)
    wrk -t 1 -c 4 -d "${seconds}s" --latency "$url/healthz" > "$health" &
    local h=$!
    wrk -t 1 -c 4 -d "${seconds}s" --latency -H "Authorization: Bearer $a_token" "$url/me" > "$me" &
    local m=$!
    FIRST_PAGE="/projects/$project/runs/$2/results/agency-a?limit=1000" wrk -t 1 -c 4 -d "${seconds}s" --latency \
        -s "$work/pages.lua" -H "Authorization: Bearer $a_token" -H 'Accept: text/csv' "$url" > "$pages"
    wait "$h" "$m"
    wrk_report "GET /healthz ($1)" "$(cat "$health")"
    wrk_report "GET /me ($1)" "$(cat "$me")"
    wrk_report "results pages ($1)" "$(cat "$pages")"
    echo "  pages read: $(awk '/requests in/ {print $1}' "$pages"); bytes: $(awk '/requests in/ {print $5}' "$pages")"
}
run_field() { # run field
    curl -sS -H "Authorization: Bearer $a_token" "$url/projects/$project/runs/$1" | grep -oE "\"$2\":\"[a-z]+\"" \
        | head -1 | cut -d'"' -f4
}

uploads="$work/uploads.txt"
: > "$uploads"
stop="$work/stop"
uploader() {
    while [ ! -e "$stop" ]; do
        curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' -X POST -T "$work/big-council-b.bmt" -H 'Expect:' \
            -H "Authorization: Bearer $b_token" -H 'Content-Type: application/vnd.blindmatch.tokens' \
            "$url/projects/$project/parties/council-b/uploads" >> "$uploads"
    done
}
pids=()
for _ in $(seq 1 "$parallel"); do uploader & pids+=($!); done

queued=$(date +%s.%N)
big_run=$(fixture_run "$bin")
# Storing has begun when the first rows of the run are in the store (read beside the server with Debian's sqlite3).
store="$work/server/data/blindmatch.sqlite"
for _ in $(seq 1 72000); do
    [ "$(sqlite3 "$store" "SELECT EXISTS (SELECT 1 FROM result WHERE run = '$big_run')" 2>/dev/null)" = 1 ] \
        && break
    case $(run_field "$big_run" status) in succeeded | failed) break ;; esac
    sleep 0.05
done
writing=$(date +%s.%N)
printf 'the run computed for %.1f s (uploads going on); it now stores its results\n' "$(echo "$writing - $queued" | bc)"
(
    while :; do
        case $(run_field "$big_run" status) in succeeded | failed) break ;; esac
        sleep 0.1
    done
    date +%s.%N > "$work/published"
) &
watcher=$!
echo "-- while the result set is being stored (and for up to ${seconds} s), $parallel uploads of $rows records going on:"
readers "storing" "$run"
wait "$watcher"
printf 'the run was seen published %.1f s after its first rows were seen\n' "$(echo "$(cat "$work/published") - $writing" | bc)"
echo "the server: $(grep 'run succeeded' "$work/server.log" | grep "$big_run" | grep -oE '(pairs|seconds|storeSeconds)=[0-9.]+' \
    | paste -sd' ' -) (storeSeconds: writing the rows, counting the views and publishing)"
curl -sS -H "Authorization: Bearer $a_token" "$url/projects/$project/runs/$big_run" \
    | grep -oE '"(status|summary)":("[a-z]+"|\{[^}]*\})'
echo "-- paging the new result set, $parallel uploads of $rows records going on:"
readers "paging $rows rows" "$big_run"
touch "$stop"
wait "${pids[@]}"
sort -k2 -n "$uploads" | awk -v size="$(stat -c %s "$work/big-council-b.bmt")" '{ n++; if ($1 != 201) bad++; t[n] = $2 }
    END { printf "uploads: %d (non-201: %d); seconds per upload: median %.2f, max %.2f; %.0f MB/s per upload\n",
        n, bad + 0, t[int((n + 1) / 2)], t[n], size / t[int((n + 1) / 2)] / 1e6 }'
grep -E 'VmRSS|VmHWM' "/proc/$fixture_pid/status" | tr -s ' \t' ' '
