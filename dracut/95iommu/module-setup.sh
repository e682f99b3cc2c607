#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# dracut module: the IOMMU tokens of the profile in /etc/iommu/iommu.conf end up in the command line
# a UKI embeds (dracut --uefi), and the initrd checks the running command line for them.
#
# dracut 059 builds a UKI's .cmdline from $kernel_cmdline when that is set, and otherwise, with
# hostonly_cmdline=yes, from the initramfs's etc/cmdline.d/*.conf: install() feeds both.

# The tree dracut builds from; IOMMU_ROOT overrides it (tests).
iommu_root() {
    echo "${IOMMU_ROOT:-${dracutsysrootdir:-/}}"
}

iommu_ctl() {
    iommuctl --root "$(iommu_root)" "$@"
}

# The value of SECTION.KEY in iommu.conf and its drop-ins, as iommuctl itself reads them.
iommu_conf_get() {
    iommu_ctl -q config "$1.$2"
}

# Included whenever iommuctl is installed and a profile is configured; install() adds nothing
# until that profile is applied on the node.
check() {
    require_binaries iommuctl || return 1
    iommu_ctl -q profiles --selected > /dev/null || return 255
    return 0
}

depends() {
    return 0
}

# For "dracut --print-cmdline".
cmdline() {
    iommu_ctl -q cmdline
}

install() {
    local _tokens _merged _enforce _profile _vendor

    # Only a profile applied on this node (or [Apply] Automatic=yes) reaches the image: a profile
    # that is merely configured would otherwise change the next boot behind the operator's back.
    if ! iommu_ctl -q profiles --armed > /dev/null; then
        dwarn "iommu: $(iommu_ctl profiles --armed 2>&1 >/dev/null); the image gets no IOMMU tokens"
        return 0
    fi

    if ! _tokens=$(iommu_ctl cmdline) || [[ -z $_tokens ]]; then
        dfatal "iommu: cannot compute the IOMMU profile's kernel command line (see above)"
        return 1
    fi

    # A UKI embeds $kernel_cmdline when it is set: merge into it, keeping every other token
    # (root=...) and replacing IOMMU tokens the profile owns. An unset one stays unset, or dracut
    # would stop using etc/cmdline.d.
    if [[ -n ${kernel_cmdline// /} ]]; then
        if ! _merged=$(iommu_ctl -q cmdline --full --cmdline "$kernel_cmdline"); then
            dfatal "iommu: cannot merge the IOMMU tokens into kernel_cmdline='$kernel_cmdline'"
            return 1
        fi
        dinfo "iommu: kernel_cmdline: $_merged"
        kernel_cmdline=" $_merged "
    fi

    # Otherwise (hostonly_cmdline=yes) the UKI's command line is etc/cmdline.d/*.conf.
    if [[ $hostonly_cmdline == "yes" ]]; then
        mkdir -p "$initdir/etc/cmdline.d"
        printf "%s\n" "$_tokens" > "$initdir/etc/cmdline.d/95iommu.conf"
    fi

    # What the early check compares the running command line with.
    if ! _enforce=$(iommu_conf_get Boot Enforce); then
        dfatal "iommu: cannot read [Boot] Enforce= from iommu.conf"
        return 1
    fi
    # The check is iommuctl's own "plan --check": the binary and the selected profile go in.
    if ! _profile=$(iommu_ctl -q profiles --selected); then
        dfatal "iommu: cannot tell which IOMMU profile is selected"
        return 1
    fi
    _vendor=$(iommu_conf_get IOMMU Vendor) || _vendor=
    # At /usr/bin, on the initrd's PATH, wherever the build host has it.
    inst_binary "$(command -v iommuctl)" /usr/bin/iommuctl || return 1
    # The profile as iommuctl resolves it on the build host: one file, includes flattened (the
    # files it includes are not in the initramfs), found and written by iommuctl itself.
    mkdir -p "$initdir/etc/iommu/profiles"
    if ! iommu_ctl -q profiles --resolved "$_profile" > "$initdir/etc/iommu/profiles/$_profile.conf"; then
        dfatal "iommu: cannot resolve the IOMMU profile $_profile"
        return 1
    fi
    {
        echo "IOMMU_TOKENS='$_tokens'"
        echo "IOMMU_ENFORCE=$_enforce"
        echo "IOMMU_PROFILE='$_profile'"
        echo "IOMMU_VENDOR='$_vendor'"
    } > "$initdir/etc/iommu/initrd-check.conf"
    inst_hook cmdline 95 "$moddir/iommu-check.sh"
}
