#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Instructions (callgrind) of "iommuctl verify --profile gpu-sriov" and "iommuctl groups" on
# generated hosts with N IOMMU groups of one PCI device each (the trees are written into a
# temporary directory, never committed), in two shapes (bench/lib.sh make_groups_tree): "gpu" (GPUs,
# SR-IOV NICs, NVMe, others in turn: every GPU and SR-IOV device is a row of verify's table) and
# "plain" (NVMe, Ethernet, peripherals, bridges), next to the minimal reader (bench/minimal-reader.c:
# the same opens and readlinks with openat relative to each device directory, nothing else).
#
# Printed, with their limits (issue 16) and targets (issue 24):
#   - "iommuctl verify" on a host without IOMMU: under 2 M instructions;
#   - per group ("(count at N - count on the same host with no groups) / N") at every N within
#     1.3x of that at 256;
#   - verify at most 2.5x the minimal reader, groups at most 3x, on both shapes at 4096 and 16384
#     groups;
#   - the growth exponent over N (log of the ratio of the per-N costs above the empty host over
#     the log of the ratio of the Ns, smallest N >= 256 to the largest): at most 1.05.
# Prints; does not assert (exit 0 unless a tool is missing).
#
# Usage: bench/verify-instructions.sh [BUILD_DIR] [--large] [N...]
#   default N: 64 256 1024 4096 (about a minute); --large adds 16384 (several minutes).

set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/bench/lib.sh"
parse_size_args "64 256 1024 4096" "16384" "$@"
iommuctl=$build/src/iommuctl
[[ -x $iommuctl ]] || { echo "$iommuctl is missing: build first" >&2; exit 2; }
reader=$(build_floor minimal-reader)

verify_n() { callgrind_count "$iommuctl" verify --no-journal --profile gpu-sriov --root "$1"; }
groups_n() { callgrind_count "$iommuctl" groups --root "$1"; }

# A host without an IOMMU: no groups, no units, no module directory (qemu-none).
none=$(verify_n "$src/tests/fixtures/hosts/qemu-none/root")
printf 'verify, host without IOMMU (qemu-none): %d instructions (limit 2000000: %s)\n' "$none" \
        "$( ((none < 2000000)) && echo ok || echo OVER)"

for shape in gpu plain; do
        r=$tmp/host-$shape-0
        make_groups_tree "$r" 0 "$shape"
        v0=$(verify_n "$r") g0=$(groups_n "$r") m0=$(callgrind_count "$reader" "$r")
        rm -rf "$r"
        printf '\nshape %s; same host with no groups: verify %d, groups %d, minimal reader %d instructions\n' "$shape" "$v0" "$g0" "$m0"
        printf '%7s %14s %9s %14s %9s %14s %9s %10s %10s\n' groups verify "per group" groups "per group" "min. reader" "per group" \
                "verify/min" "groups/min"
        declare -A v g m
        for n in "${sizes[@]}"; do
                r=$tmp/host-$shape-$n
                make_groups_tree "$r" "$n" "$shape"
                v[$n]=$(verify_n "$r") g[$n]=$(groups_n "$r") m[$n]=$(callgrind_count "$reader" "$r")
                rm -rf "$r"
                printf '%7d %14d %9d %14d %9d %14d %9d %10s %10s\n' "$n" "${v[$n]}" "$(per $((v[$n] - v0)) "$n")" "${g[$n]}" \
                        "$(per $((g[$n] - g0)) "$n")" "${m[$n]}" "$(per $((m[$n] - m0)) "$n")" "$(ratio "${v[$n]}" "${m[$n]}")x" \
                        "$(ratio "${g[$n]}" "${m[$n]}")x"
        done
        if [[ -n ${v[256]:-} ]]; then
                for n in "${sizes[@]}"; do
                        ((n > 256)) || continue
                        rv=$(ratio $(((v[$n] - v0) / n)) $(((v[256] - v0) / 256)))
                        rg=$(ratio $(((g[$n] - g0) / n)) $(((g[256] - g0) / 256)))
                        printf '  per group at %5d / at 256: verify %sx, groups %sx (limit 1/1.3 .. 1.3: %s)\n' "$n" "$rv" "$rg" \
                                "$(awk -v a="$rv" -v b="$rg" 'BEGIN { print (a <= 1.3 && b <= 1.3 && a >= 1/1.3 && b >= 1/1.3) ? "ok" : "OVER" }')"
                done
        fi
        echo "  issue 24 targets ($shape):"
        for n in 4096 16384; do
                [[ -n ${v[$n]:-} ]] || continue
                target "verify / minimal reader at $n" "$(ratio "${v[$n]}" "${m[$n]}")x" 2.5
                target "groups / minimal reader at $n" "$(ratio "${g[$n]}" "${m[$n]}")x" 3
        done
        first= last=
        for n in "${sizes[@]}"; do
                ((n >= 256)) || continue
                [[ -n $first ]] || first=$n
                last=$n
        done
        if [[ -n $first && $first != "$last" ]]; then
                target "growth exponent of verify, $first .. $last" "$(exponent "$first" "${v[$first]}" "$last" "${v[$last]}" "$v0")" 1.05
                target "growth exponent of groups, $first .. $last" "$(exponent "$first" "${g[$first]}" "$last" "${g[$last]}" "$g0")" 1.05
                printf '  %-52s %7s\n' "(minimal reader, $first .. $last)" "$(exponent "$first" "${m[$first]}" "$last" "${m[$last]}" "$m0")"
        fi
        unset v g m
done
