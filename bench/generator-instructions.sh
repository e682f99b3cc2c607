#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Instructions executed by one run of iommu-generator (callgrind's "Collected" count), next to
# Debian 12's zram-generator and /bin/true measured the same way: three fresh output directories,
# valgrind --tool=callgrind. iommu-generator runs on a typical node root (a copy of
# tests/fixtures/generator/<case>/root with the shipped profiles installed under usr/lib/iommu, so the
# profile is found as on a real host); zram-generator and /bin/true on this machine's root.
#
# Issue 24's floors and targets, printed as ratios: bench/minimal-generator.c (reads
# proc/cmdline, iommu.conf and the profile, nothing else; with --config it also scans the kernel's
# build configuration), built as the generator is (static PIE where libc.a is there):
#   - in sync: at most 2x the minimal generator;
#   - in sync on a 224-thread /proc/cpuinfo (generated here from one real Xeon block, 460 KB):
#     within 10% of the 2-CPU figure;
#   - drift judged by the kernel model with the build configuration (reordered+config): at most
#     1.1x the minimal generator that scans the configuration;
#   - "iommuctl plan --check" on the same roots, printed next to the generator: with --quiet (how
#     scripts call it: only the exit status) it shares the generator's fast path where the line is
#     what apply writes; without it the whole plan is printed, so computed. Target: "-q plan
#     --check" in sync does at most 2x the generator's work in sync on top of iommuctl's own
#     start-up ("iommuctl --version"): the generator's decision plus the full profile loader's
#     lint, which plan's exit status depends on. With the build configuration the fast path still
#     reads it for an Intel or AMD line (a kernel built without the driver refuses the mode, exit
#     2): printed, not budgeted.
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

[[ -x $generator ]] || { echo "$generator is missing: build first" >&2; exit 2; }
[[ -x $zram ]] || { echo "zram-generator is missing (apt-get install systemd-zram-generator)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=valgrind.sh
. "$src/bench/valgrind.sh"

# instructions COMMAND...: runs COMMAND with three output directories under callgrind.
instructions() {
    export IOMMU_GENERATOR_ROOT
    local out=$tmp/out.$RANDOM n
    mkdir -p "$out"/{normal,early,late}
    # A clean environment, as systemd gives generators: no MALLOC_PERTURB_ (which meson test sets
    # and which makes every free() a memset), no locale, nothing from a package build.
    n=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin ${IOMMU_GENERATOR_ROOT:+IOMMU_GENERATOR_ROOT=$IOMMU_GENERATOR_ROOT} \
        "$VALGRIND" --tool=callgrind --callgrind-out-file=/dev/null "$@" "$out/normal" "$out/early" "$out/late" 2>&1 \
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
cases=(drifted in-sync in-sync+224cpu no-profile)
[[ -f $kernel_config ]] && cases+=(in-sync+config reordered+config reordered+config+224cpu)

root_for() {
    local r=$tmp/root-$1 base=${1%+224cpu} release
    base=${base%+config}
    [[ $base == reordered ]] && base=in-sync
    if [[ ! -d $r ]]; then
        cp -a "$src/tests/fixtures/generator/$base/root" "$r"
        mkdir -p "$r/usr/lib/iommu/profiles"
        cp "$src"/profiles/*.conf "$r/usr/lib/iommu/profiles/"
        [[ $1 == *+224cpu ]] && cpuinfo_224 > "$r/proc/cpuinfo"
        if [[ $1 == *+config* ]]; then
            release=${kernel_config##*/config-}
            mkdir -p "$r/proc/sys/kernel" "$r/boot"
            echo "$release" > "$r/proc/sys/kernel/osrelease"
            cp "$kernel_config" "$r/boot/config-$release"
        fi
        # Another writer's order: the same tokens, reversed; judged by the kernel model.
        [[ $1 == reordered+config* ]] && sed -i 's/intel_iommu=on iommu=pt/iommu=pt intel_iommu=on/' "$r/proc/cmdline"
    fi
    echo "$r"
}

# The floor, built like the generator (static PIE when the toolchain can).
floor=$tmp/minimal-generator
${CC:-cc} -O2 -static-pie -fPIE -o "$floor" "$src/bench/minimal-generator.c" 2> /dev/null ||
        ${CC:-cc} -O2 -fPIE -pie -o "$floor" "$src/bench/minimal-generator.c" || exit 2

# A 224-thread /proc/cpuinfo (2 x 56 cores x 2 threads, an HGX H100 node's Xeon Platinum 8480+):
# one real block's shape, numbered per thread; about 460 KB, generated, never committed.
cpuinfo_224() {
    local i
    for ((i = 0; i < 224; i++)); do
        cat <<CPU
processor	: $i
vendor_id	: GenuineIntel
cpu family	: 6
model		: 143
model name	: Intel(R) Xeon(R) Platinum 8480+
stepping	: 8
microcode	: 0x2b000590
cpu MHz		: 2000.000
cache size	: 107520 KB
physical id	: $((i / 112))
siblings	: 112
core id		: $((i % 56))
cpu cores	: 56
apicid		: $((i * 2 % 224))
initial apicid	: $((i * 2 % 224))
fpu		: yes
fpu_exception	: yes
cpuid level	: 32
wp		: yes
flags		: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf tsc_known_freq pni pclmulqdq dtes64 monitor ds_cpl vmx smx est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid dca sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch cpuid_fault epb cat_l3 cat_l2 cdp_l3 invpcid_single intel_ppin cdp_l2 ssbd mba ibrs ibpb stibp ibrs_enhanced tpr_shadow vnmi flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid cqm rdt_a avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb intel_pt avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local split_lock_detect avx_vnni avx512_bf16 wbnoinvd dtherm ida arat pln pts hwp hwp_act_window hwp_epp hwp_pkg_req avx512vbmi umip pku ospke waitpkg avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg tme avx512_vpopcntdq la57 rdpid bus_lock_detect cldemote movdiri movdir64b enqcmd fsrm md_clear serialize tsxldtrk pconfig arch_lbr ibt amx_bf16 avx512_fp16 amx_tile amx_int8 flush_l1d arch_capabilities
vmx flags	: vnmi preemption_timer posted_intr invvpid ept_x_only ept_ad ept_1gb flexpriority apicv tsc_offset vtpr mtf vapic ept vpid unrestricted_guest vapic_reg vid ple shadow_vmcs pml ept_mode_based_exec tsc_scaling usr_wait_pause notify_vm_exiting
bugs		: spectre_v1 spectre_v2 spec_store_bypass swapgs eibrs_pbrsb
bogomips	: 4000.00
clflush size	: 64
cache_alignment	: 64
address sizes	: 52 bits physical, 57 bits virtual
power management:

CPU
    done
}

true_n=$(instructions /bin/true)
zram_n=$(instructions "$zram")
printf '%-44s %12s %10s\n' "program" "instructions" "x /bin/true"
printf '%-44s %12d %10.2f\n' "/bin/true" "$true_n" 1
printf '%-44s %12d %10.2f\n' "zram-generator (Debian 12)" "$zram_n" "$(ratio "$zram_n" "$true_n")"

floor_n=$(IOMMU_GENERATOR_ROOT=$(root_for in-sync) instructions "$floor")
printf '%-44s %12d %10.2f\n' "minimal generator (in-sync root)" "$floor_n" "$(ratio "$floor_n" "$true_n")"
if [[ -f $kernel_config ]]; then
    floor_config_n=$(IOMMU_GENERATOR_ROOT=$(root_for reordered+config) instructions "$floor" --config)
    printf '%-44s %12d %10.2f\n' "minimal generator --config (reordered+config)" "$floor_config_n" "$(ratio "$floor_config_n" "$true_n")"
fi

# plan_check ROOT [OPTION...]: "iommuctl [OPTION...] plan --check" on the root (with -q: the fast
# path it shares with the generator).
plan_check() {
    local n
    n=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$VALGRIND" --tool=callgrind --callgrind-out-file=/dev/null \
        "$build/src/iommuctl" "${@:2}" plan --check --root "$1" 2>&1 > /dev/null |
        sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p')
    echo "${n:-0}"
}

fail=0
declare -A gen
for case in "${cases[@]}"; do
    r=$(root_for "$case")
    n=$(unset IOMMUCTL_PROFILES_PATH; IOMMU_GENERATOR_ROOT="$r" instructions "$generator")
    gen[$case]=$n
    verdict=ok
    if [[ $case == reordered+config* ]]; then
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
declare -A plan_q
if [[ -x $build/src/iommuctl ]]; then
    for case in in-sync in-sync+224cpu in-sync+config reordered+config; do
        [[ -n ${gen[$case]:-} ]] || continue
        n=$(plan_check "$(root_for "$case")")
        printf '%-44s %12d %10.2f\n' "iommuctl plan --check ($case root)" "$n" "$(ratio "$n" "$true_n")"
        n=$(plan_check "$(root_for "$case")" --quiet)
        plan_q[$case]=$n
        printf '%-44s %12d %10.2f\n' "iommuctl -q plan --check ($case root)" "$n" "$(ratio "$n" "$true_n")"
    done
    # iommuctl's own start-up (the dynamic loader, libc, libinih), which every verb pays.
    version_n=$(plan_check "$(root_for in-sync)" --version)
    printf '%-44s %12d %10.2f\n' "iommuctl --version" "$version_n" "$(ratio "$version_n" "$true_n")"
fi
echo
# target LABEL VALUE LIMIT: "LABEL VALUE (target <= LIMIT: met|NOT MET)".
target() {
    printf '%-60s %6s  (target <= %s: %s)\n' "$1" "$2" "$3" "$(awk -v a="$2" -v b="$3" 'BEGIN { print a + 0 <= b + 0 ? "met" : "NOT MET" }')"
}
echo "issue 24 targets:"
target "in sync / minimal generator" "$(ratio "${gen[in-sync]}" "$floor_n")x" 2
target "in sync, 224-thread cpuinfo / 2-CPU" "$(ratio "${gen[in-sync+224cpu]}" "${gen[in-sync]}")x" 1.10
if [[ -n ${floor_config_n:-} ]]; then
    target "drift with config (reordered+config) / minimal --config" "$(ratio "${gen[reordered+config]}" "$floor_config_n")x" 1.1
    target "the same, 224-thread cpuinfo / 2-CPU" "$(ratio "${gen[reordered+config+224cpu]}" "${gen[reordered+config]}")x" 1.10
fi
if [[ -n ${plan_q[in-sync]:-} ]]; then
    printf '%-60s %6s\n' "-q plan --check in sync / generator in sync" "$(ratio "${plan_q[in-sync]}" "${gen[in-sync]}")x"
    target "-q plan --check in sync less --version / generator in sync" \
        "$(ratio "$((plan_q[in-sync] - version_n))" "${gen[in-sync]}")x" 2
fi
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
