#!/usr/bin/env bash
# Latency and memory of the matching service on loopback (issue 9's before/after figures; a start for issue 11's
# load benchmark). Builds nothing: give it a blindmatch binary (a release build).
#
#   Scripts/bench-service.sh .build/release/blindmatch [seconds per endpoint] [connections]
#
# It starts the service fixture (Scripts/service-fixture.sh: 2,000 × 50,000 synthetic records, one project, both
# uploads, one succeeded run), then drives `GET /me` and a results page (1,000 rows) with wrk (Debian's `wrk`) for a
# bounded time each, and prints requests/s, p50 and p99 latency, non-2xx answers, and the server's resident memory
# (VmRSS now, VmHWM peak). Everything stays on 127.0.0.1.
set -euo pipefail
bin=$(realpath "${1:?usage: $0 BLINDMATCH-BINARY [SECONDS] [CONNECTIONS]}")
seconds=${2:-10}
connections=${3:-8}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
source "$(dirname "$0")/service-fixture.sh"
fixture_start "$bin" 2000 50000
measure() { # name path
    local out
    out=$(wrk -t 2 -c "$connections" -d "${seconds}s" --latency -H "Authorization: Bearer $a_token" "$url$2")
    printf '%-14s %10s req/s  p50 %8s  p99 %8s  non-2xx %s\n' "$1" \
        "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" \
        "$(awk '$1=="99%" {print $2}' <<<"$out")" "$(awk '/Non-2xx/ {print $NF}' <<<"$out" | grep . || echo 0)"
}
echo "binary: $bin; $connections connections, ${seconds}s per endpoint; machine: $(fixture_machine)"
measure "GET /me" "/me"
measure "results page" "/projects/$project/runs/$run/results/agency-a?limit=1000"
grep -E 'VmRSS|VmHWM' "/proc/$fixture_pid/status" | tr -s ' \t' ' '
