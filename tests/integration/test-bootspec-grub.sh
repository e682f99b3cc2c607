#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# GRUB's view against ours: Debian's real grub-mkconfig (and /etc/grub.d) generates grub.cfg
# from each tree's /etc/default/grub and drop-ins, in a private mount namespace (the tree bound
# over /etc/default and /boot, grub-probe replaced by a stand-in that answers for an ext4 root on
# a GPT disk); grub-editenv writes the environment block. The entry GRUB boots follows from that
# grub.cfg by GRUB's rules (GRUB_DEFAULT a number, an id, a title or a '>' path resolved one
# level at a time; "saved" follows saved_entry, and only then; next_entry boots once): each case
# names it, and `iommuctl status --json` must name the same menu entry, with that entry's linux
# line as its options. Needs IOMMUCTL; grub-mkconfig, grub-editenv (grub2-common), unshare.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v grub-mkconfig > /dev/null || fail "grub-mkconfig is not installed (grub2-common)"
command -v grub-editenv > /dev/null || fail "grub-editenv is not installed (grub-common)"
command -v unshare > /dev/null || fail "unshare is not installed (util-linux)"
[ -f /usr/share/grub/default/grub ] || fail "Debian's default /etc/default/grub template is missing (grub2-common)"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

. "$(dirname "$0")/grub-probe-lib.sh"
write_grub_probe "$TMP/grub-probe" 2 gpt
UUID=4e1f6c0a-6d2b-4c4e-9a51-1f0c2b7d3e99

# tree NAME: two kernels, Debian's default /etc/default/grub.
tree() {
        local r=$TMP/$1
        mkdir -p "$r/boot/grub" "$r/etc/default/grub.d"
        for v in 6.1.0-18-amd64 6.1.0-21-amd64; do
                echo "not a kernel" > "$r/boot/vmlinuz-$v"
                echo "not an initrd" > "$r/boot/initrd.img-$v"
        done
        cp /usr/share/grub/default/grub "$r/etc/default/grub"
        echo "$r"
}

mkconfig() {
        # shellcheck disable=SC2016 # expanded by the inner shell
        unshare -m --propagation private sh -euc '
                mount --bind "$1/etc/default" /etc/default
                mount --bind "$1/boot" /boot
                mount --bind "$2" "$(command -v grub-probe)"
                grub-mkconfig -o /boot/grub/grub.cfg 2> /dev/null' sh "$1" "$TMP/grub-probe"
        grep -q "^menuentry 'Debian GNU/Linux'" "$1/boot/grub/grub.cfg" || fail "grub-mkconfig wrote no Debian menu: $1"
}

# expect ROOT TITLE SOURCE: status names the menu entry TITLE (the first with it in grub.cfg),
# decided by SOURCE, with the options of its linux line.
expect() {
        local r=$1 title=$2 source=$3 linux
        "$IOMMUCTL" status --root "$r" --json > "$r.json" || fail "status failed on $r"
        # The linux line of that entry in the generated grub.cfg, the kernel path dropped.
        linux=$(awk -v t="$title" '
                index($0, "menuentry '\''" t "'\''") { found = 1 }
                found && $1 == "linux" { $1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }' "$r/boot/grub/grub.cfg")
        [ -n "$linux" ] || fail "no entry '$title' in $r/boot/grub/grub.cfg"
        python3 - "$r.json" "$title" "$source" "$linux" <<'PY' || fail "$r: status does not name '$title' ($source)"
import json, sys
d = json.load(open(sys.argv[1]))
title, source, linux = sys.argv[2:5]
n = d["next_boot"]
assert n and n["kind"] == "grub.cfg", n
assert n["id"] == title, (n["id"], title)
assert n["source"] == source, (n["source"], source)
assert n["options"] == " ".join(linux.split()), (n["options"], linux)
PY
        echo "ok: $(basename "$r"): $title ($source)"
}

TOP="Debian GNU/Linux"
K21="Debian GNU/Linux, with Linux 6.1.0-21-amd64"
K18="Debian GNU/Linux, with Linux 6.1.0-18-amd64"
K18R="Debian GNU/Linux, with Linux 6.1.0-18-amd64 (recovery mode)"

# 1. Debian's defaults: GRUB_DEFAULT=0.
r=$(tree default) && mkconfig "$r"
expect "$r" "$TOP" "grub.cfg default"

# 2. GRUB_DEFAULT in a drop-in (grub-mkconfig sources grub.d after /etc/default/grub): a '>'
# path of indexes; the Advanced submenu holds each kernel and its recovery entry.
r=$(tree dropin-index)
printf 'GRUB_DEFAULT="1>2"\n' > "$r/etc/default/grub.d/50-default.cfg"
mkconfig "$r"
expect "$r" "$K18" "grub.cfg default"

# 3. ... a path of titles, and of ids (nested ids resolve one level at a time).
r=$(tree title-path)
printf 'GRUB_DEFAULT="Advanced options for Debian GNU/Linux>%s"\n' "$K18R" > "$r/etc/default/grub.d/50-default.cfg"
mkconfig "$r"
expect "$r" "$K18R" "grub.cfg default"
r=$(tree id-path)
printf 'GRUB_DEFAULT="gnulinux-advanced-%s>gnulinux-6.1.0-18-amd64-advanced-%s"\n' "$UUID" "$UUID" > "$r/etc/default/grub.d/50-default.cfg"
mkconfig "$r"
expect "$r" "$K18" "grub.cfg default"
# A nested id on its own names nothing at the top level: GRUB falls back to the first entry.
r=$(tree nested-id-alone)
printf 'GRUB_DEFAULT="gnulinux-6.1.0-18-amd64-advanced-%s"\n' "$UUID" > "$r/etc/default/grub.d/50-default.cfg"
mkconfig "$r"
expect "$r" "$TOP" "GRUB's first entry (the default names no entry)"

# 4. GRUB_DEFAULT=saved follows saved_entry (written by grub-editenv, as grub-set-default does).
r=$(tree saved)
sed -i 's/^GRUB_DEFAULT=.*/GRUB_DEFAULT=saved/' "$r/etc/default/grub"
mkconfig "$r"
grub-editenv "$r/boot/grub/grubenv" set "saved_entry=1>2"
expect "$r" "$K18" "grubenv saved_entry"

# 5. A leftover saved_entry is not followed when GRUB_DEFAULT is not "saved".
r=$(tree leftover-saved) && mkconfig "$r"
grub-editenv "$r/boot/grub/grubenv" set "saved_entry=1>2"
expect "$r" "$TOP" "grub.cfg default"

# 6. next_entry boots once, before the default.
r=$(tree next-entry) && mkconfig "$r"
grub-editenv "$r/boot/grub/grubenv" set "next_entry=gnulinux-advanced-$UUID>gnulinux-6.1.0-21-amd64-advanced-$UUID"
expect "$r" "$K21" "grubenv next_entry"

# 7. GRUB_CMDLINE_LINUX from a drop-in reaches the linux lines status reads.
r=$(tree cmdline-dropin)
# shellcheck disable=SC2016 # the drop-in's own reference
printf 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX intel_iommu=on iommu=pt"\n' > "$r/etc/default/grub.d/60-iommu.cfg"
mkconfig "$r"
expect "$r" "$TOP" "grub.cfg default"
python3 - "$r.json" <<'PY' || fail "cmdline-dropin: tokens missing from the next entry"
import json, sys
n = json.load(open(sys.argv[1]))["next_boot"]
assert "intel_iommu=on iommu=pt" in n["options"], n
PY
echo OK
