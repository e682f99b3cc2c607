#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sources shell-completion/bash/iommuctl and drives _iommuctl through COMP_WORDS/COMP_CWORD as
# bash does, comparing COMPREPLY with what each case expects.
#
#   tests/completion/test-bash-completion.sh SRCDIR

set -u
src=${1:?usage: $0 SRCDIR}
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
        got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | xargs)
        if [[ $got == "$expected" ]]; then
                passed=$((passed + 1))
        else
                printf 'FAIL: [%s]\n  expected: %s\n  got:      %s\n' "$*" "$expected" "$got"
                failed=$((failed + 1))
        fi
}

check "apply cmdline export groups lint plan profiles rollback verify" iommuctl ""
check "plan profiles" iommuctl p
check "plan" iommuctl --json pl
check "bare-metal generic gpu-sriov strict" iommuctl --profile ""
check "gpu-sriov" iommuctl plan -p gp
# "--profile=x" arrives split at '=' (COMP_WORDBREAKS)
check "gpu-sriov" iommuctl plan --profile = gp
check "bare-metal generic gpu-sriov site-gpu strict" iommuctl --root "$tmp/root" --profile ""
check "site-gpu" iommuctl --root = "$tmp/root" apply --profile = si
check "amd arm64 intel portable" iommuctl --vendor ""
check "x86_64" iommuctl lint --arch x
check "--check" iommuctl plan --ch
check "--full" iommuctl cmdline --fu
check "--dry-run" iommuctl rollback --d
check "--no-journal" iommuctl verify --no-
check "--no-bootloader-update" iommuctl apply --no-
check "bls,grub" iommuctl apply --backend bls,g
check "all default" iommuctl apply --entries ""
check "bootc dracut kernel-cmdline machineconfig" iommuctl export ""
# the profile option's value is not taken for the verb
check "bootc dracut kernel-cmdline machineconfig" iommuctl -p strict export ""
check "set-type" iommuctl groups ""
check "0 7" iommuctl --root "$tmp/root" groups set-type ""
check "DMA DMA-FQ" iommuctl groups set-type 7 D
check "" iommuctl groups set-type 7 DMA ""

echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $passed -gt 0 ]]
