#!/usr/bin/env bash
# Prints the CHANGELOG.md section of one version, without its heading: the release notes.
#   scripts/changelog-notes.sh 0.1.0        (a leading "v" is accepted: v0.1.0)
# Fails when the section is missing or empty, so a tag without release notes stops the release
# before anything is built.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 1 ]; then
    echo "usage: scripts/changelog-notes.sh VERSION" >&2
    exit 2
fi
version=${1#v}

# Keep a Changelog headings: "## [0.1.0] - 2026-12-01". The section ends at the next "## " heading
# or at the link references ("[0.1.0]: https://...") at the bottom.
notes=$(awk -v version="$version" '
    /^## / { in_section = (index($0, "## [" version "]") == 1); next }
    /^\[[^]]+\]: / { in_section = 0 }
    in_section { print }
' CHANGELOG.md | sed -e '/./,$!d')

if [ -z "${notes//[[:space:]]/}" ]; then
    echo "changelog-notes.sh: CHANGELOG.md has no section \"## [$version]\" (or it is empty): move the Unreleased entries under it before tagging" >&2
    exit 1
fi
printf '%s\n' "$notes"
