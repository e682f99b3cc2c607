#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# systemd-analyze verify for every unit we ship. The units name the installed iommuctl, which does not
# exist before "meson install": the verified copy runs the one in the build tree instead, nothing else
# changes. Man pages are not checked here (--man=no): they are installed by the packaging.
# Each unit is also rated by "systemd-analyze security --offline=yes": both iommu units must score
# at most 2.0 (lower is safer) and skip containers (ConditionVirtualization=!container).
# Usage: test-units.sh BINDIR IOMMUCTL UNIT...

set -uo pipefail
bindir=${1:?}
iommuctl=${2:?}
shift 2
command -v systemd-analyze > /dev/null || { echo "FAIL: systemd-analyze missing (apt-get install systemd)"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
for unit in "$@"; do
    name=$(basename "$unit")
    if ! grep -q "^ExecStart=$bindir/iommuctl " "$unit"; then
        echo "FAIL: $name: ExecStart= does not run $bindir/iommuctl"
        failed=$((failed + 1))
        continue
    fi
    sed "s|^\(Exec[A-Za-z]*=[-@:+!]*\)$bindir/iommuctl |\1$iommuctl |" "$unit" > "$tmp/$name"
    if out=$(systemd-analyze verify --man=no "$tmp/$name" 2>&1) && [[ -z $out ]]; then
        echo "PASS: systemd-analyze verify $name"
        passed=$((passed + 1))
    else
        echo "FAIL: systemd-analyze verify $name:"
        echo "$out" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
    case $name in iommu-*.service) ;; *) continue ;; esac
    if grep -qx 'ConditionVirtualization=!container' "$unit"; then
        echo "PASS: $name skips containers"
        passed=$((passed + 1))
    else
        echo "FAIL: $name lacks ConditionVirtualization=!container"
        failed=$((failed + 1))
    fi
    sec=$(systemd-analyze security --offline=yes --no-pager "$tmp/$name" 2>&1)
    score=$(sed -n "s/^.*Overall exposure level for $name: \([0-9.]*\) .*/\1/p" <<<"$sec")
    if [[ -z $score ]]; then
        echo "FAIL: systemd-analyze security $name printed no score:"
        echo "$sec" | tail -5 | sed 's/^/    /'
        failed=$((failed + 1))
    elif awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
        echo "PASS: systemd-analyze security $name: $score (at most 2.0)"
        passed=$((passed + 1))
    else
        echo "FAIL: systemd-analyze security $name: $score, more than 2.0:"
        grep '✗' <<<"$sec" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
