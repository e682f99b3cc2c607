#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# systemd-boot's view against ours: for each layout below (built here from its description, no
# generated tree is committed), `bootctl list` (Debian's systemd, run in a private mount namespace
# with the ESP and XBOOTLDR bind-mounted onto themselves, since bootctl insists on mount points)
# and `iommuctl status --json` must list the same entries in the same order, with the same
# options, and name the same default entry. bootctl does not read EFI variables from a tree: the
# LoaderEntryDefault/OneShot rules are checked in test-status.sh and test-bootspec.c.
# Needs IOMMUCTL and SRCDIR; bootctl (package systemd-boot), objcopy and the EFI stub (systemd-boot-efi).
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v bootctl > /dev/null || fail "bootctl is not installed (package systemd-boot)"
command -v objcopy > /dev/null || fail "objcopy is not installed (binutils)"
command -v unshare > /dev/null || fail "unshare is not installed (util-linux)"
STUB=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
[ -f "$STUB" ] || fail "$STUB is missing (package systemd-boot-efi)"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# uki FILE OSREL CMDLINE: a UKI the way ukify/dracut make one ('|' is a newline).
uki() {
        local d
        d=$(mktemp -d -p "$TMP")
        printf '%b' "${2//|/\\n}" > "$d/osrel"
        printf '%b' "${3//|/\\n}" > "$d/cmdline"
        echo 6.12.0-1-amd64 > "$d/uname"
        echo "not a kernel" > "$d/linux"
        mkdir -p "$(dirname "$1")"
        objcopy --add-section .osrel="$d/osrel" --change-section-vma .osrel=0x20000 \
                --add-section .cmdline="$d/cmdline" --change-section-vma .cmdline=0x30000 \
                --add-section .uname="$d/uname" --change-section-vma .uname=0x40000 \
                --add-section .linux="$d/linux" --change-section-vma .linux=0x2000000 "$STUB" "$1"
}

# build ROOT < DESCRIPTION: "copy DIR" (a fixture tree of the source, copied), "esp DIR",
# "xbootldr DIR", "f PATH: LINE|LINE" (a file), "u PATH: OSREL|... :: CMDLINE|..." (a UKI).
build() {
        local root=$1 kind rest path body
        while IFS= read -r line; do
                [ -n "$line" ] || continue
                kind=${line%% *}
                rest=${line#* }
                case $kind in
                copy) cp -a "$SRCDIR/$rest/." "$root/" ;;
                esp | xbootldr) mkdir -p "$root$rest/EFI" && echo "$rest" > "$root/.$kind" ;;
                f)
                        path=${rest%%: *}
                        body=${rest#*: }
                        mkdir -p "$(dirname "$root$path")"
                        printf '%b\n' "${body//|/\\n}" > "$root$path"
                        ;;
                u)
                        path=${rest%%: *}
                        body=${rest#*: }
                        uki "$root$path" "${body%% :: *}" "${body#* :: }"
                        ;;
                *) fail "bad description line: $line" ;;
                esac
        done
}

# bootctl's list (JSON, one entry a line) and its text (for the default mark).
run_bootctl() {
        local root=$1 esp boot
        esp=$root$(cat "$root/.esp")
        if [ -f "$root/.xbootldr" ]; then boot=$root$(cat "$root/.xbootldr"); else boot=$TMP/no-xbootldr; mkdir -p "$boot"; fi
        # The shallower directory first, so a nested ESP (boot/efi) stays visible.
        # shellcheck disable=SC2016 # expanded by the inner shell
        unshare -m --propagation private sh -euc '
                for d in $(printf "%s\n" "$1" "$2" | awk "{ print length, \$0 }" | sort -n | cut -d" " -f2-); do
                        mount --bind "$d" "$d"
                done
                export SYSTEMD_RELAX_ESP_CHECKS=1 SYSTEMD_RELAX_XBOOTLDR_CHECKS=1
                bootctl --esp-path="$1" --boot-path="$2" list --json=short --no-pager > "$3/bootctl.json"
                bootctl --esp-path="$1" --boot-path="$2" list --no-pager > "$3/bootctl.txt"' sh "$esp" "$boot" "$root.out"
}

compare() {
        local name=$1 root=$TMP/$1
        mkdir -p "$root" "$root.out"
        build "$root"
        run_bootctl "$root"
        "$IOMMUCTL" status --root "$root" --json > "$root.out/status.json" || fail "$name: iommuctl status failed"
        python3 - "$name" "$root.out" <<'PY' || fail "$name: bootctl and iommuctl status disagree"
import json, re, sys
name, out = sys.argv[1], sys.argv[2]
bc = [json.loads(l) for l in open(out + "/bootctl.json") if l.strip()]
text = open(out + "/bootctl.txt").read()
default = None
for block in text.split("\n\n"):
    if re.search(r"title: .*\(default\)", block):
        default = re.search(r"^\s*id: (\S+)", block, re.M).group(1)
st = json.load(open(out + "/status.json"))
ours = [e for e in st["entries"] if e["kind"] in ("bls", "uki")]
fold = lambda s: " ".join((s or "").split())
strip = lambda i: re.sub(r"\.conf$", "", i, flags=re.I)
want = [(strip(e["id"]), fold(e.get("options"))) for e in bc]
got = [(e["id"], fold(e["options"])) for e in ours]
if want != got:
    print(f"{name}: entries differ\n bootctl: {want}\n status:  {got}", file=sys.stderr)
    sys.exit(1)
ours_default = st["default_boot"]["id"] if st["default_boot"] else None
if strip(default or "") != (ours_default or ""):
    print(f"{name}: default: bootctl {default}, status {ours_default}", file=sys.stderr)
    sys.exit(1)
print(f"ok: {name}: {len(want)} entries, default {default}")
PY
}

compare sort-key <<'EOF'
esp /efi
f /efi/EFI/systemd/systemd-bootx64.efi: MZ
f /efi/loader/entries/s-1.conf: title s1|sort-key zz|version 1.2|linux /k|options s1
f /efi/loader/entries/s-2.conf: title s2|sort-key zz|version 1.10|linux /k|options s2
f /efi/loader/entries/aa-9.conf: title aa|sort-key aa|version 9|linux /k|options aa
f /efi/loader/entries/n-6.1.conf: title n61|linux /k|options n61
f /efi/loader/entries/n-6.10.conf: title n610|linux /k|options n610
EOF

compare machine-id <<'EOF'
esp /efi
f /efi/loader/entries/m2-1.conf: title m2|sort-key debian|machine-id 22222222222222222222222222222222|version 1|linux /k|options m2
f /efi/loader/entries/m1-1.conf: title m1|sort-key debian|machine-id 11111111111111111111111111111111|version 1|linux /k|options m1
f /efi/loader/entries/m1-2.conf: title m1b|sort-key debian|machine-id 11111111111111111111111111111111|version 2|linux /k|options m1b
EOF

compare boot-counting <<'EOF'
esp /efi
f /efi/loader/entries/a-6.5+0-3.conf: title A65|version 6.5|linux /k|options root=/dev/a65
f /efi/loader/entries/a-6.1.conf: title A61|version 6.1|linux /k|options root=/dev/a61
f /efi/loader/entries/b-6.2+3.conf: title B|linux /k|options b
f /efi/loader/entries/c-6.3+2-1.conf: title C|linux /k|options c
f /efi/loader/loader.conf: default a-6*
EOF

compare case <<'EOF'
esp /efi
f /efi/loader/entries/X-6.12.CONF: title X612|linux /k|options root=/dev/x612|options second
f /efi/loader/entries/x-6.1.conf: title x61|linux /k|options root=/dev/x61
f /efi/loader/loader.conf: default X-6.12*
EOF

compare default-glob <<'EOF'
esp /boot/efi
f /boot/efi/loader/loader.conf: timeout 3|default A-6*
f /boot/efi/loader/entries/a-6.1.conf: title a61|linux /k|options a61
f /boot/efi/loader/entries/a-6.5.conf: title a65|linux /k|options a65
f /boot/efi/loader/entries/z-1.conf: title z|linux /k|options z
EOF

compare xbootldr <<'EOF'
esp /efi
xbootldr /boot
f /efi/loader/loader.conf: default debian-6.6*
f /efi/loader/entries/debian-6.1.conf: title esp|linux /k|options on-esp
f /boot/loader/loader.conf: default debian-6.1.conf
f /boot/loader/entries/debian-6.12.conf: title xbootldr|linux /k|options on-xbootldr
f /boot/loader/entries/debian-6.6.conf: title xbootldr2|linux /k|options on-xbootldr-2
EOF

compare ukis <<'EOF'
esp /efi
xbootldr /boot
u /efi/EFI/Linux/debian-6.12.0-1-amd64.efi: ID=debian|VERSION_ID=13|PRETTY_NAME="Debian 13" :: root=/dev/u ro|quiet intel_iommu=on|
u /boot/EFI/Linux/debian-6.1.0-30-amd64+2.efi: ID=debian|VERSION_ID=12|PRETTY_NAME="Debian 12" :: root=/dev/u ro amd_iommu=off
u /boot/EFI/Linux/fedora-41.efi: ID=fedora|VERSION_ID=41|IMAGE_VERSION=41.1 :: root=/dev/f
f /efi/loader/entries/debian-6.1.0-21-amd64.conf: title t1|linux /k|options t1
f /boot/loader/entries/zz.conf: title zz|sort-key debian|version 14|linux /k|options zz
EOF

compare efi-key <<'EOF'
esp /efi
u /efi/EFI/Linux/img.efi: ID=debian|VERSION_ID=13 :: root=/dev/builtin ro
f /efi/loader/entries/with-options.conf: title w|efi /EFI/Linux/img.efi|options root=/dev/own quiet
f /efi/loader/loader.conf: default with-options.conf
EOF
# The BLS fixture layouts of the other tests.
compare fixture-systemd-boot-esp <<'EOF'
copy tests/fixtures/boot/systemd-boot-esp/input
esp /efi
EOF

compare fixture-image-kernel-install <<'EOF'
copy tests/fixtures/boot/image-kernel-install/input
esp /boot
EOF

compare fixture-synthetic-hgx-h100 <<'EOF'
copy tests/fixtures/hosts/synthetic-hgx-h100/root
esp /boot
EOF

compare fixture-synthetic-amd-strict <<'EOF'
copy tests/fixtures/hosts/synthetic-amd-strict/root
esp /boot
EOF
echo OK
