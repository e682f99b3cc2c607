#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# "iommuctl apply" and "iommuctl rollback" on generated systemd-boot roots with N BLS entries
# (N = 10 ... 2000; tests/fixtures/boot/systemd-boot-esp with its entry copied N times, written
# into a temporary directory, never committed): instructions (callgrind), fsync + fdatasync calls
# (strace -f -c -e trace=fsync,fdatasync) and rollback's peak RSS (GNU time), next to the minimal
# writer (bench/minimal-writer.c: temporary file, write, fsync, rename per file, one directory
# fsync) and to the limits of issue 16:
#   - at most N+5 fsyncs for N entries (apply on 100 entries: at most 105), with the profile
#     of iommu.conf; with --profile apply also records /etc/iommu/selection (N+7).
#     The limit is judged on the case it is about: an apply whose change set holds the N entries,
#     on a node applied before ("applied before": the entries were rewritten without the IOMMU
#     options since, as kernel-install or an admin does, /etc/iommu/applied is already there).
#     Printed next to it, not judged: the first apply on a root with /var/lib (it also creates
#     /etc/iommu/applied, one more file, and /etc/iommu/selection with --profile, and makes
#     /var/lib/iommu/changesets: the directory above each directory made is fsynced) and the
#     first apply into a tree without /var (an image: /, /var, /var/lib, /var/lib/iommu fsynced);
#   - rollback's peak RSS at 2000 entries under 16 MiB.
# With GRUBBY_BLS=PATH (Fedora's grubby-bls script; Debian does not package it) the same update
# is also done by grubby, its BLS directory and grubenv pointed into the tree (GRUBBY_ARGS
# replaces the default arguments; BLS and ENV in it name the tree's entries and grubenv).
# Issue 24's targets, printed as ratios: apply at most 30k instructions per entry (count / N) at
# 1000 entries; the growth exponent of apply and rollback over N (their counts above the smallest
# N, log-log, smallest to largest N) at most 1.05; each count next to the minimal writer's.
# Prints; does not assert (exit 0 unless a tool is missing).
#
# Usage: bench/apply-instructions.sh [BUILD_DIR] [--large] [N...]
#   default N: 10 100 1000 (under a minute); --large adds 2000 and 5000 (minutes).

set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/bench/lib.sh"
parse_size_args "10 100 1000" "2000 5000" "$@"
iommuctl=$build/src/iommuctl
[[ -x $iommuctl ]] || { echo "$iommuctl is missing: build first" >&2; exit 2; }
writer=$(build_floor minimal-writer)
read -r -a args < "$src/tests/fixtures/boot/systemd-boot-esp/args"

fresh() { rm -rf "$2"; cp -a "$tmp/bls-$1" "$2"; }
# rewrite_entries N DIR: the entries of DIR as make_bls_tree wrote them (without what apply adds).
rewrite_entries() { cp -a "$tmp/bls-$1/efi/loader/entries/." "$2/efi/loader/entries/"; }

printf '%6s %13s %8s %9s %13s %8s %10s %13s %8s %9s %9s\n' entries apply fsyncs "per entry" rollback fsyncs "rss KiB" "min. writer" \
        fsyncs "apply/min" "rollb/min"
declare -A apply_n rollback_n writer_n
for n in "${sizes[@]}"; do
        make_bls_tree "$tmp/bls-$n" "$n"
        r=$tmp/run
        fresh "$n" "$r"
        ai=$(callgrind_count "$iommuctl" apply --root "$r" "${args[@]}")
        ri=$(callgrind_count "$iommuctl" rollback --root "$r")
        fresh "$n" "$r"
        af=$(fsync_count "$iommuctl" apply --root "$r" "${args[@]}")
        rf=$(fsync_count "$iommuctl" rollback --root "$r")
        fresh "$n" "$r"
        env IOMMUCTL_PROFILES_PATH="$src/profiles" "$iommuctl" apply --root "$r" "${args[@]}" > /dev/null 2>&1
        rss=$(peak_rss_kib "$iommuctl" rollback --root "$r")
        fresh "$n" "$r"
        files=($(cd "$r/efi/loader/entries" && ls))
        wi=$(callgrind_count "$writer" "$r/efi/loader/entries" "${files[@]}")
        fresh "$n" "$r"
        wf=$(fsync_count "$writer" "$r/efi/loader/entries" "${files[@]}")
        apply_n[$n]=$ai rollback_n[$n]=$ri writer_n[$n]=$wi
        printf '%6d %13d %8d %9d %13d %8d %10d %13d %8d %9s %9s\n' "$n" "$ai" "$af" "$(per "$ai" "$n")" "$ri" "$rf" "$rss" "$wi" "$wf" \
                "$(ratio "$ai" "$wi")x" "$(ratio "$ri" "$wi")x"
        # The profile from iommu.conf, so the change set holds the N entries (and the applied
        # record on a first apply). With --profile apply also records /etc/iommu/selection.
        fresh "$n" "$r"
        mkdir -p "$r/etc/iommu"
        printf '[IOMMU]\nProfile=gpu-sriov\nVendor=portable\n' > "$r/etc/iommu/iommu.conf"
        cp -a "$r" "$tmp/conf"
        afc=$(fsync_count "$iommuctl" apply --root "$r")
        rewrite_entries "$n" "$r"
        afc2=$(fsync_count "$iommuctl" apply --root "$r")
        rm -rf "$r" && mv "$tmp/conf" "$r" && rm -rf "$r/var"
        afc0=$(fsync_count "$iommuctl" apply --root "$r")
        fresh "$n" "$r"
        env IOMMUCTL_PROFILES_PATH="$src/profiles" "$iommuctl" apply --root "$r" "${args[@]}" > /dev/null 2>&1
        rewrite_entries "$n" "$r"
        af2=$(fsync_count "$iommuctl" apply --root "$r" "${args[@]}")
        fresh "$n" "$r"
        rm -rf "$r/var"
        af0=$(fsync_count "$iommuctl" apply --root "$r" "${args[@]}")
        limit_f="$((n + 5))"
        printf '        apply fsyncs, profile of iommu.conf: applied before %d (limit %d: %s); first apply %d (N%+d), without /var %d (N%+d)\n' \
                "$afc2" "$limit_f" "$( ((afc2 <= limit_f)) && echo ok || echo OVER)" "$afc" "$((afc - n))" "$afc0" "$((afc0 - n))"
        printf '        apply fsyncs, --profile: applied before %d (limit %d: %s); first apply %d (N%+d), without /var %d (N%+d)' \
                "$af2" "$((limit_f + 2))" "$( ((af2 <= limit_f + 2)) && echo ok || echo OVER)" "$af" "$((af - n))" "$af0" "$((af0 - n))"
        [[ $n == 2000 ]] && printf ', rollback peak RSS %d KiB (limit 16384: %s)' "$rss" "$( ((rss < 16384)) && echo ok || echo OVER)"
        echo
        if [[ -n ${GRUBBY_BLS:-} ]]; then
                fresh "$n" "$r"
                mkdir -p "$r/boot/grub2"
                grub-editenv "$r/boot/grub2/grubenv" create 2> /dev/null || : > "$r/boot/grub2/grubenv"
                BLS=$r/efi/loader/entries ENV=$r/boot/grub2/grubenv
                ga=${GRUBBY_ARGS:-"--update-kernel=ALL --args=intel_iommu=on --bls-directory=$BLS --env=$ENV"}
                ga=${ga//BLS/$BLS} ga=${ga//ENV/$ENV}
                # shellcheck disable=SC2086
                gi=$(callgrind_count --trace-children=yes "$GRUBBY_BLS" $ga)
                printf '        grubby-bls: %d instructions (apply is %sx fewer)\n' "$gi" "$(ratio "$gi" "$ai")"
        fi
        rm -rf "$tmp/bls-$n" "$r"
done

echo
echo "issue 24 targets:"
[[ -n ${apply_n[1000]:-} ]] && target "apply, instructions per entry at 1000 entries" "$(per "${apply_n[1000]}" 1000)" 30000
first=${sizes[0]} second=${sizes[1]:-} last=${sizes[-1]}
if [[ -n $second && $second != "$last" ]]; then
        # Above the smallest N: its count stands for the fixed cost.
        target "growth exponent of apply, $second .. $last" \
                "$(exponent "$second" "${apply_n[$second]}" "$last" "${apply_n[$last]}" "${apply_n[$first]}")" 1.05
        target "growth exponent of rollback, $second .. $last" \
                "$(exponent "$second" "${rollback_n[$second]}" "$last" "${rollback_n[$last]}" "${rollback_n[$first]}")" 1.05
        printf '  %-52s %9s\n' "(minimal writer, $second .. $last)" \
                "$(exponent "$second" "${writer_n[$second]}" "$last" "${writer_n[$last]}" "${writer_n[$first]}")"
fi
