#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 23: the UKI command-line add-on backend on trees whose next boot is a unified kernel
# image (built here from Debian 13's linuxx64.efi.stub with objcopy, a fake kernel, .osrel and
# .cmdline). The add-on is built with objcopy on systemd's add-on stub: Debian 12 has none (systemd
# 252), so the tests pass Debian 13's (tests/fixtures/uki/ORIGIN) with IOMMUCTL_UKI_ADDON_STUB.
#   apply writes ESP/loader/addons/iommuctl-<profile>.addon.efi whose .cmdline is exactly the
#   profile's tokens; status --json shows them at the end of the UKI's effective line; a second
#   apply changes nothing; rollback and undo remove it; --uki-addon=per-uki and a profile switch
#   leave one add-on of ours; the stub's order (UKI .cmdline, global, per-UKI, each sorted) with
#   add-ons of others; Secure Boot on: refused unsigned, signed with [UKI] SigningKey= (sbverify);
#   unsafe tokens refused; no stub: a clear error, nothing written; what the stub skips (unsigned
#   under Secure Boot, another kernel's .uname) is off the line and named by status; a Type #1
#   entry whose efi is a UKI gets the add-ons too. bootctl 252 (Debian 12) does
#   not read add-ons: its line for the UKI must be the UKI's own .cmdline, which begins ours.
# Needs IOMMUCTL and SRCDIR; objcopy, the EFI stub (systemd-boot-efi), bootctl, sbsign, openssl.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for t in objcopy bootctl unshare sbsign sbverify openssl python3; do
        command -v "$t" > /dev/null || { echo "FAIL: $t is not installed (.ci/packages.txt)" >&2; exit 1; }
done
# UKIs on Debian 13's systemd-stub (257): Debian 12's (252) reads no add-ons, and iommuctl reads
# the stub's release from the UKI's .sdmagic.
STUB=$SRCDIR/tests/fixtures/uki/linuxx64.efi.stub
STUB252=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
[ -f "$STUB252" ] || { echo "FAIL: $STUB252 is missing (package systemd-boot-efi)" >&2; exit 1; }
export IOMMUCTL_UKI_ADDON_STUB=$SRCDIR/tests/fixtures/uki/addonx64.efi.stub
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
UKI_LINE="root=/dev/vda1 ro quiet"

# pe FILE STUB SECTION...: a PE image from STUB with the given NAME=CONTENT sections, placed after
# the stub's image (ImageBase + SizeOfImage, 64 KiB apart).
pe() {
        local out=$1 stub=$2 vma d args=()
        shift 2
        vma=$(printf 0x%x $((16#$(objdump -p "$stub" | awk '$1 == "ImageBase" { print $2 }') +
                16#$(objdump -p "$stub" | awk '$1 == "SizeOfImage" { print $2 }') + 0x10000)))
        d=$(mktemp -d -p "$TMP")
        for s in "$@"; do
                printf '%s' "${s#*=}" > "$d/${s%%=*}"
                args+=(--add-section ".${s%%=*}=$d/${s%%=*}" --change-section-vma ".${s%%=*}=$vma")
                vma=$(printf 0x%x $((vma + 0x10000)))
        done
        mkdir -p "$(dirname "$out")"
        objcopy "${args[@]}" "$stub" "$out"
}

# tree DIR: an ESP at /efi with systemd-boot and one UKI, the next boot.
tree() {
        mkdir -p "$1/efi/EFI/systemd" "$1/efi/loader"
        printf 'MZ' > "$1/efi/EFI/systemd/systemd-bootx64.efi"
        pe "$1/efi/EFI/Linux/debian-6.12.efi" "$STUB" "osrel=ID=debian
VERSION_ID=13
PRETTY_NAME=\"Debian 13\"" "cmdline=$UKI_LINE" "uname=6.12.0-1-amd64" "linux=not a kernel"
}

section() {
        objcopy -O binary --only-section=.cmdline "$1" "$TMP/section" && cat "$TMP/section"
}

uki_options() {
        "$IOMMUCTL" status --root "$1" --json | python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin)["entries"] if e["kind"] == "uki"][0]
print(e["options"]); print("carries" if e.get("carries_profile") else "lacks")'
}

R=$TMP/a
tree "$R"
tokens=$("$IOMMUCTL" status --root "$R" --profile gpu-sriov --vendor intel --json |
        python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin)["profile"]["kernel_args"]))')
[ "$tokens" = "intel_iommu=on iommu=pt" ] || fail "gpu-sriov's Intel tokens are '$tokens'"

# 1. The acceptance: apply, .cmdline exact, status, rollback.
out=$("$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel 2>&1) || fail "apply failed: $out"
A=$R/efi/loader/addons/iommuctl-gpu-sriov.addon.efi
if [ -f "$A" ]; then
        [ "$(section "$A")" = "$tokens" ] && ok "the add-on's .cmdline is exactly '$tokens'" ||
                fail "the add-on's .cmdline is '$(section "$A")'"
else
        fail "apply wrote no $A: $out"
fi
grep -q "created  /efi/loader/addons/iommuctl-gpu-sriov.addon.efi (uki-addon)" <<< "$out" || fail "apply's report: $out"
[ "$(uki_options "$R")" = "$UKI_LINE $tokens
carries" ] && ok "status --json: the UKI's effective line ends with the add-on's tokens and carries the profile" ||
        fail "status --json: $(uki_options "$R")"
n=$(ls "$R/var/lib/iommu/changesets" | wc -l)
out=$("$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel 2>&1) || fail "second apply failed: $out"
[ "$(ls "$R/var/lib/iommu/changesets" | wc -l)" = "$n" ] && grep -q "Nothing to change" <<< "$out" &&
        ok "a second apply changes nothing" || fail "a second apply: $out"
out=$("$IOMMUCTL" rollback --root "$R" 2>&1) || fail "rollback failed: $out"
[ ! -e "$A" ] && ok "rollback removed the add-on" || fail "rollback left $A: $out"
[ "$(uki_options "$R")" = "$UKI_LINE
lacks" ] || fail "status after rollback: $(uki_options "$R")"

# 2. Per UKI, then global again and a profile switch: one add-on of ours at a time.
"$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel --uki-addon=per-uki > /dev/null 2>&1 || fail "apply --uki-addon=per-uki"
P=$R/efi/EFI/Linux/debian-6.12.efi.extra.d/iommuctl-gpu-sriov.addon.efi
[ -f "$P" ] && [ "$(section "$P")" = "$tokens" ] && ok "--uki-addon=per-uki: $P" || fail "--uki-addon=per-uki wrote no $P"
"$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel > /dev/null 2>&1 || fail "apply global after per-uki"
[ -f "$A" ] && [ ! -e "$P" ] && ok "global again: the per-UKI add-on removed" || fail "global after per-uki: $(find "$R/efi" -name '*.addon.efi')"
"$IOMMUCTL" apply --root "$R" --profile strict --vendor intel > /dev/null 2>&1 || fail "apply strict"
S=$R/efi/loader/addons/iommuctl-strict.addon.efi
strict=$("$IOMMUCTL" status --root "$R" --profile strict --vendor intel --json |
        python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin)["profile"]["kernel_args"]))')
[ -f "$S" ] && [ ! -e "$A" ] && [ "$(section "$S")" = "$strict" ] && ok "a profile switch replaces the add-on ($strict)" ||
        fail "profile switch: $(find "$R/efi" -name '*.addon.efi')"
out=$("$IOMMUCTL" undo --root "$R" --profile strict 2>&1) || fail "undo failed: $out"
[ -z "$(find "$R/efi" -name 'iommuctl-*.addon.efi')" ] && ok "undo removed the add-on" || fail "undo left $(find "$R/efi" -name '*.addon.efi')"

# An add-on of ours left after its UKI was removed: undo still finds it in loader/addons/.
"$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel > /dev/null 2>&1 || fail "apply before the UKI removal"
mv "$R/efi/EFI/Linux/debian-6.12.efi" "$TMP/uki.away"
"$IOMMUCTL" undo --root "$R" --profile gpu-sriov > /dev/null 2>&1 || true
[ ! -e "$A" ] && ok "undo removes an add-on of ours that no UKI names any more" || fail "undo without the UKI left $A"
mv "$TMP/uki.away" "$R/efi/EFI/Linux/debian-6.12.efi"

# 3. The stub's order with add-ons of others: .cmdline, loader/addons/ sorted, .extra.d/ sorted.
R=$TMP/order
tree "$R"
pe "$R/efi/loader/addons/zz-site.addon.efi" "$IOMMUCTL_UKI_ADDON_STUB" "cmdline=site=2"
pe "$R/efi/loader/addons/00-first.addon.efi" "$IOMMUCTL_UKI_ADDON_STUB" "cmdline=first=1"
pe "$R/efi/EFI/Linux/debian-6.12.efi.extra.d/vendor.addon.efi" "$IOMMUCTL_UKI_ADDON_STUB" "cmdline=vendor=3"
pe "$R/efi/EFI/Linux/debian-6.12.efi.extra.d/a.addon.efi" "$IOMMUCTL_UKI_ADDON_STUB" "cmdline=a=4"
pe "$R/efi/EFI/Linux/debian-6.12.efi.extra.d/notanaddon.efi" "$IOMMUCTL_UKI_ADDON_STUB" "cmdline=ignored=5"
"$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel > /dev/null 2>&1 || fail "apply among other add-ons"
want="$UKI_LINE first=1 $tokens site=2 a=4 vendor=3"
[ "$(uki_options "$R" | sed -n 1p)" = "$want" ] && ok "effective line in systemd-stub's order: $want" ||
        fail "effective line '$(uki_options "$R" | sed -n 1p)', want '$want'"
"$IOMMUCTL" status --root "$R" --json | python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin)["entries"] if e["kind"] == "uki"][0]
assert e["addons"] == ["/efi/loader/addons/00-first.addon.efi", "/efi/loader/addons/iommuctl-gpu-sriov.addon.efi",
                       "/efi/loader/addons/zz-site.addon.efi", "/efi/EFI/Linux/debian-6.12.efi.extra.d/a.addon.efi",
                       "/efi/EFI/Linux/debian-6.12.efi.extra.d/vendor.addon.efi"], e["addons"]' &&
        ok "status --json lists the add-ons in that order" || fail "status --json addons"
# bootctl 252 lists the UKI with its own .cmdline only (add-ons are read by bootctl from 254 on).
# bootctl 257 (a trixie chroot, checked by hand on 2026-12-07, not here: CI has no trixie chroot)
# lists the same add-ons with the same tokens, in readdir order (its bootspec.c does not sort),
# where the stub sorts them (tests/vm/uki-addon-loop.sh shows the stub's order on FAT).
mkdir -p "$TMP/no-xbootldr"
# shellcheck disable=SC2016 # expanded by the inner shell
unshare -m --propagation private sh -euc 'mount --bind "$1" "$1"; mount --bind "$2" "$2"
        SYSTEMD_RELAX_ESP_CHECKS=1 SYSTEMD_RELAX_XBOOTLDR_CHECKS=1 bootctl --esp-path="$1" --boot-path="$2" list --json=short --no-pager' \
        sh "$R/efi" "$TMP/no-xbootldr" > "$TMP/bootctl.json" || fail "bootctl list failed"
python3 - "$TMP/bootctl.json" "$UKI_LINE" "$want" <<'PY' && ok "bootctl 252 shows the UKI's own .cmdline, the start of our effective line" || fail "bootctl 252 and status disagree"
import json, sys
bc = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
uki = [e for e in bc if e["id"].endswith(".efi")]
assert len(uki) == 1, bc
opts = " ".join(uki[0].get("options", "").split())
assert opts == sys.argv[2], opts
assert sys.argv[3].startswith(opts + " "), (opts, sys.argv[3])
PY

# 4. Secure Boot on: unsigned refused; signed with [UKI] SigningKey= and SigningCertificate=.
R=$TMP/sb
tree "$R"
mkdir -p "$R/sys/firmware/efi/efivars"
printf '\x06\x00\x00\x00\x01' > "$R/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
if out=$("$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel 2>&1); then
        fail "Secure Boot on, nothing to sign: apply succeeded"
else
        grep -q "Secure Boot is on" <<< "$out" && [ ! -e "$R/efi/loader/addons" ] && [ ! -e "$R/var/lib/iommu/changesets" ] &&
                ok "Secure Boot on, no key: refused, nothing written" || fail "Secure Boot refusal: $out"
fi
openssl req -new -x509 -newkey rsa:2048 -nodes -subj /CN=iommuctl-test -days 1 \
        -keyout "$TMP/db.key" -out "$TMP/db.crt" > /dev/null 2>&1 || fail "openssl"
mkdir -p "$R/etc/iommu/profiles"
{ cat "$SRCDIR/profiles/gpu-sriov.conf"; printf '\n[UKI]\nSigningKey=%s\nSigningCertificate=%s\n' "$TMP/db.key" "$TMP/db.crt"; } \
        > "$R/etc/iommu/profiles/gpu-sriov.conf"
out=$("$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel 2>&1) || fail "signed apply failed: $out"
A=$R/efi/loader/addons/iommuctl-gpu-sriov.addon.efi
sbverify --cert "$TMP/db.crt" "$A" > /dev/null 2>&1 && [ "$(section "$A")" = "$tokens" ] &&
        ok "Secure Boot on: the add-on is signed with [UKI] SigningKey= (sbverify) and carries '$tokens'" ||
        fail "signed add-on: $(sbverify --cert "$TMP/db.crt" "$A" 2>&1)"

# An unsigned add-on of ours is signed once [UKI] names a key (same line, Secure Boot off).
R=$TMP/resign
tree "$R"
"$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel > /dev/null 2>&1 || fail "unsigned apply"
A=$R/efi/loader/addons/iommuctl-gpu-sriov.addon.efi
! sbverify --cert "$TMP/db.crt" "$A" > /dev/null 2>&1 || fail "the add-on is signed without a key"
mkdir -p "$R/etc/iommu/profiles"
cp "$TMP/sb/etc/iommu/profiles/gpu-sriov.conf" "$R/etc/iommu/profiles/"
out=$("$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel 2>&1) || fail "re-sign apply: $out"
sbverify --cert "$TMP/db.crt" "$A" > /dev/null 2>&1 && grep -q "modified /efi/loader/addons/iommuctl-gpu-sriov.addon.efi" <<< "$out" &&
        ok "an unsigned add-on of ours is replaced by a signed one once [UKI] names a key" || fail "re-sign: $out"

# 5. Refusals: unsafe tokens, no stub. Nothing written.
R=$TMP/bad
tree "$R"
mkdir -p "$R/etc/iommu/profiles"
printf '[Profile]\nMode=passthrough\n[KernelArgs]\nIntel=intel_iommu=on iommu=pt$(reboot)\n' > "$R/etc/iommu/profiles/evil.conf"
if "$IOMMUCTL" apply --root "$R" --profile evil --vendor intel > "$TMP/evil.out" 2>&1; then
        fail "a token with \$( was written"
else
        [ ! -e "$R/efi/loader/addons" ] && ok "a token with \$( is refused, nothing written" || fail "unsafe token: $(cat "$TMP/evil.out")"
fi
if out=$(IOMMUCTL_UKI_ADDON_STUB=$TMP/none "$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel 2>&1); then
        fail "apply without an add-on stub succeeded"
else
        grep -q "add-on stub $TMP/none" <<< "$out" && [ ! -e "$R/efi/loader/addons" ] && ok "no add-on stub: refused, nothing written" ||
                fail "no stub: $out"
fi
# 6. What systemd-stub appends (src/boot/efi/stub.c load_addons(), systemd 257): under Secure Boot
# an unsigned add-on is refused by LoadImage; an add-on whose .uname differs from the UKI's is
# skipped. status leaves both out of the line and names them with the reason.
entry_json() { # ROOT KIND: the first entry of that kind, as "options|addons|skipped reasons"
        "$IOMMUCTL" status --root "$1" --json | python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin)["entries"] if e["kind"] == sys.argv[1]][0]
print(e["options"] + "|" + ",".join(a.rsplit("/", 1)[1] for a in e["addons"]) + "|" +
      ";".join(s["path"].rsplit("/", 1)[1] + ": " + s["reason"] for s in e["addons_skipped"]))' "$2"
}
R=$TMP/sb
pe "$R/efi/loader/addons/foreign.addon.efi" "$IOMMUCTL_UKI_ADDON_STUB" "cmdline=foreign=1"
pe "$TMP/site.unsigned" "$IOMMUCTL_UKI_ADDON_STUB" "cmdline=site=2"
sbsign --key "$TMP/db.key" --cert "$TMP/db.crt" --output "$R/efi/loader/addons/site.addon.efi" "$TMP/site.unsigned" > /dev/null 2>&1 ||
        fail "sbsign site.addon.efi"
want="$UKI_LINE $tokens site=2|iommuctl-gpu-sriov.addon.efi,site.addon.efi|foreign.addon.efi: not signed: under Secure Boot the firmware (or shim) refuses to load it"
[ "$(entry_json "$R" uki)" = "$want" ] && ok "Secure Boot: the unsigned foreign add-on is not on the line, status names it" ||
        fail "Secure Boot add-ons: '$(entry_json "$R" uki)', want '$want'"
"$IOMMUCTL" status --root "$R" --profile gpu-sriov --vendor intel | grep -qx "Add-on:    /efi/loader/addons/foreign.addon.efi skipped by systemd-stub: not signed: under Secure Boot the firmware (or shim) refuses to load it" &&
        ok "status (text) names the skipped add-on of the next boot" || fail "status text: $("$IOMMUCTL" status --root "$R" --profile gpu-sriov --vendor intel)"
rm "$R/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
[ "$(entry_json "$R" uki)" = "$UKI_LINE foreign=1 $tokens site=2|foreign.addon.efi,iommuctl-gpu-sriov.addon.efi,site.addon.efi|" ] &&
        ok "Secure Boot off: the same add-on is on the line" || fail "Secure Boot off: $(entry_json "$R" uki)"

R=$TMP/uname
tree "$R"
pe "$R/efi/loader/addons/old.addon.efi" "$IOMMUCTL_UKI_ADDON_STUB" "cmdline=old=1" "uname=6.1.0-13-amd64"
pe "$R/efi/EFI/Linux/debian-6.12.efi.extra.d/same.addon.efi" "$IOMMUCTL_UKI_ADDON_STUB" "cmdline=same=2" "uname=6.12.0-1-amd64"
want="$UKI_LINE same=2|same.addon.efi|old.addon.efi: .uname '6.1.0-13-amd64' does not match the UKI's '6.12.0-1-amd64'"
[ "$(entry_json "$R" uki)" = "$want" ] && ok ".uname: the add-on for another kernel is skipped, the matching one counts" ||
        fail ".uname: '$(entry_json "$R" uki)', want '$want'"

# A Type #1 entry whose efi is a UKI: the options replace its .cmdline (Secure Boot off), and the
# stub appends the partition's and the image's add-ons; under Secure Boot the options are ignored
# (the UKI has a .cmdline) and the unsigned add-on is refused.
R=$TMP/type1
mkdir -p "$R/efi/EFI/systemd" "$R/efi/loader/entries"
printf 'MZ' > "$R/efi/EFI/systemd/systemd-bootx64.efi"
pe "$R/efi/EFI/debian/uki.efi" "$STUB" "cmdline=$UKI_LINE" "uname=6.12.0-1-amd64" "linux=not a kernel"
printf 'title UKI\nefi /EFI/debian/uki.efi\noptions root=/dev/vda2 rw\n' > "$R/efi/loader/entries/uki.conf"
pe "$R/efi/loader/addons/foreign.addon.efi" "$IOMMUCTL_UKI_ADDON_STUB" "cmdline=foreign=1"
mkdir -p "$R/efi/EFI/debian/uki.efi.extra.d"
cp "$TMP/sb/efi/loader/addons/site.addon.efi" "$R/efi/EFI/debian/uki.efi.extra.d/"
[ "$(entry_json "$R" bls)" = "root=/dev/vda2 rw foreign=1 site=2|foreign.addon.efi,site.addon.efi|" ] &&
        ok "Type #1 efi=UKI: options, then the global and the image's add-ons" || fail "Type #1 efi=: $(entry_json "$R" bls)"
# bootctl 252 lists the entry with its options (what systemd-boot passes); the add-ons come after.
# shellcheck disable=SC2016 # expanded by the inner shell
unshare -m --propagation private sh -euc 'mount --bind "$1" "$1"; mount --bind "$2" "$2"
        SYSTEMD_RELAX_ESP_CHECKS=1 SYSTEMD_RELAX_XBOOTLDR_CHECKS=1 bootctl --esp-path="$1" --boot-path="$2" list --json=short --no-pager' \
        sh "$R/efi" "$TMP/no-xbootldr" > "$TMP/bootctl-type1.json" || fail "bootctl list (Type #1 efi=) failed"
python3 - "$TMP/bootctl-type1.json" <<'PY' && ok "bootctl 252 lists the efi= entry with the options the line starts with" || fail "bootctl 252 and status disagree on the efi= entry"
import json, sys
bc = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
e = [e for e in bc if e["id"] == "uki.conf"]
assert len(e) == 1, bc
assert " ".join(e[0].get("options", "").split()) == "root=/dev/vda2 rw", e[0]
PY
mkdir -p "$R/sys/firmware/efi/efivars"
printf '\x06\x00\x00\x00\x01' > "$R/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c"
[ "$(entry_json "$R" bls)" = "$UKI_LINE site=2|site.addon.efi|foreign.addon.efi: not signed: under Secure Boot the firmware (or shim) refuses to load it" ] &&
        ok "Type #1 efi=UKI under Secure Boot: the UKI's .cmdline, the signed add-on only" || fail "Type #1 efi= under Secure Boot: $(entry_json "$R" bls)"
# apply: the options cannot reach that line under Secure Boot, so the add-on is written (signed),
# on the entry's partition; status then sees the profile on the line.
mkdir -p "$R/etc/iommu/profiles"
cp "$TMP/sb/etc/iommu/profiles/gpu-sriov.conf" "$R/etc/iommu/profiles/"
out=$("$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel 2>&1) || fail "apply on Type #1 efi= under Secure Boot: $out"
A=$R/efi/loader/addons/iommuctl-gpu-sriov.addon.efi
[ -f "$A" ] && sbverify --cert "$TMP/db.crt" "$A" > /dev/null 2>&1 && [ "$(section "$A")" = "$tokens" ] &&
        [ "$(entry_json "$R" bls)" = "$UKI_LINE $tokens site=2|iommuctl-gpu-sriov.addon.efi,site.addon.efi|foreign.addon.efi: not signed: under Secure Boot the firmware (or shim) refuses to load it" ] &&
        "$IOMMUCTL" status --root "$R" --profile gpu-sriov --vendor intel --check > /dev/null &&
        ok "apply on a Type #1 efi=UKI under Secure Boot writes a signed add-on; status --check passes" ||
        fail "apply on Type #1 efi= under Secure Boot: $out / $(entry_json "$R" bls)"
# A Type #1 efi=UKI entry without options boots the UKI's .cmdline: apply used to add an options
# line with the tokens alone, which the stub takes instead of the .cmdline (root= lost). Now the
# entry file is left alone and an add-on carries the tokens.
R=$TMP/type1-bare
mkdir -p "$R/efi/EFI/systemd" "$R/efi/loader/entries"
printf 'MZ' > "$R/efi/EFI/systemd/systemd-bootx64.efi"
pe "$R/efi/EFI/debian/uki.efi" "$STUB" "cmdline=$UKI_LINE" "linux=not a kernel"
printf 'title UKI\nefi /EFI/debian/uki.efi\n' > "$R/efi/loader/entries/uki.conf"
cp "$R/efi/loader/entries/uki.conf" "$TMP/uki.conf.before"
out=$("$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel 2>&1) || fail "apply on a bare Type #1 efi=UKI: $out"
cmp -s "$R/efi/loader/entries/uki.conf" "$TMP/uki.conf.before" && [ "$(section "$R/efi/loader/addons/iommuctl-gpu-sriov.addon.efi")" = "$tokens" ] &&
        [ "$(entry_json "$R" bls)" = "$UKI_LINE $tokens|iommuctl-gpu-sriov.addon.efi|" ] &&
        ok "a Type #1 efi=UKI without options keeps its .cmdline; the add-on carries the tokens" ||
        fail "bare Type #1 efi=UKI: $(cat "$R/efi/loader/entries/uki.conf") / $(entry_json "$R" bls) / $out"
# A UKI on Debian 12's systemd-stub (252, its .sdmagic says so): the stub reads no add-ons, so none
# counts, status says why, and apply writes none (only a rebuilt UKI changes that line).
R=$TMP/stub252
mkdir -p "$R/efi/EFI/systemd" "$R/efi/loader"
printf 'MZ' > "$R/efi/EFI/systemd/systemd-bootx64.efi"
pe "$R/efi/EFI/Linux/debian-6.1.efi" "$STUB252" "osrel=ID=debian
VERSION_ID=12" "cmdline=$UKI_LINE" "linux=not a kernel"
pe "$R/efi/loader/addons/site.addon.efi" "$IOMMUCTL_UKI_ADDON_STUB" "cmdline=site=2"
[ "$(entry_json "$R" uki)" = "$UKI_LINE||site.addon.efi: this UKI's systemd-stub 252 reads no add-ons (254 and later do)" ] &&
        ok "a UKI on systemd-stub 252: its add-ons do not count, status says why" || fail "stub 252: $(entry_json "$R" uki)"
"$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel > "$TMP/apply252.out" 2>&1 || true
[ ! -e "$R/efi/loader/addons/iommuctl-gpu-sriov.addon.efi" ] &&
        grep -q "built on systemd-stub 252, which reads no command-line add-ons" "$TMP/apply252.out" &&
        ok "apply writes no add-on that systemd-stub 252 would not read, and says so" ||
        fail "apply wrote an add-on for a 252 UKI: $(cat "$TMP/apply252.out")"
finish
