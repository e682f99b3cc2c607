#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Instructions executed by one run of iommu-generator (callgrind's "Collected" count), next to
# Debian 12's zram-generator and /bin/true measured the same way: three fresh output directories,
# valgrind --tool=callgrind. iommu-generator runs on a typical node root (a copy of
# tests/fixtures/generator/<case>/root with the shipped profiles installed under usr/lib/iommu, so the
# profile is found as on a real host); zram-generator and /bin/true on this machine's root.
#
# Usage: bench/generator-instructions.sh [BUILD_DIR] [--check] [--hardened]
#   --check: exit 1 when iommu-generator exceeds the budget in any case.
#   --hardened: also build the generator as Debian's package build does (dpkg-buildflags with
#     DEB_BUILD_MAINT_OPTIONS=hardening=+all: -O2, stack protector, -z relro -z now, PIE) into a
#     temporary build directory and measure that one too, next to issue 16's target: under
#     160 k instructions in sync (printed, not part of --check).
#
# Needs valgrind and systemd-zram-generator (.ci/packages.txt); --hardened also dpkg-dev.

set -euo pipefail

BUDGET=400000
HARDENED_TARGET=160000
src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build
check=no
hardened=no
for a in "$@"; do
    case $a in
        --check) check=yes ;;
        --hardened) hardened=yes ;;
        *) build=$a ;;
    esac
done
generator=$build/src/iommu-generator
zram=/lib/systemd/system-generators/zram-generator
[[ -x $zram ]] || zram=/usr/lib/systemd/system-generators/zram-generator

command -v valgrind > /dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 2; }
[[ -x $generator ]] || { echo "$generator is missing: build first" >&2; exit 2; }
[[ -x $zram ]] || { echo "zram-generator is missing (apt-get install systemd-zram-generator)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# instructions COMMAND...: runs COMMAND with three output directories under callgrind.
instructions() {
    export IOMMU_GENERATOR_ROOT
    local out=$tmp/out.$RANDOM n
    mkdir -p "$out"/{normal,early,late}
    # A clean environment, as systemd gives generators: no MALLOC_PERTURB_ (which meson test sets
    # and which makes every free() a memset), no locale, nothing from a package build.
    n=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin ${IOMMU_GENERATOR_ROOT:+IOMMU_GENERATOR_ROOT=$IOMMU_GENERATOR_ROOT} \
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" "$out/normal" "$out/early" "$out/late" 2>&1 \
        | sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p')
    rm -rf "$out"
    [[ -n $n ]] || { echo "callgrind did not report a count for $*" >&2; exit 2; }
    echo "$n"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# A real node also has the running kernel's release and its build configuration (Debian ships
# /boot/config-RELEASE, about 260 KB), which the kernel model reads when the line is not the one
# apply writes. KERNEL_CONFIG=FILE names one; by default the vm suite's cached Debian 12 kernel's.
kernel_config=${KERNEL_CONFIG:-$(ls "$src"/.vmcache/suites/bookworm/amd64/kernel/boot/config-* 2>/dev/null | head -n 1 || true)}
cases=(drifted in-sync no-profile)
[[ -f $kernel_config ]] && cases+=(in-sync+config reordered+config)

root_for() {
    local r=$tmp/root-$1 base=${1%+config} release
    [[ $base == reordered ]] && base=in-sync
    if [[ ! -d $r ]]; then
        cp -a "$src/tests/fixtures/generator/$base/root" "$r"
        mkdir -p "$r/usr/lib/iommu/profiles"
        cp "$src"/profiles/*.conf "$r/usr/lib/iommu/profiles/"
        if [[ $1 == *+config ]]; then
            release=${kernel_config##*/config-}
            mkdir -p "$r/proc/sys/kernel" "$r/boot"
            echo "$release" > "$r/proc/sys/kernel/osrelease"
            cp "$kernel_config" "$r/boot/config-$release"
        fi
        # Another writer's order: the same tokens, reversed; judged by the kernel model.
        [[ $1 == reordered+config ]] && sed -i 's/intel_iommu=on iommu=pt/iommu=pt intel_iommu=on/' "$r/proc/cmdline"
    fi
    echo "$r"
}

true_n=$(instructions /bin/true)
zram_n=$(instructions "$zram")
printf '%-44s %12s %10s\n' "program" "instructions" "x /bin/true"
printf '%-44s %12d %10.2f\n' "/bin/true" "$true_n" 1
printf '%-44s %12d %10.2f\n' "zram-generator (Debian 12)" "$zram_n" "$(ratio "$zram_n" "$true_n")"

fail=0
for case in "${cases[@]}"; do
    r=$(root_for "$case")
    n=$(unset IOMMUCTL_PROFILES_PATH; IOMMU_GENERATOR_ROOT="$r" instructions "$generator")
    verdict=ok
    if [[ $case == reordered+config ]]; then
        # Another writer's order makes the kernel model read the whole build configuration:
        # printed for the record, not held to the budget of a boot on the line apply writes.
        verdict="(kernel model; not budgeted)"
    elif ((n >= BUDGET || n >= zram_n || n > 4 * true_n)); then
        verdict="OVER BUDGET"
        fail=1
    fi
    printf '%-44s %12d %10.2f  %s\n' "iommu-generator ($case root)" "$n" "$(ratio "$n" "$true_n")" "$verdict"
done
echo "budget: under $BUDGET, under zram-generator, within 4x /bin/true"
[[ -f $kernel_config ]] && echo "+config: with ${kernel_config##*/} as the running kernel's build configuration" ||
    echo "(no kernel configuration found for the +config cases: set KERNEL_CONFIG=FILE)"

if [[ $hardened == yes ]]; then
    command -v dpkg-buildflags > /dev/null || { echo "dpkg-buildflags is missing (apt-get install dpkg-dev)" >&2; exit 2; }
    export DEB_BUILD_MAINT_OPTIONS=hardening=+all
    hb=$tmp/build-hardened
    CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
        meson setup "$hb" "$src" --buildtype=plain -Dwerror=false -Dtests=disabled > "$tmp/hardened.log" 2>&1 &&
        ninja -C "$hb" src/iommu-generator >> "$tmp/hardened.log" 2>&1 ||
        { cat "$tmp/hardened.log" >&2; echo "the hardened build failed" >&2; exit 2; }
    echo
    echo "with Debian's hardening flags: CFLAGS=$(dpkg-buildflags --get CFLAGS) LDFLAGS=$(dpkg-buildflags --get LDFLAGS)"
    for case in "${cases[@]}"; do
        r=$(root_for "$case")
        n=$(unset IOMMUCTL_PROFILES_PATH; IOMMU_GENERATOR_ROOT="$r" instructions "$hb/src/iommu-generator")
        note=
        [[ $case == in-sync ]] && note="(target under $HARDENED_TARGET: $( ((n < HARDENED_TARGET)) && echo ok || echo OVER))"
        printf '%-44s %12d %10.2f  %s\n' "iommu-generator, hardened ($case root)" "$n" "$(ratio "$n" "$true_n")" "$note"
    done
fi
[[ $check == yes ]] && exit $fail
exit 0
