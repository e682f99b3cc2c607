#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every export format, for every shipped profile and vendor, read back by a real parser (PyYAML for
# the MachineConfig, Butane config and Talos schematic, Python's tomllib for bootc, bash for the
# dracut line) must carry exactly the tokens "iommuctl cmdline" prints for the same profile and
# vendor; what Butane and Talos remove never holds one of them.
#
#   test-export.sh IOMMUCTL PYTHON3 PARSE-EXPORT.PY PROFILES-DIR
set -eu -o pipefail

iommuctl=$1 python3=$2 parser=$3 profiles=$4
export IOMMUCTL_PROFILES_PATH=$profiles

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# An empty root: no iommu.conf, no firmware tables, nothing of this machine's.
root=$work/root
mkdir -p "$root"
ctl() { "$iommuctl" --root "$root" "$@"; }

failures=0 checked=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

"$python3" -c 'import yaml, tomllib' || { echo "python3 needs PyYAML (python3-yaml) and tomllib (3.11)" >&2; exit 1; }

same() { # what expected-file actual-file
        if ! cmp -s "$2" "$3"; then
                fail "$1: tokens differ"; diff -u "$2" "$3" >&2 || true
        fi
}

for profile in $(ls "$profiles"/*.conf | xargs -n1 basename | sed 's/\.conf$//'); do
        for vendor in intel amd arm64 portable; do
                case $vendor in arm64) arch=aarch64 ;; *) arch=x86_64 ;; esac
                what="$profile/$vendor"

                if ! ctl cmdline --profile "$profile" --vendor "$vendor" >"$work/line" 2>/dev/null; then
                        # No tokens for this vendor: every export must refuse too.
                        for format in bootc butane talos dracut kernel-cmdline; do
                                ctl export $format --profile "$profile" --vendor "$vendor" >/dev/null 2>&1 && \
                                        fail "$what: export $format succeeded where cmdline fails"
                        done
                        continue
                fi
                tr ' ' '\n' <"$work/line" | sed '/^$/d' >"$work/want"

                ctl export machineconfig --profile "$profile" --vendor "$vendor" --role gpu-worker >"$work/mc.yaml"
                "$python3" "$parser" machineconfig "$work/mc.yaml" gpu-worker "99-gpu-worker-iommu-$profile-$vendor" \
                        >"$work/got" || fail "$what: MachineConfig does not parse as expected"
                same "$what machineconfig" "$work/want" "$work/got"

                ctl export bootc --profile "$profile" --vendor "$vendor" >"$work/kargs.toml"
                if [ "$vendor" = portable ]; then
                        # One file per architecture, each headed by the path it belongs at.
                        rm -f "$work"/split-*
                        awk -v d="$work" '/^# \/usr\/lib\/bootc\/kargs.d\// { n++; f = d "/split-" n; print substr($2, 1) >(d "/split-" n ".path") }
                                          { print >f }' "$work/kargs.toml"
                        [ "$(cat "$work/split-1.path")" = /usr/lib/bootc/kargs.d/50-iommuctl-x86_64.toml ] \
                                || fail "$what: first bootc file is not the x86_64 one"
                        cp "$work/split-1" "$work/kargs.toml"
                        if ctl cmdline --profile "$profile" --vendor arm64 >"$work/arm-line" 2>/dev/null; then
                                [ "$(cat "$work/split-2.path")" = /usr/lib/bootc/kargs.d/50-iommuctl-aarch64.toml ] \
                                        || fail "$what: second bootc file is not the aarch64 one"
                                "$python3" "$parser" bootc "$work/split-2" aarch64 >"$work/got" \
                                        || fail "$what: aarch64 kargs.d file does not parse as expected"
                                tr ' ' '\n' <"$work/arm-line" | sed '/^$/d' | cmp -s - "$work/got" \
                                        || fail "$what: aarch64 kargs.d tokens differ"
                        else
                                [ ! -e "$work/split-2" ] || fail "$what: an aarch64 file without arm64 tokens"
                        fi
                fi
                "$python3" "$parser" bootc "$work/kargs.toml" "$arch" >"$work/got" || \
                        fail "$what: bootc kargs.d file does not parse as expected"
                same "$what bootc" "$work/want" "$work/got"

                # Butane and Talos are parsed in one batch after the loop.
                d=$work/yaml/$profile-$vendor
                mkdir -p "$d"
                cp "$work/want" "$d/want"
                for format in butane talos; do
                        ctl export $format --profile "$profile" --vendor "$vendor" >"$d/$format.yaml"
                        echo "$format $d/$format.yaml $d/removed-$format $d/got-$format" >>"$work/manifest"
                done

                ctl export dracut --profile "$profile" --vendor "$vendor" >"$work/dracut.conf"
                # dracut sources its conf files with bash.
                bash -c 'kernel_cmdline=""; . "$1"; printf "%s\n" $kernel_cmdline' _ "$work/dracut.conf" >"$work/got"
                same "$what dracut" "$work/want" "$work/got"
                # Appending to what other drop-ins set must keep both.
                bash -c 'kernel_cmdline="quiet"; . "$1"; echo "$kernel_cmdline"' _ "$work/dracut.conf" | \
                        grep -q "^quiet $(cat "$work/line") $" || fail "$what: dracut line does not append"

                # A whole /etc/kernel/cmdline: the rest of the line kept, the profile's tokens added.
                ctl export kernel-cmdline --profile "$profile" --vendor "$vendor" \
                        --cmdline "BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet" >"$work/got" 2>/dev/null
                echo "root=UUID=x ro quiet $(cat "$work/line")" | cmp -s - "$work/got" \
                        || fail "$what: kernel-cmdline is not the merged line: $(cat "$work/got")"
                checked=$((checked + 1))
        done
done

# The acceptance case, spelled out.
ctl export machineconfig --profile gpu-sriov --role gpu-worker --vendor intel >"$work/mc.yaml"
"$python3" "$parser" machineconfig "$work/mc.yaml" gpu-worker 99-gpu-worker-iommu-gpu-sriov-intel >"$work/got"
printf 'intel_iommu=on\niommu=pt\n' | cmp -s - "$work/got" || fail "gpu-sriov/intel MachineConfig kernelArguments"

"$python3" "$parser" batch "$work/manifest" || fail "the batch parse failed"
for d in "$work"/yaml/*; do
        what=${d##*/}
        for format in butane talos; do
                grep -q '^FAIL' "$d/got-$format" && fail "$what: $format export does not parse as expected: $(cat "$d/got-$format")"
                same "$what $format" "$d/want" "$d/got-$format"
                # Never one of the profile's own tokens, under any spelling the kernel reads alike.
                while read -r t; do
                        grep -qxF -- "$(echo "$t" | tr - _)" <(tr - _ <"$d/want") \
                                && fail "$what: $format removes $t, a spelling of its own token"
                done <"$d/removed-$format"
        done
        # Both say the same about what goes.
        cmp -s "$d/removed-butane" "$d/removed-talos" || fail "$what: butane and talos remove different tokens"
done
[ "$(ls "$work/yaml" | wc -l)" = "$checked" ] || fail "not every pair's Butane and Talos exports were parsed"

# The issue's acceptance: Butane for gpu-sriov on AMD removes amd_iommu=on (the AMD driver refuses
# it), and the other spellings that undo the profile.
ctl export butane --profile gpu-sriov --vendor amd >"$work/b.bu"
"$python3" "$parser" butane "$work/b.bu" "$work/removed" >"$work/got" || fail "gpu-sriov/amd Butane does not parse"
echo iommu=pt | cmp -s - "$work/got" || fail "gpu-sriov/amd Butane should_exist: $(cat "$work/got")"
for t in amd_iommu=on iommu=strict iommu=on iommu=off amd_iommu=off iommu.passthrough=0; do
        grep -qxF "$t" "$work/removed" || fail "gpu-sriov/amd Butane should_not_exist lacks $t: $(cat "$work/removed")"
done
grep -qxF intel_iommu=off "$work/removed" && fail "gpu-sriov/amd Butane removes intel_iommu=off, which AMD never reads"
# Intel: the profile wants VT-d on, so intel_iommu=off goes.
ctl export butane --profile gpu-sriov --vendor intel >"$work/b.bu"
"$python3" "$parser" butane "$work/b.bu" "$work/removed" >/dev/null
grep -qxF intel_iommu=off "$work/removed" || fail "gpu-sriov/intel Butane keeps intel_iommu=off"
# The other profiles' tokens that undo this one: strict removes the passthrough and lazy spellings.
ctl export talos --profile strict --vendor portable >"$work/t.yaml"
"$python3" "$parser" talos "$work/t.yaml" "$work/removed" >/dev/null || fail "strict/portable schematic does not parse"
for t in iommu=pt iommu.strict=0 intel_iommu=off amd_iommu=off; do
        grep -qxF "$t" "$work/removed" || fail "strict/portable schematic does not remove $t: $(cat "$work/removed")"
done

# Quoting: ':' and ',' are YAML and TOML syntax outside quotes; every format keeps such a token one
# string. Unsafe characters ('#', '"') never reach a file: the profile is refused.
mkdir -p "$work/profiles"
printf '[Profile]\nMode=passthrough\n[KernelArgs]\nAMD=iommu=pt ip=:::::eth0:dhcp console=ttyS0,115200n8\n' \
        >"$work/profiles/quoted.conf"
printf 'iommu=pt\nip=:::::eth0:dhcp\nconsole=ttyS0,115200n8\n' >"$work/want"
for format in butane talos; do
        IOMMUCTL_PROFILES_PATH=$work/profiles:$profiles ctl export $format --profile quoted --vendor amd >"$work/q.yaml" \
                && "$python3" "$parser" $format "$work/q.yaml" "$work/removed" >"$work/got" \
                && same "quoted $format" "$work/want" "$work/got" || fail "quoted tokens in $format"
done
IOMMUCTL_PROFILES_PATH=$work/profiles:$profiles ctl export bootc --profile quoted --vendor amd >"$work/q.toml" \
        && "$python3" "$parser" bootc "$work/q.toml" x86_64 >"$work/got" && same "quoted bootc" "$work/want" "$work/got" \
        || fail "quoted tokens in bootc"
printf '[Profile]\nMode=passthrough\n[KernelArgs]\nAMD=iommu=pt a#b\n' >"$work/profiles/hash.conf"
rc=0; IOMMUCTL_PROFILES_PATH=$work/profiles:$profiles ctl export butane --profile hash --vendor amd >"$work/got" 2>/dev/null || rc=$?
[ "$rc" = 2 ] && [ ! -s "$work/got" ] || fail "a token with '#' exported: exit $rc, $(cat "$work/got")"

# No vendor to detect in an empty root: the message says what to pass, portable included.
if ctl export bootc --profile gpu-sriov >/dev/null 2>"$work/err"; then
        fail "export without a detectable vendor succeeded"
fi
grep -q -- '--vendor portable' "$work/err" || fail "no-vendor message does not suggest --vendor portable: $(cat "$work/err")"

# Images and node pools never get the build host's vendor: without --vendor or Vendor=, refuse.
for format in bootc machineconfig butane talos; do
        role=; [ $format = machineconfig ] && role="--role worker"
        rc=0; "$iommuctl" export $format --profile gpu-sriov $role >/dev/null 2>"$work/err" || rc=$?
        [ "$rc" = 2 ] && grep -q -- '--vendor portable' "$work/err" \
                || fail "export $format without --vendor on the build host: exit $rc: $(cat "$work/err")"
done
mkdir -p "$work/img/etc/iommu"
printf '[IOMMU]\nVendor=portable\n' >"$work/img/etc/iommu/iommu.conf"
"$iommuctl" --root "$work/img" export bootc --profile gpu-sriov >"$work/kargs.toml" \
        && grep -q 'portable kernel arguments' "$work/kargs.toml" \
        || fail "export bootc with Vendor=portable in the image: $(cat "$work/kargs.toml")"

# export kernel-cmdline: the root's own line, never the tokens alone.
mkdir -p "$work/kc/etc/kernel" "$work/kc/proc"
echo "root=/dev/vda2 ro console=ttyS0 intel_iommu=off" >"$work/kc/etc/kernel/cmdline"
echo "BOOT_IMAGE=/vmlinuz root=/dev/other ro" >"$work/kc/proc/cmdline"
got=$("$iommuctl" --root "$work/kc" export kernel-cmdline --profile gpu-sriov --vendor intel 2>/dev/null)
[ "$got" = "root=/dev/vda2 ro console=ttyS0 intel_iommu=on iommu=pt" ] || fail "kernel-cmdline from /etc/kernel/cmdline: $got"
rm "$work/kc/etc/kernel/cmdline"
got=$("$iommuctl" --root "$work/kc" export kernel-cmdline --profile gpu-sriov --vendor intel 2>/dev/null)
[ "$got" = "root=/dev/other ro intel_iommu=on iommu=pt" ] || fail "kernel-cmdline from /proc/cmdline: $got"
rc=0; ctl export kernel-cmdline --profile gpu-sriov --vendor intel >"$work/got" 2>"$work/err" || rc=$?
[ "$rc" = 2 ] && [ ! -s "$work/got" ] && grep -q 'root=' "$work/err" \
        || fail "kernel-cmdline with nothing to merge with: exit $rc, out $(cat "$work/got"), err $(cat "$work/err")"

# Usage errors exit 2.
expect_rc() { # rc args...
        local want=$1 rc=0; shift
        ctl "$@" >/dev/null 2>&1 || rc=$?
        [ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want"
}
expect_rc 2 export machineconfig --profile gpu-sriov --vendor intel
expect_rc 2 export machineconfig --profile gpu-sriov --vendor intel --role GPU_Worker
expect_rc 2 export bootc --profile gpu-sriov --vendor intel --role worker
expect_rc 2 export yaml --profile gpu-sriov --vendor intel
expect_rc 2 export --profile gpu-sriov --vendor intel
expect_rc 2 export bootc --profile no-such-profile --vendor intel

[ "$checked" -ge 12 ] || fail "only $checked profile/vendor pairs checked"
echo "$checked profile/vendor pairs exported in 6 formats and parsed back; $failures failures"
[ "$failures" = 0 ]
