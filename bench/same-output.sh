#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Whether two builds print the same bytes: "verify" and "groups", text and --json, on every host
# fixture of tests/fixtures/hosts and on the bench's generated trees (both shapes). For a change
# that is meant to make verify or groups faster and nothing else (issue 24).
#
# Usage: bench/same-output.sh OLD_BUILD_DIR NEW_BUILD_DIR [N...]   (N: groups of the generated trees, default 64 1024)
# Exit 1 on the first difference (a diff is printed), 0 when every output is the same.

set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
old=$1/src/iommuctl new=$2/src/iommuctl
shift 2
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(64 1024)
. "$src/bench/lib.sh"

roots=("$src"/tests/fixtures/hosts/*/root)
for n in "${sizes[@]}"; do
        for shape in gpu plain; do
                make_groups_tree "$tmp/$shape-$n" "$n" "$shape"
                roots+=("$tmp/$shape-$n")
        done
done
count=0
for r in "${roots[@]}"; do
        for cmd in "verify --no-journal --profile gpu-sriov" "verify --no-journal --profile gpu-sriov --json" \
                   "verify --no-journal --profile strict" "groups" "groups --json"; do
                # shellcheck disable=SC2086
                env IOMMUCTL_PROFILES_PATH="$src/profiles" "$old" $cmd --root "$r" > "$tmp/old" 2>&1 || true
                # shellcheck disable=SC2086
                env IOMMUCTL_PROFILES_PATH="$src/profiles" "$new" $cmd --root "$r" > "$tmp/new" 2>&1 || true
                if ! cmp -s "$tmp/old" "$tmp/new"; then
                        echo "DIFFERENT: iommuctl $cmd --root $r"
                        diff "$tmp/old" "$tmp/new" | head -20
                        exit 1
                fi
                count=$((count + 1))
        done
done
echo "same output: $count runs (${#roots[@]} roots x 5 commands)"
