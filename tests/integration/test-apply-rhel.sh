#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# RHEL-family boot layouts after "iommuctl apply": does the next grub2-mkconfig keep the
# profile's tokens? No RPM distribution is reachable from CI, so what grub2-mkconfig does to
# the BLS files on each release is replayed here on the fixture trees (tests/fixtures/boot):
#
#   RHEL 8      BLS entries say "options $kernelopts ...": grub2-mkconfig sets kernelopts in
#               the GRUB environment block to "root=DEV ro $GRUB_CMDLINE_LINUX
#               $GRUB_CMDLINE_LINUX_DEFAULT" (rhel8-kernelopts).
#   RHEL 9.0-9.2  the entries carry the whole command line (GRUB_ENABLE_BLSCFG=true):
#               grub2-mkconfig rewrites every entry's options line from the same variables
#               (rhel9-bls-grub).
#   RHEL 9.3+   grub2-mkconfig leaves the entries alone unless run with --update-bls-cmdline,
#               which rewrites them as 9.0-9.2 did; grubby edits only the entries and
#               /etc/kernel/cmdline (rhel9-update-bls-cmdline).
#
# In each case every entry's effective command line ($kernelopts expanded, other GRUB
# variables empty) must be in sync with the profile, judged by "iommuctl plan --check", right
# after apply and after the replayed grub2-mkconfig; and a layout where only the entries were
# written (--backend bls) must lose the tokens to the 9.0-9.2 rewrite, which is why apply
# writes GRUB_CMDLINE_LINUX too.
. "$(dirname "$0")/apply-lib.sh"
command -v grub-editenv > /dev/null || fail "grub-editenv is not installed (grub-common)"

n=0

# GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT of ROOT/etc/default/grub, as one line.
grub_cmdline() {
        sed -n -e 's/^GRUB_CMDLINE_LINUX="\(.*\)"$/\1/p' -e 's/^GRUB_CMDLINE_LINUX_DEFAULT="\(.*\)"$/\1/p' "$1/etc/default/grub" | paste -sd' '
}

# The root device grub2-mkconfig would probe: the root= of the entries (or of kernelopts).
root_device() {
        cat "$1"/boot/loader/entries/*.conf "$(grubenv_file "$1")" 2>/dev/null | tr ' ' '\n' | sed -n 's/^root=//p' | head -n1
}

grubenv_file() {
        readlink -f "$1/boot/grub2/grubenv"
}

# What grub2-mkconfig of RELEASE (8, 9.0, 9.3) does to the BLS side of ROOT; $3 is the
# --update-bls-cmdline switch for 9.3.
mkconfig() {
        local root=$1 release=$2 update=${3:-} line e
        line="root=$(root_device "$root") ro $(grub_cmdline "$root")"
        line=$(echo $line)
        case $release in
        8)
                grub-editenv "$(grubenv_file "$root")" set "kernelopts=$line" ;;
        9.0|9.3)
                [[ $release == 9.0 || $update == --update-bls-cmdline ]] || return 0
                for e in "$root"/boot/loader/entries/*.conf; do
                        sed -i "s|^options .*|options $line|" "$e"
                done ;;
        esac
}

# The command line each entry gives the kernel: $kernelopts from the environment block,
# any other $variable empty (tuned's $tuned_params is not IOMMU's business here).
effective_cmdlines() {
        local root=$1 kopts e
        kopts=$(tr -d '#' < "$(grubenv_file "$root")" | sed -n 's/^kernelopts=//p')
        for e in "$root"/boot/loader/entries/*.conf; do
                sed -n 's/^options[[:space:]]*//p' "$e" | sed "s|\$kernelopts|$kopts|g" | sed -E 's/\$[a-z_]+//g' \
                        | xargs printf '%s\n' | paste -sd' ' | sed "s|^|${e##*/}: |"
        done
}

# in_sync ROOT ARGS... / out_of_sync: every entry judged by the product itself.
entries_judged() {
        local root=$1 want=$2 line name cmd rc
        shift 2
        while IFS= read -r line; do
                name=${line%%: *} cmd=${line#*: }
                rc=0
                "$IOMMUCTL" plan --check --root "$root" "$@" --cmdline "$cmd" > /dev/null 2>&1 || rc=$?
                if [ "$want" = sync ] && [ $rc -ne 0 ]; then
                        fail "$name: not in sync with '$*' (plan --check exit $rc): $cmd"
                elif [ "$want" = drift ] && [ $rc -ne 1 ]; then
                        fail "$name: expected to be out of sync with '$*' (plan --check exit $rc): $cmd"
                fi
        done < <(effective_cmdlines "$root")
}

check_layout() {
        local name=$1 release=$2 update=${3:-} root args
        read -r -a args < "$FIXTURES/$name/args"
        root=$TMP/$name-$release${update:+-update}
        fresh "$name" "$root"
        "$IOMMUCTL" apply --root "$root" "${args[@]}" > /dev/null 2>&1 || fail "$name: apply failed"
        same_tree "$FIXTURES/$name/expected" "$root" || fail "$name: apply differs from expected/"
        entries_judged "$root" sync "${args[@]}"
        mkconfig "$root" "$release" $update
        entries_judged "$root" sync "${args[@]}"
        echo "ok: $name: every entry in sync after apply and after RHEL $release grub2-mkconfig ${update:-(plain)}"
        # The input, regenerated the same way, is out of the profile: the checks above can fail.
        fresh "$name" "$root"
        mkconfig "$root" "$release" $update
        entries_judged "$root" drift "${args[@]}"
        n=$((n + 1))
}

check_layout rhel8-kernelopts 8
check_layout rhel9-bls-grub 9.0
check_layout rhel9-update-bls-cmdline 9.3
check_layout rhel9-update-bls-cmdline 9.3 --update-bls-cmdline

# RHEL 9.3+ without --update-bls-cmdline: grub2-mkconfig does not touch the entries at all.
root=$TMP/untouched
fresh rhel9-update-bls-cmdline "$root"
"$IOMMUCTL" apply --root "$root" --profile strict --vendor amd > /dev/null 2>&1 || fail "apply failed"
cp -a "$root" "$TMP/untouched.before"
mkconfig "$root" 9.3
same_tree "$TMP/untouched.before" "$root" || fail "the replayed RHEL 9.3 grub2-mkconfig changed the entries without --update-bls-cmdline"

# Why apply writes GRUB_CMDLINE_LINUX as well: with the entries alone, the RHEL 9.0-9.2
# rewrite (and 9.3+ with --update-bls-cmdline) takes the tokens away again.
root=$TMP/bls-only
fresh rhel9-bls-grub "$root"
read -r -a args < "$FIXTURES/rhel9-bls-grub/args"
"$IOMMUCTL" apply --root "$root" "${args[@]}" --backend bls > /dev/null 2>&1 || fail "apply --backend bls failed"
entries_judged "$root" sync "${args[@]}"
mkconfig "$root" 9.0
entries_judged "$root" drift "${args[@]}"
echo "ok: entries written alone lose the tokens to the RHEL 9.0-9.2 rewrite"

[ "$n" -eq 4 ] || fail "only $n layouts checked"
echo "OK: $n RHEL layouts"
