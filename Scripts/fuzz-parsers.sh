#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer) of the parsers that read what others send: token files, JSON, linkage schemas,
# CSV and audit-log lines. `swift test` runs seeded mutation tests of the same parsers (ParserFuzzTests, CSVFuzzTests,
# AuditFuzzTests, RequestFuzzTests); this runs them for longer, guided by coverage, with AddressSanitizer:
#
#   Scripts/fuzz-parsers.sh TARGET [SECONDS]      TARGET: tokenfile, json, schema, csv or audit; default 60 s
#
# The modules are compiled straight from Sources/ with `swiftc -sanitize=fuzzer,address` (no package change), into
# .build/fuzz/TARGET. The corpus starts from the repository's own files (the token-file vector, the example schema,
# the audit-log vector) and grows in .build/fuzz/TARGET-corpus; a crash is written as crash-… in the working
# directory and the script exits non-zero: make it a test case, then fix it.
set -euo pipefail
target=${1:?usage: $0 tokenfile|json|schema|csv|audit [SECONDS]}
seconds=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.build/fuzz/$target"
mkdir -p "$out" "$out-corpus"
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -I "$root/Sources/COpenSSL" -swift-version 6)

# One module at a time, each a static library with its interface, as SwiftPM would build them.
module() {
    local name=$1
    shift
    if [ ! -f "$out/lib$name.a" ] || [ -n "$(find "$root/Sources/$name" -newer "$out/lib$name.a" -name '*.swift')" ]; then
        swiftc "${flags[@]}" -I "$out" -L "$out" -module-name "$name" -emit-module -emit-module-path "$out/$name.swiftmodule" \
            -emit-library -static -o "$out/lib$name.a" "$@" $(find "$root/Sources/$name" -name '*.swift' | sort)
    fi
}
module BlindmatchProtocol
links=(-lBlindmatchProtocol -lcrypto)
case $target in
    tokenfile) define=FUZZ_TOKENFILE ;;
    json) define=FUZZ_JSON ;;
    schema) define=FUZZ_SCHEMA ;;
    csv) define=FUZZ_CSV; module BlindmatchAgency -lBlindmatchProtocol; links=(-lBlindmatchAgency "${links[@]}") ;;
    audit) define=FUZZ_AUDIT; module BlindmatchAudit -lBlindmatchProtocol; links=(-lBlindmatchAudit "${links[@]}") ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac
swiftc "${flags[@]}" -D "$define" -I "$out" -L "$out" "${links[@]}" -o "$out/fuzz" "$root/Scripts/fuzz/Harness.swift"

# Seeds: the repository's own valid inputs.
seeds="$out-seeds"
mkdir -p "$seeds"
case $target in
    tokenfile)
        python3 -c 'import json,sys; sys.stdout.buffer.write(bytes.fromhex(json.load(open(sys.argv[1]))["expectedHex"]))' \
            "$root/Protocol/vectors/token-file.json" > "$seeds/vector.bmt" ;;
    json | schema) cp "$root/Protocol/examples/uk-watchlist.json" "$seeds/" ;;
    csv) printf 'id,given_name,surname\r\nA1,"Zo\xc3\xab ""Z""","O'"'"'Brien,\nJones"\r\n' > "$seeds/a.csv" ;;
    audit) cp "$root/Protocol/vectors/audit-log.jsonl" "$seeds/" ;;
esac
cd "$out"
# Leak detection is off: Swift's lazily initialised globals and metadata caches, allocated on the first input and kept
# for the process's life, are reported as leaks of that input (an empty input "leaked" 18 KB and replayed clean).
ASAN_OPTIONS=detect_leaks=0 "$out/fuzz" -max_total_time="$seconds" -max_len=65536 -timeout=10 -detect_leaks=0 -print_final_stats=1 \
    "$out-corpus" "$seeds"
