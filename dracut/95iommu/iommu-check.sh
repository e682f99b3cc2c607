#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# initrd cmdline hook: does the running kernel command line do what the IOMMU profile asks? With
# [Boot] Enforce=yes a command line that does not stops the boot before the root file system is
# mounted; otherwise it is a warning (and iommu-generator repairs the boot configuration later).
# "rd.iommuctl.enforce=0" turns enforcement off for one boot.
#
# The decision is iommuctl's own ("plan --check", which judges by the kernel's behaviour, as verify,
# apply and the generator do): this hook never compares tokens itself, so it cannot disagree with
# them (a shell copy accepted "intel_iommu=on iommu=pt iommu.passthrough=0", which boots translated).

type getarg > /dev/null 2>&1 || . /lib/dracut-lib.sh

[ -r /etc/iommu/initrd-check.conf ] || return 0
. /etc/iommu/initrd-check.conf

iommu_cmdline=$(cat /proc/cmdline)
iommu_plan=$(iommuctl -q plan --check --profile "$IOMMU_PROFILE" ${IOMMU_VENDOR:+--vendor "$IOMMU_VENDOR"} \
    --cmdline "$iommu_cmdline" 2>&1)
iommu_rc=$?

if [ "$iommu_rc" = 1 ]; then
    if [ "$IOMMU_ENFORCE" = yes ] && getargbool 1 rd.iommuctl.enforce; then
        warn "iommu: the kernel command line does not do what the IOMMU profile $IOMMU_PROFILE asks ('$IOMMU_TOKENS'):"
        printf '%s\n' "$iommu_plan" | while IFS= read -r _l; do warn "iommu: $_l"; done
        warn "iommu: [Boot] Enforce=yes in /etc/iommu/iommu.conf: refusing to mount the root file system."
        warn "iommu: add '$IOMMU_TOKENS' to the boot entry (or boot once with rd.iommuctl.enforce=0)."
        die "IOMMU command line does not match the profile (wanted: $IOMMU_TOKENS)"
    else
        warn "iommu: the kernel command line does not do what the IOMMU profile asks ('$IOMMU_TOKENS'); iommu-apply.service will fix the boot configuration"
    fi
elif [ "$iommu_rc" != 0 ]; then
    # Could not decide (no iommuctl, a broken profile): say so, never stop the boot on a guess.
    warn "iommu: cannot check the kernel command line (iommuctl plan --check: exit $iommu_rc): $iommu_plan"
fi
unset iommu_cmdline iommu_plan iommu_rc _l
