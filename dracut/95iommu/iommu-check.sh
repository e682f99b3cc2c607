#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# initrd cmdline hook: does the running kernel command line carry the IOMMU profile's tokens? With
# [Boot] Enforce=yes a command line without them stops the boot before the root file system is
# mounted; otherwise it is a warning (and iommu-generator repairs the boot configuration later).
# "rd.iommuctl.enforce=0" turns enforcement off for one boot.

type getarg > /dev/null 2>&1 || . /lib/dracut-lib.sh

[ -r /etc/iommu/initrd-check.conf ] || return 0
. /etc/iommu/initrd-check.conf

# Parameter names treat '-' and '_' alike; the last occurrence of a key wins.
iommu_norm() {
    _k=${1%%=*}
    _v=
    [ "$_k" = "$1" ] || _v="=${1#*=}"
    printf '%s%s\n' "$(printf '%s' "$_k" | tr '-' '_')" "$_v"
}

iommu_missing=
for _want in $IOMMU_TOKENS; do
    _want=$(iommu_norm "$_want")
    _key=${_want%%=*}
    _last=
    for _have in $(cat /proc/cmdline); do
        _have=$(iommu_norm "$_have")
        [ "${_have%%=*}" = "$_key" ] && _last=$_have
    done
    [ "$_last" = "$_want" ] || iommu_missing="$iommu_missing $_want"
done

if [ -n "$iommu_missing" ]; then
    if [ "$IOMMU_ENFORCE" = yes ] && getargbool 1 rd.iommuctl.enforce; then
        warn "iommu: the kernel command line lacks the IOMMU profile's tokens:$iommu_missing"
        warn "iommu: [Boot] Enforce=yes in /etc/iommu/iommu.conf: refusing to mount the root file system."
        warn "iommu: add '$IOMMU_TOKENS' to the boot entry (or boot once with rd.iommuctl.enforce=0)."
        die "IOMMU command line does not match the profile (missing:$iommu_missing)"
    else
        warn "iommu: the kernel command line lacks the IOMMU profile's tokens:$iommu_missing (iommu-apply.service will fix the boot configuration)"
    fi
fi
unset iommu_missing _want _key _last _have _k _v
