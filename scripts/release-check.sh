#!/usr/bin/env bash
# What a release needs and the test command does not (the GitHub workflow runs it on every push):
#   1. licences, sources and duplicate versions: cargo deny (deny.toml);
#   2. the crate as crates.io would get it: cargo package --locked, which also builds the packed
#      crate from its own files;
#   3. a release build with its dependency list embedded (cargo auditable), read back from the
#      binary with rust-audit-info, and packed into an archive as the release workflow does.
# Installs cargo-deny, cargo-auditable and rust-audit-info at pinned versions when missing
# (scripts/install-release-tools.sh; cargo-deny compiles for minutes the first time).
# Needs no network beyond the crate registry. Advisories (the RustSec database, from GitHub) are
# a separate job in the workflow: cargo deny check advisories.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-release-tools.sh cargo-deny cargo-auditable rust-audit-info

echo "== cargo deny check licenses bans sources" >&2
cargo deny --locked check --hide-inclusion-graph licenses bans sources

echo "== cargo package --locked" >&2
# Expect one "ignoring test ..." warning per file in tests/: the package leaves them out on purpose
# (Cargo.toml's `include`); the verification build needs only src/.
cargo package --locked

host=$(rustc -vV | awk '/^host:/ { print $2 }')
echo "== cargo auditable build --release --locked --target $host" >&2
# Low priority: the LTO build takes minutes and should not starve the rest of the machine.
nice -n 15 cargo auditable build --release --locked --target "$host"
exe=
case "$host" in *windows*) exe=.exe ;; esac
binary="target/$host/release/jira-psoxy-setup$exe"

# The embedded list must name the crates a scanner cares about; a plain `cargo build` embeds
# nothing and rust-audit-info fails on it.
audit_json=$(rust-audit-info "$binary")
for dependency in reqwest rustls aws-sdk-ssm google-cloud-secretmanager-v1; do
    if ! grep -Eq "\"name\": ?\"$dependency\"" <<<"$audit_json"; then
        echo "release-check.sh: $binary carries no dependency list naming $dependency (was it built with cargo auditable?)" >&2
        exit 1
    fi
done
echo "$binary: embedded dependency list of $(grep -Eo '"name": ?' <<<"$audit_json" | wc -l) crates" >&2

echo "== scripts/package-release.sh $host" >&2
out_dir=$(mktemp -d)
trap 'rm -rf "$out_dir"' EXIT
archive=$(scripts/package-release.sh "$host" v0.0.0-check "$out_dir")
tar -tzf "$archive" | sort >"$out_dir/listing"
stem=jira-psoxy-setup-v0.0.0-check-$host
for member in jira-psoxy-setup README.md LICENSE CHANGELOG.md jira-psoxy-setup.1 \
    jira-psoxy-setup-init.1 jira-psoxy-setup-renew.1 jira-psoxy-setup-status.1 \
    jira-psoxy-setup-check.1 jira-psoxy-setup-push.1 jira-psoxy-setup-completions.1 \
    jira-psoxy-setup-man.1 \
    completions/jira-psoxy-setup.bash completions/_jira-psoxy-setup \
    completions/jira-psoxy-setup.fish completions/_jira-psoxy-setup.ps1 \
    completions/jira-psoxy-setup.elv; do
    if ! grep -qx "$stem/$member" "$out_dir/listing"; then
        echo "release-check.sh: $(basename "$archive") lacks $member" >&2
        exit 1
    fi
done

echo "release-check.sh: all release checks passed" >&2
