#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One case per refusal class: each must exit 2, name the file (and line where a person wrote it),
# say that nothing was changed, and leave the tree byte for byte as it was.
. "$(dirname "$0")/../integration/apply-lib.sh"
root="$TMP/img"
n=0

# refuse FIXTURE VENDOR PATTERN: run apply on $root (prepared by the caller from FIXTURE).
refuse() {
        local what=$1 vendor=$2 pattern=$3 rc=0
        rm -rf "$TMP/before" && cp -a "$root" "$TMP/before"
        timeout 60 "$IOMMUCTL" apply --root "$root" --profile gpu-sriov --vendor "$vendor" > "$TMP/out" 2> "$TMP/err" || rc=$?
        [ "$rc" = 2 ] || fail "$what: exit $rc, expected 2: $(cat "$TMP/err")"
        grep -q -- "$pattern" "$TMP/err" || fail "$what: message lacks '$pattern': $(cat "$TMP/err")"
        grep -qi "nothing was changed" "$TMP/err" || fail "$what: message does not say nothing was changed: $(cat "$TMP/err")"
        same_tree "$TMP/before" "$root" || fail "$what: changed the tree"
        ! grep -qE 'AddressSanitizer|runtime error:' "$TMP/err" || fail "$what: sanitizer report"
        n=$((n + 1))
        echo "refused: $what: $(grep -- "$pattern" "$TMP/err" | head -1)"
}

entry() { ls "$root"/boot/loader/entries/*5.14*.conf; }

fresh rhel9-bls-grub "$root"
sed -i 's/^options \(.*\)$/options \1 "unterminated/' "$(entry)"
refuse "BLS unterminated quote" intel "$(basename "$(entry)"): the options line has an unterminated quote"

fresh rhel9-bls-grub "$root"
printf 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX quiet\n' >> "$root/etc/default/grub"
refuse "GRUB unterminated quote" intel "etc/default/grub:[0-9]*: unterminated quote"

fresh rhel9-bls-grub "$root"
printf 'root=/dev/sda1 "open\n' > "$root/etc/kernel/cmdline"
refuse "/etc/kernel/cmdline unterminated quote" intel "etc/kernel/cmdline: unterminated quote"

fresh rhel9-bls-grub "$root"
printf 'root=/dev/sda1 %s\n' "$(head -c 70000 /dev/zero | tr '\0' 'x')" > "$root/etc/kernel/cmdline"
refuse "/etc/kernel/cmdline too long" intel "etc/kernel/cmdline: the command line would be too long"

fresh rhel9-bls-grub "$root"
ln -s "$(basename "$(entry)")" "$root/boot/loader/entries/zz-alias.conf"
refuse "two entries resolving to one file" intel "resolves to the same file as another boot loader entry"

fresh rhel9-bls-grub "$root"
printf 'title x\0y\n' > "$root/boot/loader/entries/nul.conf"
refuse "NUL byte in a BLS entry" intel "nul.conf: NUL byte at offset 7"

fresh rhel9-bls-grub "$root"
printf 'GRUB_TIMEOUT=5 \\' >> "$root/etc/default/grub"
refuse "GRUB trailing backslash" intel "etc/default/grub:[0-9]*: ends in a backslash"

for case in \
        'f() {|GRUB_CMDLINE_LINUX="x"|}|a function' \
        '{|GRUB_CMDLINE_LINUX="x"|}|a { } block' \
        '(|GRUB_CMDLINE_LINUX="x"|)|a subshell' \
        'if true; then|GRUB_CMDLINE_LINUX="x"|fi|if' \
        '[ -e /x ] && {|GRUB_CMDLINE_LINUX="x"|}|&& { }' \
        'cat <<EOF >/dev/null|GRUB_CMDLINE_LINUX="x"|EOF|a here-document' \
        '. /etc/default/grub.local|GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX x"|. /etc/default/grub.local|sources after' \
        'source /etc/default/other|||sources after the last assignment' \
        'eval "$EXTRA"|||eval after the last assignment'; do
        IFS='|' read -r a b c what <<< "$case"
        fresh rhel9-bls-grub "$root"
        { echo "$a"; [ -z "$b" ] || echo "$b"; [ -z "$c" ] || echo "$c"; } >> "$root/etc/default/grub"
        refuse "GRUB assignment that may not run ($what)" intel "etc/default/grub:[0-9]*:"
done

fresh debian-grub-dropins "$root"
printf '. /etc/default/grub.d/local\n' >> "$root/etc/default/grub.d/40-mitigations.cfg"
refuse "Debian drop-in that sources another file" intel "40-mitigations.cfg:[0-9]*: sources another file"

fresh rhel8-kernelopts "$root"
printf 'X\0Y\n' >> "$root/boot/grub2/grubenv"
refuse "NUL in grubenv" amd "grubenv: NUL byte at offset"

# One parser per format: lint reads a continued GRUB line as apply does.
printf 'GRUB_CMDLINE_LINUX="quiet \\\n    intel_iommu=strict"\n' > "$TMP/grub-continued"
out=$("$IOMMUCTL" lint "$TMP/grub-continued" 2>&1) || true
grep -q "grub-continued:1: warning: intel_iommu=strict is deprecated" <<< "$out" || fail "lint missed a token on a continued GRUB line: $out"
printf 'title t\noptions  root=/dev/sda1\n  options intel_iommu=strict \n' > "$TMP/entry.conf"
out=$("$IOMMUCTL" lint "$TMP/entry.conf" 2>&1) || true
grep -q "entry.conf:3: warning: intel_iommu=strict" <<< "$out" || fail "lint missed an indented BLS options line: $out"

echo "$n refusal classes checked"
