#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer) of the parsers that read what others send: token files, JSON, linkage schemas,
# CSV and audit-log lines. `swift test` runs seeded mutation tests of the same parsers (ParserFuzzTests, CSVFuzzTests,
# AuditFuzzTests, RequestFuzzTests); this runs them guided by coverage, with AddressSanitizer:
#
#   Scripts/fuzz-parsers.sh TARGET [SECONDS]    explore: TARGET is tokenfile, json, schema, csv or audit (60 s)
#   Scripts/fuzz-parsers.sh ci [RUNS]           every target from the committed corpus, fixed seed, RUNS inputs
#                                               each (default 20,000), at most 20 s each (what .ci/run does)
#   Scripts/fuzz-parsers.sh merge TARGET        minimise what exploring found into Scripts/fuzz/corpus/TARGET
#
# One binary serves every target (BLINDMATCH_FUZZ_TARGET picks one), so it compiles once: the modules are compiled
# straight from Sources/ with `swiftc -sanitize=fuzzer,address` (no package change) into .build/fuzz/all, and only
# again when a source is newer. The committed corpus (Scripts/fuzz/corpus/TARGET: the repository's own valid inputs
# and what coverage-guided runs kept, minimised with -merge=1; synthetic, no secrets) seeds every mode; exploring grows
# .build/fuzz/TARGET-corpus. A crash is written to .build/fuzz/crashes/ and the script exits non-zero: make it a
# seeded regression test in the parser's *FuzzTests.swift, then fix it.
set -euo pipefail
usage="usage: $0 tokenfile|json|schema|csv|audit [SECONDS] | ci [RUNS] | merge TARGET"
mode=${1:?$usage}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.build/fuzz/all"
corpus="$root/Scripts/fuzz/corpus"
targets=(tokenfile json schema csv audit)
mkdir -p "$out" "$root/.build/fuzz/crashes"
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -I "$root/Sources/COpenSSL" -swift-version 6)

# One module at a time, each a static library with its interface, as SwiftPM would build them.
module() {
    local name=$1
    shift
    if [ ! -f "$out/lib$name.a" ] || [ -n "$(find "$root/Sources/$name" -newer "$out/lib$name.a" -name '*.swift')" ]; then
        echo "compiling $name for fuzzing" >&2
        swiftc "${flags[@]}" -I "$out" -L "$out" -module-name "$name" -emit-module -emit-module-path "$out/$name.swiftmodule" \
            -emit-library -static -o "$out/lib$name.a" "$@" $(find "$root/Sources/$name" -name '*.swift' | sort)
        rm -f "$out/fuzz"
    fi
}
module BlindmatchProtocol
module BlindmatchAgency -lBlindmatchProtocol
module BlindmatchAudit -lBlindmatchProtocol
if [ ! -x "$out/fuzz" ] || [ "$root/Scripts/fuzz/Harness.swift" -nt "$out/fuzz" ]; then
    # The linker's warnings about AddressSanitizer's local symbols are noise: shown only when the link fails.
    swiftc "${flags[@]}" -I "$out" -L "$out" -lBlindmatchAgency -lBlindmatchAudit -lBlindmatchProtocol -lcrypto \
        -o "$out/fuzz" "$root/Scripts/fuzz/Harness.swift" > "$out/link.log" 2>&1 || { cat "$out/link.log" >&2; exit 1; }
fi

# Leak detection is off: Swift's lazily initialised globals and metadata caches, allocated on the first input and kept
# for the process's life, are reported as leaks of that input (an empty input "leaked" 18 KB and replayed clean).
export ASAN_OPTIONS=detect_leaks=0
common=(-max_len=65536 -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 -artifact_prefix="$root/.build/fuzz/crashes/")
known() { [[ " ${targets[*]} " == *" $1 "* ]] || { echo "$usage" >&2; exit 2; }; }

case $mode in
    ci)
        runs=${2:-20000}
        for target in "${targets[@]}"; do
            # New inputs go to a scratch folder, never into the committed corpus.
            scratch=$(mktemp -d)
            start=$(date +%s)
            BLINDMATCH_FUZZ_TARGET=$target "$out/fuzz" "${common[@]}" -seed=11 -runs="$runs" -max_total_time=20 \
                "$scratch" "$corpus/$target" > "$scratch.log" 2>&1 || {
                tail -40 "$scratch.log" >&2
                echo "fuzzing $target found a crash (in .build/fuzz/crashes/): make it a test, then fix it" >&2
                exit 1
            }
            echo "$target: $(grep -oE 'Done [0-9]+ runs' "$scratch.log" | head -1) from $(ls "$corpus/$target" | wc -l) seeds in $(($(date +%s) - start)) s, $(grep -oE 'cov: [0-9]+' "$scratch.log" | tail -1)"
            rm -rf "$scratch" "$scratch.log"
        done
        ;;
    merge)
        target=${2:?$usage}
        known "$target"
        merged=$(mktemp -d)
        # Edges only (no hit counters) and inputs of at most 8 KiB: the fewest small files that reach every edge.
        BLINDMATCH_FUZZ_TARGET=$target "$out/fuzz" "${common[@]}" -max_len=8192 -use_counters=0 -merge=1 "$merged" \
            "$corpus/$target" "$root/.build/fuzz/$target-corpus"
        rm -rf "${corpus:?}/$target"
        mv "$merged" "$corpus/$target"
        chmod 755 "$corpus/$target"
        echo "$target: $(ls "$corpus/$target" | wc -l) inputs in $corpus/$target"
        ;;
    *)
        known "$mode"
        seconds=${2:-60}
        mkdir -p "$root/.build/fuzz/$mode-corpus"
        BLINDMATCH_FUZZ_TARGET=$mode "$out/fuzz" "${common[@]}" -max_total_time="$seconds" -print_final_stats=1 \
            "$root/.build/fuzz/$mode-corpus" "$corpus/$mode"
        ;;
esac
