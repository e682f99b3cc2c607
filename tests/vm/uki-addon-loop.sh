#!/bin/bash
# Issue 23: the UKI command-line add-on through the firmware. OVMF boots
# systemd-boot, which boots a unified kernel image built here with Debian 13's
# systemd-stub 257 (systemd-boot-efi of trixie) around Debian 13's kernel and
# a busybox initramfs holding iommuctl, objcopy and the add-on stub; nothing
# in the UKI names an IOMMU token.
#
#   boot 1  /proc/cmdline lacks the profile's tokens; `iommuctl apply
#           --profile gpu-sriov --vendor intel` finds that the next boot is the
#           UKI, builds ESP/loader/addons/iommuctl-gpu-sriov.addon.efi with
#           objcopy on /usr/lib/systemd/boot/efi/addonx64.efi.stub (found at
#           run time, as on a Debian 13 host) and writes it to the ESP
#   boot 2  two add-ons of someone else's were added on the host in reverse
#           name order; systemd-stub appends the add-ons' .cmdline sorted by
#           name (not in FAT's directory order): /proc/cmdline carries the
#           tokens, `iommuctl verify` passes (its boot-entry check: the entry's
#           line in iommuctl's model, UKI .cmdline then add-ons, is the running
#           one), `iommuctl status` says the next boot carries the
#           profile; then `iommuctl rollback` removes the add-on (the change
#           sets in /var/lib/iommu, kept on the ESP across boots)
#   boot 3  the tokens are gone again, the other add-ons stay
#
# Then Secure Boot, with Debian's snakeoil keys enrolled (OVMF_VARS_4M.snakeoil.fd,
# OVMF_CODE_4M.secboot.fd), systemd-boot and the UKI signed with that key:
#   SB 1    SecureBoot=1 in efivarfs: apply with the shipped profile (no key)
#           refuses, writing nothing; with [UKI] SigningKey=/SigningCertificate=
#           (the db key) it writes the add-on signed with sbsign; the host then
#           drops an unsigned add-on (unsigned_addon=1) into loader/addons/
#   SB 2    the stub appended the signed add-on and skipped the unsigned one;
#           verify's cmdline and boot-entry checks pass, and boot-entry names the
#           unsigned add-on the stub skipped (the model leaves it out, as the stub does)
#
#   tests/vm/uki-addon-loop.sh [-k DIR]   -k keeps the ESP and console logs
#
# Before the boots, on the host: the same apply on a copy of the ESP with
# Debian 13's ukify on $PATH builds the add-on with ukify instead.
#
# Caches (IOMMU_VM_CACHE, tests/vm/lib.sh): trixie's kernel, systemd-boot-efi,
# systemd-ukify and python3-pefile, fetched through the private apt configuration of
# <cache>/apt/trixie. About 2 minutes in all under TCG (5 boots).

set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin

VM_SUITE=trixie
# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VM_TIMEOUT=${VM_TIMEOUT:-240}
IOMMUCTL_BIN=${IOMMUCTL_BIN:-$VM_REPO/build/src/iommuctl}
PROFILE=gpu-sriov
TOKENS="intel_iommu=on iommu=pt"
UKI_CMDLINE="console=ttyS0 quiet no_timer_check panic=-1"
ADDON=loader/addons/iommuctl-$PROFILE.addon.efi
KEEP=

while getopts k: o; do
	case $o in
	k) KEEP=$OPTARG ;;
	*) exit 2 ;;
	esac
done

FAILURES=0
fail() {
	echo "FAIL $*"
	FAILURES=$((FAILURES + 1))
}
ok() {
	echo "ok   $*"
}

[[ -x $IOMMUCTL_BIN ]] || { vm_err "IOMMUCTL_BIN=$IOMMUCTL_BIN is not an executable (build first)"; exit 2; }
WORK=$(mktemp -d)
cleanup() {
	if [[ -n $KEEP ]]; then
		mkdir -p "$KEEP" && cp -a "$WORK/." "$KEEP/"
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

SECONDS=0
vm_fetch_kernel amd64
SDBOOT=$VM_CACHE/suites/trixie/amd64/systemd-boot-efi
_vm_apt_suite_setup
_vm_fetch_deb systemd-boot-efi amd64 "$SDBOOT"
EFI_DIR=$SDBOOT/usr/lib/systemd/boot/efi
for f in linuxx64.efi.stub addonx64.efi.stub systemd-bootx64.efi; do
	[[ -f $EFI_DIR/$f ]] || { vm_err "$EFI_DIR/$f missing ($(cat "$SDBOOT/.stamp" | paste -sd' '))"; exit 2; }
done
RELEASE=$(vm_kernel_release amd64)
vm_log "kernel $(vm_kernel_package amd64), $(awk -F': ' '{ printf "%s ", $2 }' "$SDBOOT/.stamp")(fetched in ${SECONDS}s)"

# --- the guest -----------------------------------------------------------------------------

cat >"$WORK/init" <<'EOF'
#!/bin/sh
. /lib/vm-guest.sh
vm_guest_setup
vm_guest_load_modules
vm_guest_mount_efivars
mkdir -p /efi /var/tmp
i=0
until mount -t vfat /dev/sda /efi 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 300 ] || { echo "guest: the ESP (/dev/sda) never appeared"; vm_guest_done; }
	sleep 1
done
# /var persists on a real system (the change sets rollback reads): here it lives on the ESP.
mkdir -p /efi/var-lib-iommu /var/lib/iommu
mount --bind /efi/var-lib-iommu /var/lib/iommu
cat /proc/cmdline >/tmp/cmdline
vm_guest_emit_file cmdline /tmp/cmdline
case $(cat /efi/phase 2>/dev/null) in
sb1)
	# Secure Boot on: the shipped profile names no key, apply must refuse; with [UKI]
	# SigningKey= and SigningCertificate= (the firmware's db key) it signs the add-on.
	iommuctl apply --profile gpu-sriov --vendor intel --reboot=no >/tmp/apply-unsigned.out 2>&1
	echo "rc=$?" >>/tmp/apply-unsigned.out
	ls /efi/loader/addons >>/tmp/apply-unsigned.out 2>&1
	mkdir -p /etc/iommu/profiles
	{ cat /usr/lib/iommu/profiles/gpu-sriov.conf; printf '\n[UKI]\nSigningKey=/etc/iommu/sb/db.key\nSigningCertificate=/etc/iommu/sb/db.crt\n'; } \
		>/etc/iommu/profiles/gpu-sriov.conf
	iommuctl apply --profile gpu-sriov --vendor intel --reboot=no >/tmp/apply-signed.out 2>&1
	echo "rc=$?" >>/tmp/apply-signed.out
	od -An -tx1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c >/tmp/sb 2>&1
	echo sb2 >/efi/phase
	vm_guest_emit_file sb /tmp/sb
	vm_guest_emit_file apply-unsigned /tmp/apply-unsigned.out
	vm_guest_emit_file apply-signed /tmp/apply-signed.out
	;;
sb2)
	iommuctl verify --profile gpu-sriov --vendor intel --json >/tmp/verify.json 2>/tmp/verify.err
	echo "$?" >/tmp/verify.rc
	echo done >/efi/phase
	vm_guest_emit_file verify /tmp/verify.json
	vm_guest_emit_file verify-rc /tmp/verify.rc
	;;
'')
	iommuctl apply --profile gpu-sriov --vendor intel --reboot=no >/tmp/apply.out 2>&1
	echo "rc=$?" >>/tmp/apply.out
	iommuctl status --json >/tmp/status.json 2>/tmp/status.err
	echo 2 >/efi/phase
	vm_guest_emit_file apply /tmp/apply.out
	vm_guest_emit_file status-before /tmp/status.json
	;;
2)
	iommuctl verify --profile gpu-sriov --vendor intel --json >/tmp/verify.json 2>/tmp/verify.err
	echo "$?" >/tmp/verify.rc
	iommuctl status --profile gpu-sriov --vendor intel --json >/tmp/status.json 2>/tmp/status.err
	iommuctl rollback >/tmp/rollback.out 2>&1
	echo "rc=$?" >>/tmp/rollback.out
	echo 3 >/efi/phase
	vm_guest_emit_file verify /tmp/verify.json
	vm_guest_emit_file verify-rc /tmp/verify.rc
	vm_guest_emit_file status /tmp/status.json
	vm_guest_emit_file rollback /tmp/rollback.out
	;;
esac
umount /var/lib/iommu
umount /efi
vm_guest_done
EOF

# Debian's OVMF test keys (package ovmf): PK, KEK and db of OVMF_VARS_4M.snakeoil.fd.
openssl pkey -in /usr/share/ovmf/PkKek-1-snakeoil.key -passin pass:snakeoil -out "$WORK/db.key"
cp /usr/share/ovmf/PkKek-1-snakeoil.pem "$WORK/db.crt"
specs=("bin:$IOMMUCTL_BIN:/usr/bin/iommuctl" "bin:$(command -v objcopy):/usr/bin/objcopy"
	"bin:$(command -v sbsign):/usr/bin/sbsign" "file:$WORK/db.key:/etc/iommu/sb/db.key" "file:$WORK/db.crt:/etc/iommu/sb/db.crt"
	"file:$EFI_DIR/addonx64.efi.stub:/usr/lib/systemd/boot/efi/addonx64.efi.stub"
	"file:$(vm_kernel_config amd64):/boot/config-$RELEASE")
# The live EFI variables are read through libefivar, loaded when used.
for lib in /usr/lib/x86_64-linux-gnu/libefivar.so.1 /lib/x86_64-linux-gnu/libefivar.so.1; do
	[[ -e $lib ]] && specs+=("bin:$lib:$lib") && break
done
for conf in "$VM_REPO"/profiles/*.conf; do
	specs+=("file:$conf:/usr/lib/iommu/profiles/$(basename "$conf")")
done
for m in ahci sd_mod vfat nls_cp437 nls_ascii nls_utf8; do
	specs+=("mod:$m")
done
specs+=(optmod:efivarfs)
vm_build_initramfs "$WORK/initrd.gz" "$WORK/init" "${specs[@]}"

# --- the UKI: systemd-stub 257 + .osrel .cmdline .uname .initrd .linux ---------------------

# Sections after the stub's last one, each at the next multiple of the stub's
# SectionAlignment (ukify's layout).
build_uki() {
	local stub=$1 out=$2 base align next
	shift 2
	base=$((16#$(objdump -p "$stub" | awk '$1 == "ImageBase" { print $2 }')))
	align=$((16#$(objdump -p "$stub" | awk '$1 == "SectionAlignment" { print $2 }')))
	next=$((16#$(objdump -p "$stub" | awk '$1 == "SizeOfImage" { print $2 }')))
	local -a args=()
	local spec name file
	for spec in "$@"; do
		name=${spec%%=*}
		file=${spec#*=}
		next=$(((next + align - 1) / align * align))
		args+=(--add-section "$name=$file" --change-section-vma "$name=$(printf 0x%x $((base + next)))")
		next=$((next + $(stat -c %s "$file")))
	done
	objcopy "${args[@]}" "$stub" "$out"
}

printf 'ID=debian\nVERSION_ID=13\nPRETTY_NAME="Debian GNU/Linux 13 (iommuctl UKI add-on loop)"\n' >"$WORK/osrel"
printf '%s' "$UKI_CMDLINE" >"$WORK/cmdline"
printf '%s' "$RELEASE" >"$WORK/uname"
build_uki "$EFI_DIR/linuxx64.efi.stub" "$WORK/debian-uki.efi" \
	.osrel="$WORK/osrel" .cmdline="$WORK/cmdline" .uname="$WORK/uname" \
	.initrd="$WORK/initrd.gz" .linux="$(vm_kernel_image amd64)"

ESP=$WORK/esp.img
mt() { MTOOLS_SKIP_CHECK=1 "$@"; }
printf 'timeout 0\n' >"$WORK/loader.conf"
mkfs.vfat -C -n ESP "$ESP" $(($(stat -c %s "$WORK/debian-uki.efi") / 1024 + 16384)) >/dev/null
mt mmd -i "$ESP" ::/EFI ::/EFI/BOOT ::/EFI/Linux ::/loader
mt mcopy -i "$ESP" "$EFI_DIR/systemd-bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
mt mcopy -i "$ESP" "$WORK/loader.conf" ::/loader/loader.conf
mt mcopy -i "$ESP" "$WORK/debian-uki.efi" ::/EFI/Linux/debian-uki.efi
cp "$VM_OVMF_VARS" "$WORK/vars.fd"

boot() {
	local n=$1
	local -a iommu
	_vm_x86_iommu_args intel iommu
	vm_log "boot $n"
	_vm_run_qemu "$WORK/console-$n.log" qemu-system-x86_64 -accel tcg -cpu max -m 1024 \
		-machine q35,kernel-irqchip=split "${iommu[@]}" \
		-nographic -no-reboot "${VM_X86_DEVICES[@]}" \
		-drive "if=pflash,format=raw,readonly=on,file=$VM_OVMF_CODE" \
		-drive "if=pflash,format=raw,file=$WORK/vars.fd" \
		-drive "if=ide,format=raw,file=$ESP"
}

has_tokens() {
	local line=" $(cat "$1") " t
	for t in $TOKENS; do
		[[ $line == *" $t "* ]] || return 1
	done
}

# --- ukify: the builder apply prefers when it is on $PATH ------------------------------------

# Debian 13's ukify (with its pefile) runs under this machine's python3; apply on a tree with the
# same UKI must build the add-on with it (ukify adds .sbat, objcopy does not) and the same .cmdline.
UKIFY=$VM_CACHE/suites/trixie/amd64/ukify
_vm_fetch_deb "systemd-ukify python3-pefile" amd64 "$UKIFY"
TREE=$WORK/tree
mkdir -p "$TREE/efi/EFI/Linux" "$TREE/efi/loader" "$TREE/efi/EFI/systemd"
cp "$EFI_DIR/systemd-bootx64.efi" "$TREE/efi/EFI/systemd/"
cp "$WORK/debian-uki.efi" "$TREE/efi/EFI/Linux/"
if PATH=$UKIFY/usr/bin:$PATH PYTHONPATH=$UKIFY/usr/lib/python3/dist-packages IOMMUCTL_PROFILES_PATH=$VM_REPO/profiles \
	IOMMUCTL_UKI_ADDON_STUB=$EFI_DIR/addonx64.efi.stub "$IOMMUCTL_BIN" apply --root "$TREE" --profile "$PROFILE" \
	--vendor intel >"$WORK/ukify.out" 2>&1; then
	objcopy -O binary --only-section=.cmdline "$TREE/efi/$ADDON" "$WORK/ukify.cmdline" 2>/dev/null || true
	if [[ $(cat "$WORK/ukify.cmdline" 2>/dev/null) == "$TOKENS" ]] && objdump -h "$TREE/efi/$ADDON" | grep -q ' \.sbat '; then
		ok "host: apply built the add-on with Debian 13's ukify (.sbat present), .cmdline '$TOKENS'"
	else
		fail "host: the ukify-built add-on: $(objdump -h "$TREE/efi/$ADDON" 2>&1 | grep -c '^ *[0-9]') sections, .cmdline '$(cat "$WORK/ukify.cmdline" 2>/dev/null)'"
	fi
else
	fail "host: apply with ukify: $(cat "$WORK/ukify.out")"
fi

# --- boot 1: apply --------------------------------------------------------------------------

T0=$SECONDS
if boot 1; then
	vm_extract "$WORK/console-1.log" cmdline "$WORK/cmdline-1"
	vm_extract "$WORK/console-1.log" apply "$WORK/apply-1"
	vm_extract "$WORK/console-1.log" status-before "$WORK/status-1.json"
	if has_tokens "$WORK/cmdline-1"; then fail "boot 1: /proc/cmdline already has $TOKENS: $(cat "$WORK/cmdline-1")"; else ok "boot 1: /proc/cmdline without the tokens: $(cat "$WORK/cmdline-1")"; fi
	if grep -qx 'rc=0' "$WORK/apply-1" && grep -q "created  /efi/$ADDON (uki-addon)" "$WORK/apply-1"; then
		ok "boot 1: iommuctl apply wrote /efi/$ADDON"
	else
		fail "boot 1: iommuctl apply: $(cat "$WORK/apply-1")"
	fi
	python3 - "$WORK/status-1.json" "$TOKENS" <<'PY' && ok "boot 1: status: the next boot (the UKI) carries the profile with the add-on" || fail "boot 1: status after apply"
import json, sys
st = json.load(open(sys.argv[1]))
nxt = [e for e in st["entries"] if e.get("next")]
assert len(nxt) == 1 and nxt[0]["kind"] == "uki", nxt
assert nxt[0]["carries_profile"], nxt[0]
assert nxt[0]["options"].split()[-2:] == sys.argv[2].split(), nxt[0]["options"]
PY
else
	fail "boot 1 did not finish"
fi
mt mcopy -n -i "$ESP" "::/$ADDON" "$WORK/addon.efi" 2>/dev/null || fail "the ESP has no $ADDON after boot 1"
if [[ -f $WORK/addon.efi ]]; then
	objcopy -O binary --only-section=.cmdline "$WORK/addon.efi" "$WORK/addon.cmdline"
	[[ $(cat "$WORK/addon.cmdline") == "$TOKENS" ]] && ok "the add-on's .cmdline is exactly '$TOKENS'" ||
		fail "the add-on's .cmdline is '$(cat "$WORK/addon.cmdline")', not '$TOKENS'"
fi

# --- boot 2: the stub appends the add-ons; verify; rollback --------------------------------

# Two add-ons of someone else's, written in reverse name order: FAT keeps creation order, so
# the stub's sort (not the directory's order, which bootctl 257 shows) decides the line.
printf 'zz_last=1' >"$WORK/zz.cmdline"
printf 'aa_first=1' >"$WORK/aa.cmdline"
for n in zz aa; do
	objcopy --add-section .cmdline="$WORK/$n.cmdline" --change-section-vma .cmdline=0x1dd513000 \
		"$EFI_DIR/addonx64.efi.stub" "$WORK/$n.addon.efi"
done
mt mcopy -i "$ESP" "$WORK/zz.addon.efi" ::/loader/addons/zz-last.addon.efi
mt mcopy -i "$ESP" "$WORK/aa.addon.efi" ::/loader/addons/aa-first.addon.efi
mt mdir -b -i "$ESP" ::/loader/addons | sed 's|.*/||' | paste -sd' ' >"$WORK/fat-order"
SORTED="$UKI_CMDLINE aa_first=1 $TOKENS zz_last=1"

if boot 2; then
	vm_extract "$WORK/console-2.log" cmdline "$WORK/cmdline-2"
	vm_extract "$WORK/console-2.log" verify "$WORK/verify-2.json"
	vm_extract "$WORK/console-2.log" verify-rc "$WORK/verify-2.rc"
	vm_extract "$WORK/console-2.log" status "$WORK/status-2.json"
	vm_extract "$WORK/console-2.log" rollback "$WORK/rollback-2"
	[[ $(cat "$WORK/cmdline-2") == "$SORTED" ]] &&
		ok "boot 2: /proc/cmdline is the UKI's .cmdline then the add-ons sorted by name (FAT order: $(cat "$WORK/fat-order")): $(cat "$WORK/cmdline-2")" ||
		fail "boot 2: /proc/cmdline is '$(cat "$WORK/cmdline-2")', not '$SORTED' (FAT order: $(cat "$WORK/fat-order"))"
	[[ $(cat "$WORK/verify-2.rc") == 0 ]] && ok "boot 2: iommuctl verify exits 0" || fail "boot 2: iommuctl verify exits $(cat "$WORK/verify-2.rc")"
	python3 - "$WORK/verify-2.json" <<'PY' && ok "boot 2: verify: cmdline and boot-entry PASS, no FAIL" || fail "boot 2: verify's checks"
import json, sys
v = json.load(open(sys.argv[1]))
checks = {c["id"]: c for c in v["checks"]}
bad = [c for c in v["checks"] if c["result"] == "fail"]
assert not bad, bad
for want in ("cmdline", "boot-entry"):
    assert checks.get(want, {}).get("result") == "pass", (want, checks.get(want))
print("    boot-entry:", checks["boot-entry"]["evidence"])
PY
	python3 - "$WORK/status-2.json" <<'PY' && ok "boot 2: status: the UKI's effective line carries the profile" || fail "boot 2: status"
import json, sys
st = json.load(open(sys.argv[1]))
nxt = [e for e in st["entries"] if e.get("next")]
assert len(nxt) == 1 and nxt[0]["kind"] == "uki" and nxt[0]["carries_profile"], nxt
PY
	grep -q "removed  /efi/$ADDON (uki-addon)" "$WORK/rollback-2" && grep -qx 'rc=0' "$WORK/rollback-2" &&
		ok "boot 2: iommuctl rollback removed the add-on" || fail "boot 2: rollback: $(cat "$WORK/rollback-2")"
else
	fail "boot 2 did not finish"
fi

# --- boot 3: without the add-on ------------------------------------------------------------

if boot 3; then
	vm_extract "$WORK/console-3.log" cmdline "$WORK/cmdline-3"
	[[ $(cat "$WORK/cmdline-3") == "$UKI_CMDLINE aa_first=1 zz_last=1" ]] && ok "boot 3: the tokens are gone, the other add-ons stay: $(cat "$WORK/cmdline-3")" ||
		fail "boot 3: /proc/cmdline is '$(cat "$WORK/cmdline-3")'"
else
	fail "boot 3 did not finish"
fi
vm_log "three boots in $((SECONDS - T0))s"

# --- Secure Boot: Debian's snakeoil keys enrolled, systemd-boot and the UKI signed ----------

T0=$SECONDS
SB_ESP=$WORK/sb-esp.img
sbsign --key "$WORK/db.key" --cert "$WORK/db.crt" --output "$WORK/sd-boot.signed" "$EFI_DIR/systemd-bootx64.efi" 2>/dev/null
sbsign --key "$WORK/db.key" --cert "$WORK/db.crt" --output "$WORK/uki.signed" "$WORK/debian-uki.efi" 2>/dev/null
mkfs.vfat -C -n ESP "$SB_ESP" $(($(stat -c %s "$WORK/uki.signed") / 1024 + 16384)) >/dev/null
mt mmd -i "$SB_ESP" ::/EFI ::/EFI/BOOT ::/EFI/Linux ::/loader
mt mcopy -i "$SB_ESP" "$WORK/sd-boot.signed" ::/EFI/BOOT/BOOTX64.EFI
mt mcopy -i "$SB_ESP" "$WORK/loader.conf" ::/loader/loader.conf
mt mcopy -i "$SB_ESP" "$WORK/uki.signed" ::/EFI/Linux/debian-uki.efi
printf 'sb1\n' >"$WORK/phase"
mt mcopy -i "$SB_ESP" "$WORK/phase" ::/phase
cp /usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd "$WORK/sb-vars.fd"

sb_boot() {
	local n=$1
	local -a iommu
	_vm_x86_iommu_args intel iommu
	vm_log "Secure Boot: boot $n"
	_vm_run_qemu "$WORK/console-sb$n.log" qemu-system-x86_64 -accel tcg -cpu max -m 1024 \
		-machine q35,kernel-irqchip=split,smm=on -global driver=cfi.pflash01,property=secure,value=on "${iommu[@]}" \
		-nographic -no-reboot "${VM_X86_DEVICES[@]}" \
		-drive "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd" \
		-drive "if=pflash,format=raw,file=$WORK/sb-vars.fd" \
		-drive "if=ide,format=raw,file=$SB_ESP"
}

if sb_boot 1; then
	vm_extract "$WORK/console-sb1.log" sb "$WORK/sb-1"
	vm_extract "$WORK/console-sb1.log" apply-unsigned "$WORK/apply-unsigned"
	vm_extract "$WORK/console-sb1.log" apply-signed "$WORK/apply-signed"
	[[ $(tr -d ' \n' <"$WORK/sb-1") == 0600000001 ]] && ok "SB boot 1: SecureBoot=1 in the guest's efivarfs" ||
		fail "SB boot 1: SecureBoot variable: $(cat "$WORK/sb-1")"
	grep -q "Secure Boot is on" "$WORK/apply-unsigned" && grep -qx 'rc=2' "$WORK/apply-unsigned" &&
		! grep -qx "iommuctl-$PROFILE.addon.efi" "$WORK/apply-unsigned" &&
		ok "SB boot 1: apply without a key refuses the unsigned add-on (exit 2)" ||
		fail "SB boot 1: apply without a key: $(cat "$WORK/apply-unsigned")"
	grep -qx 'rc=0' "$WORK/apply-signed" && grep -q "created  /efi/$ADDON (uki-addon)" "$WORK/apply-signed" &&
		ok "SB boot 1: apply with [UKI] SigningKey= writes the signed add-on" ||
		fail "SB boot 1: signed apply: $(cat "$WORK/apply-signed")"
else
	fail "Secure Boot boot 1 did not finish"
fi
if mt mcopy -n -i "$SB_ESP" "::/$ADDON" "$WORK/sb-addon.efi" 2>/dev/null; then
	sbverify --cert "$WORK/db.crt" "$WORK/sb-addon.efi" >/dev/null 2>&1 && ok "the add-on on the ESP verifies against the db certificate" ||
		fail "the add-on on the ESP is not signed by the db key"
fi
# An unsigned add-on of someone else's, which the stub must not load under Secure Boot.
printf 'unsigned_addon=1' >"$WORK/unsigned.cmdline"
objcopy --add-section .cmdline="$WORK/unsigned.cmdline" --change-section-vma .cmdline=0x1dd513000 \
	"$EFI_DIR/addonx64.efi.stub" "$WORK/zz-unsigned.addon.efi"
mt mcopy -i "$SB_ESP" "$WORK/zz-unsigned.addon.efi" ::/loader/addons/zz-unsigned.addon.efi

if sb_boot 2; then
	vm_extract "$WORK/console-sb2.log" cmdline "$WORK/cmdline-sb2"
	vm_extract "$WORK/console-sb2.log" verify "$WORK/verify-sb2.json"
	vm_extract "$WORK/console-sb2.log" verify-rc "$WORK/verify-sb2.rc"
	[[ $(cat "$WORK/cmdline-sb2") == "$UKI_CMDLINE $TOKENS" ]] &&
		ok "SB boot 2: the stub appended the signed add-on and ignored the unsigned one: $(cat "$WORK/cmdline-sb2")" ||
		fail "SB boot 2: /proc/cmdline is '$(cat "$WORK/cmdline-sb2")', not '$UKI_CMDLINE $TOKENS'"
	# The model knows the stub refuses an unsigned add-on under Secure Boot: the booted line is
	# what it predicts (PASS), and it names the add-on the stub skipped.
	python3 - "$WORK/verify-sb2.json" <<'PY' && ok "SB boot 2: verify: cmdline and boot-entry PASS, naming the unsigned add-on the stub skipped" || fail "SB boot 2: verify"
import json, sys
v = json.load(open(sys.argv[1]))
checks = {c["id"]: c for c in v["checks"]}
assert checks["cmdline"]["result"] == "pass", checks["cmdline"]
be = checks["boot-entry"]
assert be["result"] == "pass" and "skips /efi/loader/addons/zz-unsigned.addon.efi (not signed" in be["evidence"], be
assert "unsigned_addon=1" not in be["evidence"], be
print("    boot-entry:", be["evidence"])
PY
else
	fail "Secure Boot boot 2 did not finish"
fi
vm_log "Secure Boot: two boots in $((SECONDS - T0))s, ${SECONDS}s in all"

if ((FAILURES > 0)); then
	echo "$FAILURES failure(s)"
	exit 1
fi
echo "all passed"
