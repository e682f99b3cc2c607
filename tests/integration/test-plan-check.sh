#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# "iommuctl -q plan --check" on the generator's fast path (issue 24): where the running line is
# exactly what apply writes, the exit status comes without the kernel model (drift_plan_in_sync());
# everywhere else the fast path declines and the full plan answers. Each root is judged twice: with
# --quiet (the fast path may answer) and without it (plan prints the whole plan, so it always
# computes it): the two exit statuses must be equal, and equal to the one expected here. The roots
# are the generator's in-sync fixture (tests/fixtures/generator/in-sync) with the shipped profiles
# installed, changed one thing at a time.
set -uo pipefail
IOMMUCTL=${1:?usage: test-plan-check.sh IOMMUCTL SOURCE_DIR}
src=${2:?usage: test-plan-check.sh IOMMUCTL SOURCE_DIR}
# The roots carry their profiles, as a node does.
unset IOMMUCTL_PROFILES_PATH
. "$(dirname "${BASH_SOURCE[0]}")/check-lib.sh"

release=6.1.0-57-amd64
# new_root NAME: a copy of the in-sync fixture with the shipped profiles.
new_root() {
        local r=$tmp/$1
        cp -a "$src/tests/fixtures/generator/in-sync/root" "$r"
        mkdir -p "$r/usr/lib/iommu/profiles" "$r/etc/iommu/profiles"
        cp "$src"/profiles/*.conf "$r/usr/lib/iommu/profiles/"
        echo "$r"
}
# with_config ROOT [CONFIG_LINE...]: the running release and a build configuration for it (a
# synthetic excerpt of Debian 12's: the IOMMU drivers built in unless lines are given).
with_config() {
        local r=$1
        shift
        mkdir -p "$r/proc/sys/kernel" "$r/boot"
        echo "$release" >"$r/proc/sys/kernel/osrelease"
        {
                echo "CONFIG_IOMMU_SUPPORT=y"
                if (($#)); then printf '%s\n' "$@"; else printf 'CONFIG_AMD_IOMMU=y\nCONFIG_INTEL_IOMMU=y\n'; fi
                echo "CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y"
                echo "CONFIG_IOMMU_DEFAULT_DMA_LAZY=y"
        } >"$r/boot/config-$release"
}
# same_status NAME EXPECTED ROOT [ARGS...]: -q plan --check and plan --check exit with EXPECTED.
same_status() {
        local name=$1 want=$2 root=$3 quiet full
        shift 3
        "$IOMMUCTL" -q plan --check --root "$root" "$@" >"$tmp/q.out" 2>"$tmp/q.err"
        quiet=$?
        "$IOMMUCTL" plan --check --root "$root" "$@" >"$tmp/f.out" 2>"$tmp/f.err"
        full=$?
        if [ "$quiet" = "$full" ] && [ "$quiet" = "$want" ]; then
                ok "$name: -q plan --check and plan --check exit $want"
        else
                not_ok "$name: -q plan --check exit $quiet, plan --check exit $full, wanted $want; $(cat "$tmp/q.err" "$tmp/f.err")"
        fi
        [ -s "$tmp/q.out" ] && not_ok "$name: -q plan --check printed: $(cat "$tmp/q.out")"
        [ "$quiet" = 2 ] || [ ! -s "$tmp/q.err" ] || not_ok "$name: -q plan --check logged: $(cat "$tmp/q.err")"
}

# Where the fast path answers.
r=$(new_root in-sync)
same_status "in sync" 0 "$r"
r=$(new_root in-sync-config)
with_config "$r"
same_status "in sync, with the build configuration" 0 "$r"
same_status "in sync, --cmdline" 0 "$r" --cmdline "root=/dev/sda1 intel_iommu=on iommu=pt"
same_status "portable, in sync" 0 "$r" --vendor portable

# Where it must decline, and the full plan answers.
r=$(new_root drifted)
sed -i 's/iommu=pt/iommu=strict/' "$r/proc/cmdline"
same_status "drifted" 1 "$r"
r=$(new_root reordered)
with_config "$r"
sed -i 's/intel_iommu=on iommu=pt/iommu=pt intel_iommu=on/' "$r/proc/cmdline"
same_status "another writer's order (judged by the model)" 0 "$r"
# A build without the vendor's driver: the full plan refuses Mode=passthrough on it, whatever the
# line says (intent_conflicts() "no-driver"), so the fast path reads the configuration and declines.
r=$(new_root no-driver)
with_config "$r" "CONFIG_AMD_IOMMU=y" "# CONFIG_INTEL_IOMMU is not set"
same_status "in sync, kernel built without CONFIG_INTEL_IOMMU" 2 "$r"
r=$(new_root unterminated)
echo 'BOOT_IMAGE=/vmlinuz root=UUID=1b2c ro quiet intel_iommu=on iommu=pt foo="bar' >"$r/proc/cmdline"
same_status "in sync, with an unterminated quote" 2 "$r"
r=$(new_root platform-override)
printf '[Platform]\nSEVSNP=maybe\n' >"$r/etc/iommu/platform.conf"
same_status "in sync, broken platform.conf" 2 "$r"
# A profile whose own line the full loader's lint refuses (it gives identity domains, not strict).
r=$(new_root lint)
printf '[Profile]\nMode=strict\n[KernelArgs]\nIntel=intel_iommu=on iommu=pt\n' >"$r/etc/iommu/profiles/lint-bad.conf"
same_status "line of a profile the lint refuses" 2 "$r" --profile lint-bad
# A profile with only its Mode: the model's tokens depend on the release (intel_iommu=on,strict
# before 5.15); the line the newest kernel gets is not what apply writes for 5.10.
r=$(new_root mode-only)
printf '[Profile]\nMode=strict\n' >"$r/etc/iommu/profiles/strict-only.conf"
mkdir -p "$r/proc/sys/kernel"
echo 5.10.0-30-amd64 >"$r/proc/sys/kernel/osrelease"
echo "BOOT_IMAGE=/vmlinuz root=UUID=1b2c ro $("$IOMMUCTL" cmdline --root "$r" --profile strict-only --kernel 6.12.0-1-amd64)" \
        >"$r/proc/cmdline"
same_status "Mode= only, newest kernel's tokens on 5.10" 1 "$r" --profile strict-only
same_status "Mode= only, --kernel 6.12" 0 "$r" --profile strict-only --kernel 6.12.0-1-amd64
r=$(new_root no-profile)
same_status "no such profile" 2 "$r" --profile no-such-profile

# The fast path does not read the build configuration where no conflict could refuse the mode on
# it (Portable: no vendor driver to miss), and the full plan does.
if command -v strace >/dev/null; then
        r=$tmp/in-sync-config
        # LeakSanitizer cannot run under ptrace (the ASan build of the tests).
        asan=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
        ASAN_OPTIONS=$asan strace -f -qq -e trace=openat,openat2,open -o "$tmp/strace.q" "$IOMMUCTL" -q plan --check --root "$r" --vendor portable
        rc=$?
        [ $rc = 0 ] && ok "strace: -q plan --check --vendor portable exit 0" || not_ok "strace: -q plan --check --vendor portable exit $rc"
        if grep -q "config-$release" "$tmp/strace.q"; then
                not_ok "the fast path opened the build configuration: $(grep "config-$release" "$tmp/strace.q")"
        else
                ok "the fast path does not open boot/config-$release"
        fi
        ASAN_OPTIONS=$asan strace -f -qq -e trace=openat,openat2,open -o "$tmp/strace.f" "$IOMMUCTL" plan --check --root "$r" --vendor portable >/dev/null
        grep -q "config-$release" "$tmp/strace.f" && ok "the full plan opens boot/config-$release" ||
                not_ok "the full plan did not open boot/config-$release (the check above proves nothing)"
else
        echo "strace is missing (.ci/packages.txt): only the checks below tell"
fi
# A configuration that names no IOMMU driver refuses Mode=passthrough on Intel and AMD, not on
# Portable (whose line is for both), where the fast path never reads it.
r=$(new_root portable-no-driver)
with_config "$r" "# CONFIG_AMD_IOMMU is not set" "# CONFIG_INTEL_IOMMU is not set"
same_status "portable, kernel without IOMMU drivers" 0 "$r" --vendor portable
same_status "intel, kernel without IOMMU drivers" 2 "$r" --vendor intel

# Every captured host tree (tests/fixtures/hosts) with the profiles it was captured and verified
# for (its expected/verify-PROFILE.json): the same status with --quiet as without. The fast path
# only ever answers "in sync", so an exit 1 with --quiet is the full plan's own.
pairs=0 differ=0 in_sync=0
for h in "$src"/tests/fixtures/hosts/*; do
        for e in "$h"/expected/verify-*.json; do
                [ -f "$e" ] || continue
                p=${e##*/verify-}
                p=${p%.json}
                [ -f "$src/profiles/$p.conf" ] || continue
                IOMMUCTL_PROFILES_PATH=$src/profiles "$IOMMUCTL" -q plan --check --root "$h/root" --profile "$p" >/dev/null 2>&1
                quiet=$?
                pairs=$((pairs + 1))
                [ "$quiet" = 1 ] && continue
                [ "$quiet" = 0 ] && in_sync=$((in_sync + 1))
                IOMMUCTL_PROFILES_PATH=$src/profiles "$IOMMUCTL" plan --check --root "$h/root" --profile "$p" >/dev/null 2>&1
                full=$?
                if [ "$quiet" != "$full" ]; then
                        differ=$((differ + 1))
                        not_ok "${h##*/} --profile $p: -q plan --check exit $quiet, plan --check exit $full"
                fi
        done
done
[ "$in_sync" -gt 0 ] && [ "$differ" = 0 ] &&
        ok "host fixtures: the same status with and without --quiet for $pairs tree and profile pairs ($in_sync in sync)"

check_done
