#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# systemd-analyze verify for every unit we ship. The units name the installed iommuctl, which does not
# exist before "meson install": the verified copy runs the one in the build tree instead, nothing else
# changes. Man pages are not checked here (--man=no): they are installed by the packaging.
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
done
echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
