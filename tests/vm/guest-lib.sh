# shellcheck shell=sh
# Guest-side helpers for the test initramfs, sourced by /init as /lib/vm-guest.sh.
# Runs under busybox sh inside the guest: POSIX sh only.
#
# Everything the host needs comes back over the serial console between markers:
#   ==BEGIN name==
#   <base64 lines>
#   ==END name <sha256 of the decoded bytes>==
# tests/vm/lib.sh (vm_extract) finds, decodes and checks them.

vm_guest_setup() {
	/bin/busybox --install -s /bin
	export PATH=/bin:/sbin:/usr/bin:/usr/sbin
	mkdir -p /proc /sys /dev /tmp /run
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	# Keep kernel messages off the console so they cannot split a marker line;
	# the full log is still read back with dmesg.
	dmesg -n 1
	if [ -f /etc/vm-env ]; then
		# shellcheck disable=SC1091 # written by vm_initramfs_with_env
		. /etc/vm-env
	fi
}

# Modules listed by the host in dependency order (vm_build_initramfs mod:NAME).
vm_guest_load_modules() {
	[ -f /etc/vm-modules ] || return 0
	while read -r ko; do
		# "File exists": a dependency loaded already; "No such device": the
		# hardware or firmware is not there (efivarfs without EFI).
		insmod "$ko" 2>/tmp/insmod.err || grep -qE 'File exists|No such device' /tmp/insmod.err ||
			echo "vm-guest: insmod $ko failed: $(cat /tmp/insmod.err)"
	done </etc/vm-modules
	# Let deferred probes (driver binding, group creation) settle.
	sleep 1
}

# Mount efivarfs when the kernel booted through EFI (efivarfs is a module on
# Debian: load it with vm_guest_load_modules first).
vm_guest_mount_efivars() {
	[ -d /sys/firmware/efi/efivars ] || return 0
	mount -t efivarfs efivarfs /sys/firmware/efi/efivars 2>/dev/null || true
}

vm_guest_emit_file() {
	name=$1 file=$2
	echo "==BEGIN $name=="
	base64 "$file"
	echo "==END $name $(sha256sum "$file" | cut -d' ' -f1)=="
}

vm_guest_emit_tree() {
	name=$1 dir=$2
	tar -C "$dir" -czf "/tmp/emit-$name.tgz" .
	vm_guest_emit_file "$name" "/tmp/emit-$name.tgz"
}

# The host treats a log without this marker as a failed boot (a panic with
# -no-reboot also ends QEMU with status 0).
vm_guest_done() {
	echo "==VM-DONE=="
	sync
	poweroff -f
}
