#!/bin/bash
# The whole loop on a real boot loader: drift -> iommu-generator ->
# iommu-apply.service rewrites the BLS entry -> reboot -> systemd-boot boots
# the new entry -> iommu-verify.service logs PASS; then a switch to another
# profile with `iommuctl apply`, reboot, PASS again.
#
#   tests/vm/apply-loop.sh [-k DIR]
#     -k DIR   keep the image, the ESP, console logs and results in DIR
#
# The machine: q35 with an emulated Intel VT-d (intel-iommu,intremap=on),
# OVMF, and one persistent FAT disk image, the ESP, which the guest mounts at
# /boot. The ESP holds systemd-boot, Debian's kernel, the Debian system as an
# initramfs (debootstrap minbase + systemd, udev, kmod, with the iommuctl .deb
# built from this tree installed; the guest runs it from RAM with
# rdinit=/sbin/init, so it is the same system at every boot) and a small
# per-boot overlay initramfs holding /etc/iommu/iommu.conf, the node's
# configuration, which the host rewrites between boots as an operator's edit
# would persist on a real disk. The BLS entry loader/entries/debian.conf is
# what iommuctl rewrites; the next QEMU run boots the same disk image.
#
#   boot 1  Profile=gpu-sriov, entry options without its tokens: the generator
#           starts iommu-apply.service, which rewrites the entry;
#           iommu-verify.service logs the drift (verdict fail, check cmdline)
#   boot 2  the rewritten entry: identity domains, verify entry PASS; then
#           Profile=strict and `iommuctl apply` in the guest
#   boot 3  the strict entry: DMA domains, verify entry PASS, apply not started
#   boot 4  an image built offline with `iommuctl apply --root IMG --vendor
#           portable --profile gpu-sriov` (only its /etc/iommu/selection in the
#           overlay): no drift, verify entry PASS with gpu-sriov
#
# Results come back over a second serial port (ttyS1) from
# iommu-loop-report.service (tests/vm/guest-loop-report.sh), ordered after
# both iommu units. Caches under ${IOMMU_VM_CACHE:-<repo>/.vmcache}: the
# debootstrap tree (amd64/debian-base-*.tar) and the kernel. IOMMUCTL_DEB may
# name a prebuilt .deb; otherwise it is built here (DEB_BUILD_OPTIONS=nocheck).

set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin

# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VM_TIMEOUT=${VM_TIMEOUT:-300}
MIRROR=${IOMMU_VM_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
IMAGE_PACKAGES=systemd,systemd-sysv,udev,kmod
# The ESP disk (AHCI), its file system, efivarfs, autofs4 (systemd wants it),
# and what a GPU node loads.
IMAGE_MODULES=(autofs4 ahci sd_mod vfat nls_cp437 nls_ascii nls_utf8 efivarfs vfio_pci vfio_iommu_type1 e1000e virtio_pci virtio_rng)
ENTRY=debian.conf
ENTRY_OPTIONS="console=ttyS0 rdinit=/sbin/init quiet"
MESSAGE_ID=19f1259f607d4e529f18abf3eea27e53

FAILURES=0
# Set per boot: "boot N (Intel VT-d, OVMF + systemd-boot, Profile=P)", for failures.
BOOT_DESC=
fail() {
	echo "FAIL $*${BOOT_DESC:+ [$BOOT_DESC]}"
	FAILURES=$((FAILURES + 1))
	return 0
}
ok() {
	echo "ok   $*"
}

# --- the image -----------------------------------------------------------------------

# A debootstrap minbase tree as a tar file, cached by suite, mirror and
# package list; iommuctl's run-time libraries come in with its .deb's Depends.
image_base() {
	local deps=$1 key tar tmp
	key=$(printf '%s\n' "$SUITE" "$MIRROR" "$IMAGE_PACKAGES" "$deps" | sha256sum | cut -c1-16)
	tar=$VM_CACHE/amd64/debian-base-$key.tar
	if [[ ! -f $tar ]]; then
		vm_log "debootstrap $SUITE minbase + $IMAGE_PACKAGES,$deps (cached as $tar)"
		tmp=$(mktemp -d "$VM_CACHE/.debootstrap.XXXXXX")
		if ! debootstrap --variant=minbase --include="$IMAGE_PACKAGES,$deps" "$SUITE" "$tmp/root" "$MIRROR" >"$tmp/log" 2>&1; then
			tail -n 20 "$tmp/log" >&2
			rm -rf "$tmp"
			vm_err "debootstrap failed"
			return
		fi
		# Nothing the boots need; a smaller initramfs boots faster.
		rm -rf "$tmp/root"/usr/share/{doc,man,info,locale}/* "$tmp/root"/var/cache/apt/* "$tmp/root"/var/lib/apt/lists/*
		tar -C "$tmp/root" -cf "$tmp/base.tar" . && mv "$tmp/base.tar" "$tar"
		rm -rf "$tmp"
	fi
	printf '%s\n' "$tar"
}

# The .deb of this source tree, as tests/packaging/test-deb.sh builds it.
build_deb() {
	local out=$1 src
	if [[ -n ${IOMMUCTL_DEB:-} ]]; then
		cp "$IOMMUCTL_DEB" "$out/" && return
	fi
	src=$out/iommuctl
	# shellcheck source=/dev/null # tests/packaging/lib.sh
	(. "$VM_REPO/tests/packaging/lib.sh" && copy_source_tree "$VM_REPO" "$src") || return
	rm -rf "$src/debian" "$src"/build*
	cp -a "$src/packaging/debian" "$src/debian"
	vm_log "building the .deb"
	if ! (cd "$src" && DEB_BUILD_OPTIONS="nocheck nodoc parallel=$(nproc)" dpkg-buildpackage -us -uc -b >"$out/deb-build.log" 2>&1); then
		tail -n 40 "$out/deb-build.log" >&2
		vm_err "dpkg-buildpackage failed (log: $out/deb-build.log)"
		return
	fi
	rm -rf "$src"
}

# Runtime dependencies of the .deb for debootstrap --include ("libc6 (>= 2.34), libinih1"
# -> "libc6,libinih1").
deb_depends() {
	dpkg-deb -f "$1" Depends | tr ',' '\n' | sed -e 's/[|(].*//' -e 's/[[:space:]]//g' | sed '/^$/d' | paste -sd,
}

# The Debian system in $WORK/rootfs: the base image, the .deb installed, the
# modules with their index, the ESP in fstab. (tests/ansible adds to it.)
build_system_root() {
	local deb=$1 root=$WORK/rootfs release moddir m f
	rm -rf "$root"
	mkdir -p "$root"
	tar -C "$root" -xf "$(image_base "$(deb_depends "$deb")")" || return
	cp "$deb" "$root/tmp/iommuctl.deb"
	chroot "$root" dpkg -i /tmp/iommuctl.deb >"$WORK/dpkg.log" 2>&1 ||
		{
			cat "$WORK/dpkg.log" >&2
			vm_err "dpkg -i iommuctl.deb in the image failed"
			return
		}
	rm "$root/tmp/iommuctl.deb"

	release=$(vm_kernel_release amd64) || return
	moddir=$VM_CACHE/amd64/kernel/lib/modules/$release
	for m in "${IMAGE_MODULES[@]}"; do
		VM_ARCH=amd64 _vm_stage_module "$root" "$moddir" "$m" || return
	done
	rm -f "$root/etc/vm-modules"
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		cp "$moddir/$f" "$root/lib/modules/$release/"
	done
	depmod -b "$root" "$release" || return

	echo iommu-loop >"$root/etc/hostname"
	# TCG on a loaded host: the ESP's device can take minutes to appear (90 s is systemd's default).
	echo 'LABEL=ESP /boot vfat defaults,x-systemd.device-timeout=900 0 2' >"$root/etc/fstab"
	printf 'vfio_pci\nvfio_iommu_type1\n' >"$root/etc/modules-load.d/vfio.conf"
}

# The Debian system, with the .deb installed and the report unit enabled, as
# an initramfs.
build_system_initrd() {
	local deb=$1 out=$2 root=$WORK/rootfs
	build_system_root "$deb" || return
	mkdir -p "$root/usr/lib/iommu-loop"
	install -m 755 "$VM_LIB_DIR/guest-loop-report.sh" "$root/usr/lib/iommu-loop/report"
	cat >"$root/etc/systemd/system/iommu-loop-report.service" <<-'EOF'
		[Unit]
		Description=Report the IOMMU loop test's results on ttyS1 and power off
		After=iommu-apply.service iommu-verify.service

		[Service]
		Type=oneshot
		ExecStart=/usr/lib/iommu-loop/report

		[Install]
		WantedBy=multi-user.target
	EOF
	chroot "$root" systemctl enable iommu-loop-report.service >/dev/null 2>&1 || return
	_vm_pack_cpio "$root" "$out"
}

# --- the ESP and the per-boot overlay ---------------------------------------------------

mt() {
	MTOOLS_SKIP_CHECK=1 "$@"
}

make_esp() {
	local esp=$1 kernel=$2 initrd=$3 size_kib
	size_kib=$((($(stat -c %s "$kernel") + $(stat -c %s "$initrd")) / 1024 + 16384))
	printf 'default %s\ntimeout 0\n' "$ENTRY" >"$WORK/loader.conf"
	printf 'title Debian GNU/Linux (iommuctl apply loop)\nversion %s\nlinux /vmlinuz\ninitrd /initrd.gz\ninitrd /overlay.gz\noptions %s\n' \
		"$(vm_kernel_release amd64)" "$ENTRY_OPTIONS" >"$WORK/entry-0.conf"
	rm -f "$esp"
	mkfs.vfat -C -n ESP "$esp" "$size_kib" >/dev/null &&
		mt mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/EFI/systemd ::/loader ::/loader/entries &&
		mt mcopy -i "$esp" "$VM_SYSTEMD_BOOT" ::/EFI/BOOT/BOOTX64.EFI &&
		mt mcopy -i "$esp" "$VM_SYSTEMD_BOOT" ::/EFI/systemd/systemd-bootx64.efi &&
		mt mcopy -i "$esp" "$kernel" ::/vmlinuz &&
		mt mcopy -i "$esp" "$initrd" ::/initrd.gz &&
		mt mcopy -i "$esp" "$WORK/loader.conf" ::/loader/loader.conf &&
		mt mcopy -i "$esp" "$WORK/entry-0.conf" "::/loader/entries/$ENTRY"
}

# set_overlay PROFILE BOOT [NEXT_PROFILE]: /etc/iommu/iommu.conf, /etc/iommu/applied and
# /etc/iommu-loop.env for the next boot, replacing ::/overlay.gz on the ESP.
set_overlay() {
	local profile=$1 boot=$2 next=${3:-} dir=$WORK/overlay
	rm -rf "$dir"
	mkdir -p "$dir/etc/iommu"
	printf '[IOMMU]\nProfile=%s\n' "$profile" >"$dir/etc/iommu/iommu.conf"
	# A node where the profile was applied (issue 22.1: the generator acts only there).
	printf '%s\n' "$profile" >"$dir/etc/iommu/applied"
	printf 'BOOT=%s\nNEXT_PROFILE=%s\n' "$boot" "$next" >"$dir/etc/iommu-loop.env"
	_vm_pack_cpio "$dir" "$WORK/overlay.gz" &&
		mt mcopy -o -i "$WORK/esp.img" "$WORK/overlay.gz" ::/overlay.gz
}

# set_overlay_selection IMAGE BOOT: the overlay carries only what an offline
# `iommuctl apply --root IMAGE` wrote under IMAGE/etc/iommu (no Profile= in iommu.conf).
set_overlay_selection() {
	local img=$1 boot=$2 dir=$WORK/overlay
	rm -rf "$dir"
	mkdir -p "$dir/etc"
	cp -a "$img/etc/iommu" "$dir/etc/" &&
		printf 'BOOT=%s\nNEXT_PROFILE=\n' "$boot" >"$dir/etc/iommu-loop.env" &&
		_vm_pack_cpio "$dir" "$WORK/overlay.gz" &&
		mt mcopy -o -i "$WORK/esp.img" "$WORK/overlay.gz" ::/overlay.gz
}

# boot N: OVMF (variables kept between boots) -> systemd-boot -> the entry.
# Console in boot-N.log, results (ttyS1) in boot-N.out.
boot() {
	local n=$1 log=$WORK/boot-$1.log out=$WORK/boot-$1.out rc=0 start
	start=$EPOCHREALTIME
	rm -f "$out"
	timeout --kill-after=10 "$VM_TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m 2048 \
		-machine q35,kernel-irqchip=split -device intel-iommu,intremap=on \
		-display none -no-reboot -serial stdio -serial "file:$out" "${VM_X86_DEVICES[@]}" \
		-drive "if=pflash,format=raw,readonly=on,file=$VM_OVMF_CODE" \
		-drive "if=pflash,format=raw,file=$WORK/vars.fd" \
		-drive "if=ide,format=raw,file=$WORK/esp.img" </dev/null >"$log" 2>&1 || rc=$?
	BOOT_SECS[n]=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
	if [[ $rc -eq 0 && -f $out ]] && grep -q '^==VM-DONE==$' <(tr -d '\r' <"$out"); then
		return 0
	fi
	if [[ $rc -eq 124 ]]; then
		fail "boot $n: timed out after ${VM_TIMEOUT}s"
	else
		fail "boot $n: qemu exited $rc without ==VM-DONE== on ttyS1"
	fi
	echo "  last 40 lines of the console ($log):"
	tr -d '\r' <"$log" | tail -n 40 | sed 's/^/  | /'
	return 1
}

# fetch N NAME...: each blob of boot N's ttyS1 into $WORK/boot-N/NAME.
fetch() {
	local n=$1 name
	shift
	mkdir -p "$WORK/boot-$n"
	for name in "$@"; do
		vm_extract "$WORK/boot-$n.out" "$name" "$WORK/boot-$n/$name" 2>/dev/null ||
			{
				fail "boot $n: no '$name' from the guest"
				return 1
			}
	done
}

esp_entry() {
	mt mtype -i "$WORK/esp.img" "::/loader/entries/$ENTRY" | tr -d '\r'
}

# --- assertions ----------------------------------------------------------------------

# check_entry BOOT TOKENS: the entry on the ESP has ENTRY_OPTIONS plus exactly
# TOKENS (the profile's) as its options, and every other line unchanged.
check_entry() {
	local n=$1 tokens=$2 want
	esp_entry >"$WORK/entry-$n.conf"
	want=$(sed "s|^options .*|options $ENTRY_OPTIONS $tokens|" "$WORK/entry-0.conf")
	if [[ $(<"$WORK/entry-$n.conf") == "$want" ]]; then
		ok "boot $n: loader/entries/$ENTRY on the ESP now reads 'options $ENTRY_OPTIONS $tokens', other lines unchanged"
	else
		fail "boot $n: loader/entries/$ENTRY on the ESP:"
		diff <(echo "$want") "$WORK/entry-$n.conf" | sed 's/^/  /' || true
	fi
}

# check_journal BOOT PROFILE VERDICT MODE TYPE: the journal entry of
# iommu-verify.service, read back with journalctl -o json.
check_journal() {
	local n=$1 profile=$2 verdict=$3 mode=$4 type=$5 why
	if why=$(python3 - "$WORK/boot-$n/verify-entries.json" "$MESSAGE_ID" "$profile" "$verdict" "$mode" "$type" <<-'EOF'
		import json, sys
		path, mid, profile, verdict, mode, gtype = sys.argv[1:]
		entries = [json.loads(l) for l in open(path) if l.startswith("{")]
		if len(entries) != 1:
		    sys.exit(f"{len(entries)} journal entries with MESSAGE_ID={mid} in this boot, expected 1")
		e = entries[0]
		want = {"MESSAGE_ID": mid, "_SYSTEMD_UNIT": "iommu-verify.service", "IOMMU_PROFILE": profile,
		        "IOMMU_VERDICT": verdict, "IOMMU_MODE_OBSERVED": mode, "IOMMU_FIRMWARE": "DMAR",
		        "IOMMU_RUN": "boot-check", "PRIORITY": {"pass": "6", "warn": "4", "fail": "3"}[verdict]}
		bad = [f"{k}={e.get(k)!r} (expected {v!r})" for k, v in want.items() if e.get(k) != v]
		# The hardened unit still reads the ACPI DMAR table (IOMMU_FIRMWARE above) and the efivars.
		if e.get("IOMMU_EFI") in (None, "no"):
		    bad.append(f"IOMMU_EFI={e.get('IOMMU_EFI')!r} (expected the EFI state read under OVMF)")
		total = int(e.get("IOMMU_GROUPS", "0"))
		field = "IOMMU_GROUPS_" + gtype.upper().replace("-", "_")
		if total == 0 or e.get(field) != str(total):
		    bad.append(f"IOMMU_GROUPS={total}, {field}={e.get(field)!r} (expected every group {gtype})")
		if verdict == "pass" and e.get("IOMMU_FAILED_CHECKS"):
		    bad.append(f"IOMMU_FAILED_CHECKS={e['IOMMU_FAILED_CHECKS']!r}")
		if verdict == "fail" and "cmdline" not in e.get("IOMMU_FAILED_CHECKS", "").split(","):
		    bad.append(f"IOMMU_FAILED_CHECKS={e.get('IOMMU_FAILED_CHECKS')!r} (expected cmdline among them)")
		if bad:
		    sys.exit("; ".join(bad))
		print(f"IOMMU_PROFILE={profile} IOMMU_VERDICT={verdict} IOMMU_MODE_OBSERVED={mode} "
		      f"IOMMU_FIRMWARE={e.get('IOMMU_FIRMWARE')} IOMMU_EFI={e.get('IOMMU_EFI')} "
		      f"IOMMU_GROUPS={total} {field}={total} IOMMU_FAILED_CHECKS={e.get('IOMMU_FAILED_CHECKS')!r}")
	EOF
	); then
		ok "boot $n: journal entry MESSAGE_ID=$MESSAGE_ID from iommu-verify.service: $why"
	else
		fail "boot $n: journal entry: $why"
	fi
}

# unit_state BOOT UNIT: "ActiveState/Result/ExecMainStatus", as the guest wrote them.
unit_state() {
	awk -v unit="$2" '$1 == unit { print $2 "/" $3 "/" $4 }' "$WORK/boot-$1/units.txt"
}

check_unit() {
	local n=$1 unit=$2 want=$3 got
	got=$(unit_state "$n" "$unit")
	if [[ $got == "$want" ]]; then
		ok "boot $n: $unit $got"
	else
		fail "boot $n: $unit is $got, expected $want"
		sed 's/^/  | /' "$WORK/boot-$n/unit-logs.txt"
	fi
	return 0
}

check_cmdline() {
	local n=$1 tokens=$2 got
	got=$(<"$WORK/boot-$n/cmdline")
	if [[ " $got " == *" $ENTRY_OPTIONS${tokens:+ $tokens} "* ]]; then
		ok "boot $n: /proc/cmdline: $got"
	else
		fail "boot $n: /proc/cmdline is '$got', expected it to carry '$ENTRY_OPTIONS${tokens:+ $tokens}'"
	fi
}

# check_generator BOOT drift|sync PROFILE: whether iommu-generator pulled
# iommu-apply.service into the boot (its symlink under /run/systemd/generator).
check_generator() {
	local n=$1 want=$2 profile=$3 got=sync msg
	grep -q 'multi-user.target.wants/iommu-apply.service$' "$WORK/boot-$n/generated.txt" && got=drift
	msg=$(grep -m1 -o "lacks the IOMMU tokens of profile $profile.*" "$WORK/boot-$n/journal.txt" || true)
	if [[ $got != "$want" ]]; then
		fail "boot $n: iommu-generator: expected $want with $profile, saw $got ($(paste -sd' ' "$WORK/boot-$n/generated.txt"))"
	elif [[ $got == drift && -z $msg ]]; then
		fail "boot $n: iommu-generator pulled in iommu-apply.service but its notice is not in the journal"
	elif [[ $got == drift ]]; then
		ok "boot $n: iommu-generator pulled in iommu-apply.service and logged \"$msg\""
	else
		ok "boot $n: iommu-generator left iommu-apply.service out: the command line carries $profile's tokens"
	fi
}

main() {
	local keep='' opt kernel start n
	while getopts 'k:h' opt; do
		case $opt in
		k) keep=$OPTARG ;;
		*)
			echo "Usage: $0 [-k DIR]"
			[[ $opt == h ]]
			return
			;;
		esac
	done
	[[ $(id -u) -eq 0 ]] || vm_err "needs root (debootstrap, chroot dpkg -i)" || return 2
	start=$EPOCHREALTIME
	if [[ -n $keep ]]; then
		mkdir -p "$keep"
		WORK=$(cd "$keep" && pwd)
	else
		WORK=$(mktemp -d)
		trap 'rm -rf "$WORK"' EXIT
	fi
	declare -ga BOOT_SECS=()
	local blobs=(boot cmdline verify-entries.json units.txt generated.txt journal.txt unit-logs.txt verify.json verify.err verify.rc)

	vm_fetch_kernel amd64
	kernel=$(vm_kernel_image amd64)
	local deb
	build_deb "$WORK"
	deb=$(echo "$WORK"/iommuctl_*.deb)
	[[ -f $deb ]] || vm_err "no .deb in $WORK" || return
	build_system_initrd "$deb" "$WORK/initrd.gz"
	make_esp "$WORK/esp.img" "$kernel" "$WORK/initrd.gz"
	cp "$VM_OVMF_VARS" "$WORK/vars.fd"
	local prep
	prep=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
	vm_log "image ready in ${prep}s ($(du -m "$WORK/initrd.gz" | cut -f1) MiB initramfs)"

	local sriov strict
	sriov=$("$WORK/rootfs/usr/bin/iommuctl" --root "$WORK/rootfs" cmdline --profile gpu-sriov --vendor intel)
	strict=$("$WORK/rootfs/usr/bin/iommuctl" --root "$WORK/rootfs" cmdline --profile strict --vendor intel)

	# Boot 1: drift.
	n=1
	set_overlay gpu-sriov $n
	BOOT_DESC="boot $n: Intel VT-d, OVMF + systemd-boot, Profile=gpu-sriov, entry without its tokens"
	if boot $n && fetch $n "${blobs[@]}"; then
		check_cmdline $n ""
		check_generator $n drift gpu-sriov
		check_unit $n iommu-apply.service active/success/0
		check_unit $n iommu-verify.service failed/exit-code/1
		check_journal $n gpu-sriov fail translated DMA-FQ
		check_entry $n "$sriov"
	fi

	# Boot 2: gpu-sriov in force; then switch to strict.
	n=2
	set_overlay gpu-sriov $n strict
	BOOT_DESC="boot $n: Intel VT-d, OVMF + systemd-boot, Profile=gpu-sriov, then apply of strict"
	if boot $n && fetch $n "${blobs[@]}" apply.log apply.rc; then
		check_cmdline $n "$sriov"
		check_generator $n sync gpu-sriov
		check_unit $n iommu-apply.service inactive/success/0
		check_unit $n iommu-verify.service active/success/0
		check_journal $n gpu-sriov pass passthrough identity
		if [[ $(<"$WORK/boot-$n/apply.rc") == 0 ]]; then
			ok "boot $n: Profile=strict, iommuctl apply exited 0"
		else
			fail "boot $n: iommuctl apply exited $(<"$WORK/boot-$n/apply.rc")"
			sed 's/^/  | /' "$WORK/boot-$n/apply.log"
		fi
		check_entry $n "$strict"
	fi

	# Boot 3: strict in force.
	n=3
	set_overlay strict $n
	BOOT_DESC="boot $n: Intel VT-d, OVMF + systemd-boot, Profile=strict"
	if boot $n && fetch $n "${blobs[@]}"; then
		check_cmdline $n "$strict"
		check_generator $n sync strict
		check_unit $n iommu-apply.service inactive/success/0
		check_unit $n iommu-verify.service active/success/0
		check_journal $n strict pass strict DMA
	fi

	# Boot 4: an image built offline, `apply --root IMG --vendor portable --profile gpu-sriov`
	# on the entry without tokens: the booted image knows its profile and that its line is
	# portable (no drift on this Intel machine), and iommu-verify runs with it.
	n=4
	local img=$WORK/image-root portable
	portable=$("$WORK/rootfs/usr/bin/iommuctl" --root "$WORK/rootfs" cmdline --profile gpu-sriov --vendor portable)
	rm -rf "$img" && mkdir -p "$img/boot/loader/entries" "$img/etc" && cp "$WORK/entry-0.conf" "$img/boot/loader/entries/$ENTRY"
	BOOT_DESC="boot $n: Intel VT-d, OVMF + systemd-boot, image from apply --root --vendor portable --profile gpu-sriov"
	if IOMMUCTL_PROFILES_PATH=$WORK/rootfs/usr/lib/iommu/profiles "$WORK/rootfs/usr/bin/iommuctl" --root "$img" \
		apply --vendor portable --profile gpu-sriov --backend bls >"$WORK/image-apply.log" 2>&1 &&
		grep -qx 'Vendor=portable' "$img/etc/iommu/selection" && [[ ! -e $img/var/lib/iommu/lock ]] &&
		mt mcopy -o -i "$WORK/esp.img" "$img/boot/loader/entries/$ENTRY" "::/loader/entries/$ENTRY" &&
		set_overlay_selection "$img" $n; then
		ok "boot $n: apply --root IMG recorded Profile=gpu-sriov Vendor=portable, no lock file left"
		if boot $n && fetch $n "${blobs[@]}"; then
			check_cmdline $n "$portable"
			check_generator $n sync gpu-sriov
			check_unit $n iommu-apply.service inactive/success/0
			check_unit $n iommu-verify.service active/success/0
			check_journal $n gpu-sriov pass passthrough identity
		fi
	else
		fail "boot $n: building the image with apply --root failed"
		sed 's/^/  | /' "$WORK/image-apply.log"
	fi

	echo "# image ${prep}s, boots ${BOOT_SECS[*]}s, total $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')s, load $(cut -d' ' -f1-3 /proc/loadavg)"
	if [[ $FAILURES -eq 0 ]]; then
		echo "apply loop: all checks passed"
	else
		echo "apply loop: $FAILURES check(s) failed"
		return 1
	fi
}

# Sourced by tests/ansible for the image functions; run, it is the test.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
