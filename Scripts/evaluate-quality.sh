#!/usr/bin/env bash
# Quality of `blindmatch match` at its defaults on one dataset, with the model's estimates beside the truth.
#   Scripts/evaluate-quality.sh DATA_DIR [match options…]
# DATA_DIR holds watch.csv, bulk.csv and truth.csv (from `blindmatch synth` or Scripts/independent_synth.py).
# Uses the release build; keys and token files go to DATA_DIR/work.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${BLINDMATCH:-$root/.build/release/blindmatch}"
data="$1"
shift
work="$data/work"
mkdir -p "$work"
[ -f "$work/project.secret" ] || "$bin" keygen --output "$work/project.secret" >/dev/null
[ -f "$work/agency.key" ] || "$bin" keygen --signing --output "$work/agency" >/dev/null
for side in watch bulk; do
    [ -f "$work/$side.bmt" ] || "$bin" tokenise --schema "$root/Protocol/examples/uk-watchlist.json" \
        --secret-file "$work/project.secret" --input "$data/$side.csv" --output "$work/$side.bmt" \
        --signing-key "$work/agency.key" --party "$side" >/dev/null
done
"$bin" match "$work/watch.bmt" "$work/bulk.bmt" --output "$work/matches.csv" --report "$work/report.json" \
    --report-html "$work/report.html" "$@"
"$bin" evaluate --matches "$work/matches.csv" --map-a "$work/watch.map.csv" --map-b "$work/bulk.map.csv" \
    --truth "$data/truth.csv" --report "$work/report.json"
