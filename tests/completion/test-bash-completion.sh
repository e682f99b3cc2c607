#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sources shell-completion/bash/iommuctl and drives _iommuctl through COMP_WORDS/COMP_CWORD as
# bash does, comparing COMPREPLY with what each case expects.
#
#   tests/completion/test-bash-completion.sh SRCDIR IOMMUCTL
#
# With IOMMUCTL (the built binary), also checks that every verb and every option its --help
# lists is offered, under the verbs the help names for it.

set -u
src=${1:?usage: $0 SRCDIR IOMMUCTL}
iommuctl=${2:?usage: $0 SRCDIR IOMMUCTL}
script=$src/shell-completion/bash/iommuctl
failed=0 passed=0

# shellcheck source=shell-completion/bash/iommuctl
. "$script" || { echo "FAIL: cannot source $script"; exit 1; }
complete -p iommuctl >/dev/null 2>&1 || { echo "FAIL: no 'complete' registration for iommuctl"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A fake root: one admin profile and two IOMMU groups.
mkdir -p "$tmp/root/etc/iommu/profiles" "$tmp/root/sys/kernel/iommu_groups/0" "$tmp/root/sys/kernel/iommu_groups/7"
echo '[Profile]' >"$tmp/root/etc/iommu/profiles/site-gpu.conf"
export IOMMUCTL_PROFILES_PATH=$src/profiles

# check EXPECTED WORD... : the last WORD is the one being completed.
check() {
        local expected=$1 got
        shift
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        COMPREPLY=()
        _iommuctl iommuctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd ' ')
        if [[ $got == "$expected" ]]; then
                passed=$((passed + 1))
        else
                printf 'FAIL: [%s]\n  expected: %s\n  got:      %s\n' "$*" "$expected" "$got"
                failed=$((failed + 1))
        fi
}

check "apply cmdline config export groups history lint plan profiles recommend rollback status undo verify" iommuctl ""
check "recommend rollback" iommuctl r
check "undo" iommuctl u
check "history" iommuctl hi
check "--json" iommuctl recommend --j
check "plan profiles" iommuctl p
check "plan" iommuctl --json pl
check "bare-metal generic gpu-sriov lazy strict" iommuctl --profile ""
check "gpu-sriov" iommuctl plan -p gp
# "--profile=x" arrives split at '=' (COMP_WORDBREAKS)
check "gpu-sriov" iommuctl plan --profile = gp
check "bare-metal generic gpu-sriov lazy site-gpu strict" iommuctl --root "$tmp/root" --profile ""
check "site-gpu" iommuctl --root = "$tmp/root" apply --profile = si
check "amd arm64 intel portable" iommuctl --vendor ""
check "x86_64" iommuctl lint --arch x
# lint takes other tools' files too (MachineConfig YAML, Ignition JSON, bootc TOML): file names.
mkdir -p "$tmp/kargs" && touch "$tmp/kargs/99-mc.yaml" "$tmp/kargs/10-iommu.toml" "$tmp/kargs/kargs.ign"
check "$tmp/kargs/10-iommu.toml $tmp/kargs/99-mc.yaml $tmp/kargs/kargs.ign" iommuctl lint "$tmp/kargs/"
check "--check" iommuctl plan --ch
check "--check" iommuctl status --ch
check "status" iommuctl --root /tmp st
check "gpu-sriov" iommuctl status --profile gpu
check "--full" iommuctl cmdline --fu
check "--dry-run" iommuctl rollback --d
check "--dry-run" iommuctl undo --d
check "--publish" iommuctl verify --pu
check "--if-armed" iommuctl apply --if
check "--no-journal --no-legend --no-pager" iommuctl verify --no-
check "--no-bootloader-update --no-legend --no-pager" iommuctl apply --no-
check "bls,grub" iommuctl apply --backend bls,g
check "all default" iommuctl apply --entries ""
check "bootc butane dracut kernel-cmdline machineconfig talos" iommuctl export ""
# the profile option's value is not taken for the verb
check "bootc butane dracut kernel-cmdline machineconfig talos" iommuctl -p strict export ""
check "set-type" iommuctl groups ""
check "0 7" iommuctl --root "$tmp/root" groups set-type ""
check "DMA DMA-FQ" iommuctl groups set-type 7 D
check "" iommuctl groups set-type 7 DMA ""
check "--no-bootloader-update --no-legend --no-pager" iommuctl rollback --no-
check "--reboot" iommuctl apply --reb
check "config no yes" iommuctl apply --reboot = ""
check "site-gpu" iommuctl --root "$tmp/root" apply --reboot config --profile si
check "--kernel --kernel-log" iommuctl verify --k
check "--journal-fields-to --json" iommuctl verify --j
# a file name after --kernel-log, and its value is not taken for an argument
touch "$tmp/dmesg.txt"
check "$tmp/dmesg.txt" iommuctl verify --kernel-log "$tmp/dm"
check "$tmp/dmesg.txt" iommuctl verify --kernel-log = "$tmp/dm"
check "--no-journal" iommuctl verify --kernel-log "$tmp/dmesg.txt" --no-j

# config's keys: exactly those "iommuctl config" prints (it reads no file for the defaults).
mkdir -p "$tmp/empty"
config_keys=$("$iommuctl" --root "$tmp/empty" config --no-legend | cut -d= -f1 | sort | xargs)
[[ $(wc -w <<<"$config_keys") -ge 13 ]] || { echo "FAIL: config printed: $config_keys"; failed=$((failed + 1)); }
check "$config_keys" iommuctl config ""
check "IOMMU.Profile IOMMU.Vendor" iommuctl config I
check "Publish.PrometheusPath" iommuctl --root / config IOMMU.Profile Publish.PrometheusP

# Everything --help lists. Verbs: the lines under "Verbs:". Options: each "--name" that starts a
# line of the options list; "plan: ..." or "apply, rollback: ..." after it names the verbs it is
# for, otherwise it is global and must be offered before any verb.
help=$("$iommuctl" --help) || { echo "FAIL: $iommuctl --help"; exit 1; }
help_verbs=$(awk '/^Verbs:/ { v = 1; next } /^$/ { v = 0 } v { print $1 }' <<<"$help" | sort | xargs)
[[ -n $help_verbs ]] || { echo "FAIL: no verbs in $iommuctl --help"; exit 1; }
check "$help_verbs" iommuctl ""
n_opts=0
while read -r opt rest; do
        [[ $opt == --* ]] || continue
        opt=${opt%%=*}
        n_opts=$((n_opts + 1))
        # "--journal-fields-to=FILE" has its description on the next line; the verbs come first there
        [[ -z $rest ]] && read -r rest
        for_verbs=$(sed -nE 's/^(([a-z-]+, )*[a-z-]+)( [a-z-]+)*: .*/\1/p' <<<"$rest" | tr -d ,)
        if [[ -z $for_verbs ]]; then
                check "$opt" iommuctl "$opt"
        else
                for v in $for_verbs; do
                        check "$opt" iommuctl "$v" "$opt"
                done
        fi
done < <(sed -n '/^Options:/,/^$/p' <<<"$help" | sed -E 's/^ *(-[a-zA-Z] )?//')
[[ $n_opts -ge 19 ]] || { echo "FAIL: only $n_opts options found in $iommuctl --help"; failed=$((failed + 1)); }

echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
