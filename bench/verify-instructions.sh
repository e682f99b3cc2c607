#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Instructions (callgrind) of "iommuctl verify --profile gpu-sriov" and "iommuctl groups" on
# generated hosts with N IOMMU groups of one PCI device each (N = 64 ... 16384; the trees are
# written into a temporary directory, never committed), per group, next to the minimal reader
# (bench/minimal-reader.c: the same opens and readlinks with openat relative to each device
# directory, nothing else) and to the limits of issue 16:
#   - instructions per group at every N within 1.3x of those at 256 (linear growth);
#   - verify at 4096 groups within 3x of the minimal reader;
#   - "iommuctl verify" on a host without IOMMU under 2 M instructions.
# "per group" is the cost a group adds: (count at N - count on the same host with no groups) / N,
# so the fixed start-up cost does not hide or fake the growth. Prints; does not assert (exit 0 unless a tool is missing).
#
# Usage: bench/verify-instructions.sh [BUILD_DIR] [N...]

set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
shift || true
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(64 256 1024 4096 16384)
iommuctl=$build/src/iommuctl
[[ -x $iommuctl ]] || { echo "$iommuctl is missing: build first" >&2; exit 2; }
. "$src/bench/lib.sh"
reader=$(build_floor minimal-reader)

# A host without an IOMMU: no groups, no units, no module directory (qemu-none).
none=$(callgrind_count "$iommuctl" verify --no-journal --profile gpu-sriov --root "$src/tests/fixtures/hosts/qemu-none/root")
printf 'verify, host without IOMMU (qemu-none): %d instructions (limit 2000000: %s)\n\n' "$none" \
        "$( ((none < 2000000)) && echo ok || echo OVER)"

r=$tmp/host-0
make_groups_tree "$r" 0
v0=$(callgrind_count "$iommuctl" verify --no-journal --profile gpu-sriov --root "$r")
g0=$(callgrind_count "$iommuctl" groups --root "$r")
m0=$(callgrind_count "$reader" "$r")
rm -rf "$r"
printf 'same host with no groups: verify %d, groups %d, minimal reader %d instructions\n\n' "$v0" "$g0" "$m0"

printf '%7s %14s %10s %14s %10s %14s %10s %12s\n' groups verify "per group" groups "per group" "min. reader" "per group" "verify/min"
declare -A vper gper
for n in "${sizes[@]}"; do
        r=$tmp/host-$n
        make_groups_tree "$r" "$n"
        v=$(callgrind_count "$iommuctl" verify --no-journal --profile gpu-sriov --root "$r")
        g=$(callgrind_count "$iommuctl" groups --root "$r")
        m=$(callgrind_count "$reader" "$r")
        vper[$n]=$(per $((v - v0)) "$n")
        gper[$n]=$(per $((g - g0)) "$n")
        printf '%7d %14d %10d %14d %10d %14d %10d %12s\n' "$n" "$v" "${vper[$n]}" "$g" "${gper[$n]}" "$m" "$(per $((m - m0)) "$n")" "$(ratio "$v" "$m")x"
        [[ $n == 4096 ]] && min4096=$m v4096=$v
        rm -rf "$r"
done
echo
if [[ -n ${vper[256]:-} ]]; then
        for n in "${sizes[@]}"; do
                ((n > 256)) || continue
                rv=$(ratio "${vper[$n]}" "${vper[256]}")
                rg=$(ratio "${gper[$n]}" "${gper[256]}")
                # Within 1.3x either way.
                printf 'per group at %5d / at 256: verify %sx, groups %sx (limit 1/1.3 .. 1.3: %s)\n' "$n" "$rv" "$rg" \
                        "$(awk -v a="$rv" -v b="$rg" 'BEGIN { print (a <= 1.3 && b <= 1.3 && a >= 1/1.3 && b >= 1/1.3) ? "ok" : "OVER" }')"
        done
fi
if [[ -n ${min4096:-} ]]; then
        rm4=$(ratio "$v4096" "$min4096")
        printf 'verify at 4096 groups / minimal reader: %sx (limit 3x: %s)\n' "$rm4" \
                "$(awk -v a="$rm4" 'BEGIN { print a <= 3 ? "ok" : "OVER" }')"
fi
