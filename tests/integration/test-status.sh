#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# iommuctl status: the entry that boots next and whether it carries the profile, offline under
# --root. status --check is the gate before a reboot: 1 when the next boot lacks the profile's
# effect, 0 after apply. The next entry follows systemd-boot's EFI variables and loader.conf and
# GRUB's environment block; a kernel installed after apply is caught. plan --check on an image
# compares with the same entry. Needs IOMMUCTL and SRCDIR.
. "$(dirname "$0")/apply-lib.sh"
EFIVARS=sys/firmware/efi/efivars
LOADER_GUID=4a67b082-0a4c-41cf-b6c7-440b29bb8c4f

# status ROOT ARGS...: sets $rc and $out (stdout and stderr).
status() {
        local r=$1
        shift
        rc=0
        out=$("$IOMMUCTL" status --root "$r" "$@" 2>&1) || rc=$?
}
expect_rc() {
        [ "$rc" = "$1" ] || fail "$2: exit $rc, expected $1: $out"
}
# efivar ROOT NAME VALUE: an EFI variable as efivarfs shows it (attributes, UTF-16LE, NUL).
efivar() {
        mkdir -p "$1/$EFIVARS"
        { printf '\x07\x00\x00\x00'; printf '%s' "$3" | iconv -f ascii -t utf-16le; printf '\x00\x00'; } > "$1/$EFIVARS/$2-$LOADER_GUID"
}

## The acceptance: an image whose default entry lacks the selected profile's tokens.
IMG="$TMP/img"
fresh systemd-boot-esp "$IMG"
mkdir -p "$IMG/etc/iommu"
printf '[IOMMU]\nProfile=gpu-sriov\nVendor=portable\n' > "$IMG/etc/iommu/iommu.conf"
status "$IMG" --check
expect_rc 1 "status --check on an image without the profile"
grep -q 'Next boot: bls 0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6-6.1.0-21-amd64 (loader.conf default): does NOT carry the profile' <<< "$out" ||
        fail "status does not name the next entry: $out"
rc=0
"$IOMMUCTL" plan --root "$IMG" --check > "$TMP/plan" 2>&1 || rc=$?
[ $rc = 1 ] || fail "plan --root IMG --check exited $rc on an image whose next entry lacks the profile: $(cat "$TMP/plan")"
grep -q 'comparing with the entry that boots next, bls 0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6-6.1.0-21-amd64' "$TMP/plan" ||
        fail "plan does not say what it compared with: $(cat "$TMP/plan")"
"$IOMMUCTL" apply --root "$IMG" > /dev/null 2>&1 || fail "apply --root IMG failed"
status "$IMG" --check
expect_rc 0 "status --check after apply --root IMG"
grep -q 'carries the profile' <<< "$out" || fail "status after apply: $out"
"$IOMMUCTL" plan --root "$IMG" --check > "$TMP/plan" 2>&1 || fail "plan --check after apply: $(cat "$TMP/plan")"
echo "ok: status --root IMG --check: 1 before apply, 0 after"

# Every entry and file is listed, with whether it carries the profile (JSON for programs).
status "$IMG" --json
expect_rc 0 "status --json"
python3 - "$out" <<'PY' || fail "status --json: $out"
import json, sys
d = json.loads(sys.argv[1])
assert d["version"] == 1 and d["profile"]["name"] == "gpu-sriov" and d["profile"]["kernel_args_for"] == "portable"
assert d["profile"]["kernel_args"] == ["intel_iommu=on", "iommu=pt"]
nb = d["next_boot"]
assert nb["kind"] == "bls" and nb["id"].endswith("6.1.0-21-amd64") and nb["source"] == "loader.conf default", nb
assert nb["carries_profile"] is True
kinds = sorted((e["kind"], e["path"]) for e in d["entries"])
assert [k for k, _ in kinds] == ["bls", "bls", "kernel-cmdline"], kinds
assert all(e["carries_profile"] for e in d["entries"]), d["entries"]
assert sum(e["next"] for e in d["entries"]) == 1
assert d["grub_cfg"] is None
PY

## systemd-boot's EFI variables decide before loader.conf: only the newest entry carries the profile.
fresh systemd-boot-esp "$IMG"
"$IOMMUCTL" apply --root "$IMG" --profile gpu-sriov --vendor portable --entries '*-6.1.0-21-amd64.conf' > /dev/null 2>&1 ||
        fail "apply --entries failed"
status "$IMG" --check
expect_rc 0 "status --check, the default entry updated"
efivar "$IMG" LoaderEntryDefault 0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6-6.1.0-18-amd64.conf
status "$IMG" --check
expect_rc 1 "LoaderEntryDefault naming the old entry"
grep -q '6.1.0-18-amd64 (EFI variable LoaderEntryDefault): does NOT' <<< "$out" || fail "LoaderEntryDefault: $out"
efivar "$IMG" LoaderEntryOneShot 0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6-6.1.0-21-amd64.conf
status "$IMG" --check
expect_rc 0 "LoaderEntryOneShot naming the updated entry"
grep -q '6.1.0-21-amd64 (EFI variable LoaderEntryOneShot): carries' <<< "$out" || fail "LoaderEntryOneShot: $out"
rm -rf "$IMG/sys"

# A kernel installed after apply (its entry from an old /etc/kernel/cmdline) is the next boot.
e=$IMG/efi/loader/entries/0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6
sed 's/6\.1\.0-21/6.1.0-25/g; /^options *intel_iommu/d' "$e-6.1.0-21-amd64.conf" > "$e-6.1.0-25-amd64.conf"
status "$IMG" --check
expect_rc 1 "a kernel installed after apply, without the tokens"
grep -q '6.1.0-25-amd64 (loader.conf default): does NOT' <<< "$out" || fail "new kernel: $out"
rm "$e-6.1.0-25-amd64.conf"

# A unified kernel image: its .cmdline section is read (a minimal PE image with that section, and
# the .osrel without which systemd-boot and bootctl skip a UKI).
mkdir -p "$IMG/efi/EFI/Linux"
python3 - "$IMG/efi/EFI/Linux/debian-6.1.0-30-amd64.efi" <<'PY'
import struct, sys
cmdline = b"root=UUID=4e1f ro quiet amd_iommu=off\n\0"
osrel = b"ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n"
dos = b"MZ" + b"\0" * 58 + struct.pack("<I", 0x40)
coff = b"PE\0\0" + struct.pack("<HHIIIHH", 0x8664, 2, 0, 0, 0, 0, 0)
def section(name, data, at):
    return name.ljust(8, b"\0") + struct.pack("<IIIIIIHHI", len(data), 0x1000 + at, len(data), at, 0, 0, 0, 0, 0x40000040)
head = dos + coff + section(b".cmdline", cmdline, 0x100) + section(b".osrel", osrel, 0x200)
open(sys.argv[1], "wb").write(head + b"\0" * (0x100 - len(head)) + cmdline + b"\0" * (0x100 - len(cmdline)) + osrel)
PY
status "$IMG" --json
python3 - "$out" <<'PY' || fail "UKI: $out"
import json, sys
d = json.loads(sys.argv[1])
uki = [e for e in d["entries"] if e["kind"] == "uki"]
assert len(uki) == 1 and uki[0]["id"] == "debian-6.1.0-30-amd64.efi", uki
assert uki[0]["options"] == "root=UUID=4e1f ro quiet amd_iommu=off" and uki[0]["carries_profile"] is False, uki
PY
efivar "$IMG" LoaderEntryOneShot debian-6.1.0-30-amd64.efi
status "$IMG" --check
expect_rc 1 "LoaderEntryOneShot naming a UKI without the profile"
grep -q 'Next boot: uki debian-6.1.0-30-amd64.efi (EFI variable LoaderEntryOneShot): does NOT' <<< "$out" || fail "UKI next: $out"
rm -rf "$IMG/sys" "$IMG/efi/EFI/Linux"
echo "ok: systemd-boot: LoaderEntryOneShot, LoaderEntryDefault, loader.conf default, a new kernel, a UKI"

## GRUB with BLS entries (RHEL 9): grubenv saved_entry; GRUB defaults listed too.
R="$TMP/rhel9"
fresh rhel9-bls-grub "$R"
status "$R" --profile gpu-sriov --vendor intel --check
expect_rc 1 "RHEL 9 before apply"
grep -q '5.14.0-427.13.1.el9_4.x86_64 (grubenv saved_entry): does NOT' <<< "$out" || fail "RHEL 9 saved_entry: $out"
grep -Eq '^ +no +grub +/etc/default/grub$' <<< "$out" || fail "RHEL 9: GRUB defaults not listed as lacking the profile: $out"
"$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel > /dev/null 2>&1 || fail "RHEL 9 apply"
status "$R" --check
expect_rc 0 "RHEL 9 after apply"
grep -Eq '^ +yes +grub +/etc/default/grub$' <<< "$out" || fail "RHEL 9: GRUB defaults after apply: $out"

## apply --entries default changes the entry status says boots by default (GRUB_DEFAULT names
## the rescue entry here, so grubenv's saved_entry does not count).
R="$TMP/rhel9-default"
fresh rhel9-bls-grub "$R"
rescue=7f3c1e0b2a5d4c8e9f6a1b2c3d4e5f60-0-rescue
sed -i "s/^GRUB_DEFAULT=saved/GRUB_DEFAULT=$rescue/" "$R/etc/default/grub"
status "$R" --profile gpu-sriov --vendor intel
grep -q "Next boot: bls $rescue (GRUB_DEFAULT): does NOT" <<< "$out" || fail "GRUB_DEFAULT=id: $out"
"$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel --backend bls --entries default > /dev/null 2>&1 ||
        fail "apply --entries default"
grep -q 'iommu=pt' "$R/boot/loader/entries/$rescue.conf" || fail "apply --entries default did not change $rescue"
! grep -q 'iommu=pt' "$R/boot/loader/entries/7f3c1e0b2a5d4c8e9f6a1b2c3d4e5f60-5.14.0-427.13.1.el9_4.x86_64.conf" ||
        fail "apply --entries default changed the saved_entry, not the GRUB_DEFAULT entry"
status "$R" --profile gpu-sriov --vendor intel
grep -q "Next boot: bls $rescue (GRUB_DEFAULT): carries the profile" <<< "$out" || fail "after apply --entries default: $out"
echo "ok: apply --entries default and status agree on the default entry"

## ... also when LoaderEntryDefault (an EFI variable, read as a file under the root) names an
## entry that is not the first in systemd-boot's order.
D="$TMP/efi-default"
mkdir -p "$D/efi/EFI/systemd" "$D/efi/loader/entries"
: > "$D/efi/EFI/systemd/systemd-bootx64.efi"
printf 'title A65\noptions root=/dev/a65\n' > "$D/efi/loader/entries/a-6.5.conf"
printf 'title A61\noptions root=/dev/a61\n' > "$D/efi/loader/entries/a-6.1.conf"
efivar "$D" LoaderEntryDefault a-6.1.conf
status "$D" --json
next=$(python3 -c 'import json, sys; n = json.loads(sys.argv[1])["next_boot"]; print(n["path"], n["source"])' "$out") ||
        fail "status --json: $out"
[ "$next" = "/efi/loader/entries/a-6.1.conf EFI variable LoaderEntryDefault" ] || fail "next with LoaderEntryDefault: $next"
python3 -c 'import json, sys; c = json.loads(sys.argv[1])["boot_config"]; assert c["efi_loader_entry_default"] == "a-6.1.conf" and c["esp"] == "/efi", c' "$out" ||
        fail "boot_config does not show LoaderEntryDefault: $out"
out=$("$IOMMUCTL" apply --root "$D" --profile gpu-sriov --vendor intel --backend bls --entries default --dry-run 2>&1) ||
        fail "apply --entries default --dry-run: $out"
changed=$(grep '^+++ b/.*/loader/entries/' <<< "$out" | sed 's|^+++ b||')
[ "$changed" = "/efi/loader/entries/a-6.1.conf" ] || fail "apply --entries default changes '$changed', status names a-6.1: $out"
echo "ok: LoaderEntryDefault: apply --entries default --dry-run changes the entry status names"

## ostree/bootc: apply refuses and points at their tools; status still reads the entries.
O="$TMP/ostree"
mkdir -p "$O/boot/loader.1/entries" "$O/etc/default"
ln -s loader.1 "$O/boot/loader"
printf 'title Fedora CoreOS\nversion 1\nlinux /ostree/fcos-1/vmlinuz\noptions root=UUID=x rw ostree=/ostree/boot.1/fedora-coreos/abc/0\n' \
        > "$O/boot/loader.1/entries/ostree-1-fedora-coreos.conf"
status "$O" --profile gpu-sriov --vendor intel --check
expect_rc 1 "status --check on an ostree root without the profile"
grep -q 'Next boot: bls ostree-1-fedora-coreos' <<< "$out" || fail "ostree: status does not read the entry: $out"
rc=0
out=$("$IOMMUCTL" apply --root "$O" --profile gpu-sriov --vendor intel 2>&1) || rc=$?
[ "$rc" != 0 ] || fail "apply on an ostree root succeeded: $out"
grep -q "rpm-ostree kargs --append-if-missing=intel_iommu=on --append-if-missing=iommu=pt" <<< "$out" || fail "ostree refusal: $out"
grep -q "export bootc" <<< "$out" || fail "ostree refusal does not name export bootc: $out"
! grep -rq iommu= "$O/boot" || fail "apply wrote into an ostree root"
echo "ok: ostree/bootc roots: apply refuses with rpm-ostree kargs / bootc kargs.d, status reads them"

## RHEL 8: entries read "$kernelopts" from grubenv.
R="$TMP/rhel8"
fresh rhel8-kernelopts "$R"
status "$R" --profile gpu-sriov --vendor amd --check
expect_rc 1 "RHEL 8 before apply"
command -v grub-editenv > /dev/null || command -v grub2-editenv > /dev/null || fail "grub-editenv is not installed (grub2-common)"
"$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor amd > /dev/null 2>&1 || fail "RHEL 8 apply"
status "$R" --check --json
expect_rc 0 "RHEL 8 after apply (tokens in \$kernelopts)"
grep -q '"options": "[^"]*iommu=pt' <<< "$out" || fail "RHEL 8: \$kernelopts not expanded: $out"

## No boot entry at all: --check cannot say yes.
E="$TMP/empty"
mkdir -p "$E/etc"
status "$E" --profile gpu-sriov --vendor intel --check
expect_rc 2 "status --check with nothing to boot"
grep -q 'Cannot tell which entry boots next' <<< "$out" || fail "empty tree: $out"
echo "ok: GRUB saved_entry, \$kernelopts, GRUB defaults, nothing to boot"

## Issue 19's systemd-boot cases: boot counting and case, with no profile selected (issue 22:
## status lists like bootctl, exits 0 and names the next boot).
S="$TMP/sdboot"
mkdir -p "$S/efi/EFI/systemd" "$S/efi/loader/entries"
: > "$S/efi/EFI/systemd/systemd-bootx64.efi"
printf 'title A65\nversion 6.5\nlinux /k\noptions root=/dev/a65\n' > "$S/efi/loader/entries/a-6.5+0-3.conf"
printf 'title A61\nversion 6.1\nlinux /k\noptions root=/dev/a61\n' > "$S/efi/loader/entries/a-6.1.conf"
status "$S"
expect_rc 0 "status with no profile selected"
grep -q '^Next boot: bls a-6.1 (the first entry)$' <<< "$out" || fail "no tries left must sort last: $out"
grep -q 'a-6.5+0-3.conf' <<< "$out" || fail "the entry with no tries left is still listed: $out"
status "$S" --check
expect_rc 2 "status --check with no profile selected"
rm "$S"/efi/loader/entries/*
printf 'title X612\nlinux /k\noptions root=/dev/x612\n' > "$S/efi/loader/entries/X-6.12.CONF"
printf 'title x61\nlinux /k\noptions root=/dev/x61\n' > "$S/efi/loader/entries/x-6.1.conf"
printf 'default x-6.12*\n' > "$S/efi/loader/loader.conf"
status "$S" --json
expect_rc 0 "status --json with no profile selected"
python3 - "$out" <<'PY' || fail "*.CONF entry: $out"
import json, sys
d = json.loads(sys.argv[1])
assert d["profile"] is None
assert [e["id"] for e in d["entries"]] == ["x-6.1", "X-6.12"], d["entries"]
assert d["next_boot"]["id"] == "X-6.12" and d["next_boot"]["options"] == "root=/dev/x612", d["next_boot"]
assert d["default_boot"]["source"] == "loader.conf default", d
assert d["boot_config"]["loader_conf"] == "/efi/loader/loader.conf" and d["boot_config"]["loader_conf_default_line"] == 1, d
PY
status "$S"
grep -q '^Default:   bls X-6.12 (loader.conf default, /efi/loader/loader.conf:1)$' <<< "$out" || fail "Default line: $out"
out=$("$IOMMUCTL" apply --root "$S" --profile gpu-sriov --vendor intel --backend bls --entries default --dry-run 2>&1) ||
        fail "apply --entries default on X-6.12.CONF: $out"
changed=$(grep '^+++ b/.*/loader/entries/' <<< "$out" | sed 's|^+++ b||')
[ "$changed" = "/efi/loader/entries/X-6.12.CONF" ] || fail "apply --entries default changes '$changed', not X-6.12.CONF: $out"
echo "ok: boot counting, *.CONF, a case-insensitive default, status without a profile"
echo OK
