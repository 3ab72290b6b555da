#!/usr/bin/env bash
# Installs the release tools at pinned versions, each only if it is missing or at another version:
#   scripts/install-release-tools.sh [cargo-deny] [cargo-auditable] [rust-audit-info]
# (no argument: all three). Used by scripts/release-check.sh and the release workflow, so both use
# the same versions. Needs only the crate registry. cargo-deny compiles for several minutes, which
# is why it stays out of the test command.
set -euo pipefail

pinned_version() {
    case "$1" in
    cargo-deny) echo 0.20.2 ;;
    cargo-auditable) echo 0.7.7 ;;
    rust-audit-info) echo 0.5.4 ;;
    *)
        echo "install-release-tools.sh: unknown tool '$1' (known: cargo-deny, cargo-auditable, rust-audit-info)" >&2
        exit 2
        ;;
    esac
}

# The version a tool reports, or nothing when it is not installed. `cargo install --list` works for
# all three (cargo-auditable has no --version outside `cargo auditable`).
installed_version() {
    cargo install --list | awk -v tool="$1" '$1 == tool { sub(/^v/, "", $2); sub(/:$/, "", $2); print $2 }'
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(cargo-deny cargo-auditable rust-audit-info)

for tool in "${tools[@]}"; do
    want=$(pinned_version "$tool")
    if [ "$(installed_version "$tool")" = "$want" ]; then
        continue
    fi
    echo "installing $tool $want (cargo install --locked)" >&2
    # Low priority: a compile of minutes should not starve whatever else runs on the machine.
    if command -v nice >/dev/null; then
        nice -n 15 cargo install --locked --quiet "$tool@$want"
    else
        cargo install --locked --quiet "$tool@$want"
    fi
done
