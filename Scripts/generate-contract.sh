#!/usr/bin/env bash
# Generates Sources/BlindmatchContract/Generated from Protocol/openapi.yaml with apple/swift-openapi-generator
# (types only, every schema of components/schemas, no operations): the wire types that the server and the CLI share.
# The output is committed; .ci/run runs this and fails on any difference (docs/architecture.md, "The contract's types").
set -euo pipefail
cd "$(dirname "$0")/.."
generator_package=Scripts/contract-generator
scratch=.build-contract-generator
output=Sources/BlindmatchContract/Generated
config=$(mktemp)
trap 'rm -f "$config"' EXIT

# Every schema the contract names, in the contract's order, so that a schema added there is generated here.
{
    printf 'generate: [types]\naccessModifier: public\nnamingStrategy: idiomatic\n'
    printf 'additionalFileComments: ["Generated from Protocol/openapi.yaml by Scripts/generate-contract.sh: do not edit."]\n'
    printf 'typeOverrides:\n  schemas:\n    Timestamp: Swift.String\n    TimestampOrNull: Swift.String\n'
    printf 'filter:\n  schemas:\n'
    awk '/^  schemas:$/ { inside = 1; next } inside && /^  [a-zA-Z]/ { inside = 0 }
         inside && /^    [A-Za-z0-9]+:$/ { sub(/:$/, ""); sub(/^ +/, ""); print "    - " $0 }' Protocol/openapi.yaml
} >"$config"

swift build -q --package-path "$generator_package" --scratch-path "$scratch" --product swift-openapi-generator
rm -rf "$output"
mkdir -p "$output"
"$scratch/debug/swift-openapi-generator" generate --config "$config" --output-directory "$output" \
    Protocol/openapi.yaml >/dev/null 2>"$scratch/generate.log" || { cat "$scratch/generate.log" >&2; exit 1; }
# The generator writes `public import`s that Swift 6.3 reports as unused in public declarations (a warning, and CI
# treats warnings in Sources/ as errors); plain imports say the same without the warning.
sed -i -E 's/^(@_spi\(Generated\) )?public import /\1import /' "$output"/*.swift
# Warnings the generator prints for the contract's `not` clauses (the one-of-two request shapes) are expected: those
# rules are checked by the server's validation of each request; any other warning is a contract the types miss.
if grep -v 'Schema "not ()" is not supported' "$scratch/generate.log" | grep -i "warning"; then
    echo "generate-contract: the generator skipped part of the contract (above)" >&2
    exit 1
fi
