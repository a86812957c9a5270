#!/usr/bin/env bash
# Property-based fuzzing of the matching service against its contract (Protocol/openapi.yaml) with schemathesis,
# pinned in Scripts/requirements-fuzz.txt, as .ci/run runs it:
#
#   Scripts/fuzz-api.sh .build/debug/blindmatch [examples per operation]
#
# It starts the service fixture (Scripts/service-fixture.sh: one project, both uploads, a succeeded run) and fuzzes
# every operation once per role — the bulk party, the watch-list party, the auditor, the operator last (it may close
# the project) — with the fixture's real ids as path parameters, a fixed seed and a bounded number of examples. It
# fails on any 5xx, any status or body the contract does not declare, and any request not answered within 5 s.
set -euo pipefail
bin=$(realpath "${1:?usage: $0 BLINDMATCH-BINARY [EXAMPLES]}")
examples=${2:-25}
here=$(cd "$(dirname "$0")" && pwd)
st=$(command -v "${SCHEMATHESIS:-st}") || {
    echo "schemathesis is missing: pip install -r Scripts/requirements-fuzz.txt" >&2
    exit 2
}
st=$(realpath "$st")
source "$here/service-fixture.sh"
fixture_start "$bin" 200 2000
cat > "$work/schemathesis.toml" <<TOML
[parameters]
"path.projectId" = "$project"
"path.runId" = "$run"
"path.uploadId" = "$upload"
TOML
failed=0
for role in bulk watchlist auditor operator; do
    case $role in
        bulk) token=$b_token party=council-b ;;
        watchlist) token=$a_token party=agency-a ;;
        auditor) token=$auditor_token party=agency-a ;;
        operator) token=$operator_token party=agency-a ;;
    esac
    echo "== schemathesis as the $role"
    if ! (cd "$work" && "$st" --config-file schemathesis.toml --no-color run "$here/../Protocol/openapi.yaml" \
        --url "$url" -H "Authorization: Bearer $token" \
        --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance \
        --max-examples "$examples" --seed 20261206 --request-timeout 5 --phases examples,coverage,fuzzing \
        --output-sanitize true --suppress-health-check all --generation-database none \
        --exclude-checks ignored_auth 2>&1 | sed "s/$token/<token>/g"); then
        failed=1
    fi
done
if grep -q 'error' "$work/server.log"; then
    echo "== the server logged errors:"; grep 'error' "$work/server.log" | head -20; failed=1
fi
exit $failed
