#!/bin/sh
# /init of the capture initramfs (built by tests/vm/capture-fixtures.sh and
# tests/vm/kernel-truth.sh): load the modules a GPU/RDMA host would have,
# capture with tools/iommu-capture-host, send the tree back over the console.
#
# /etc/vm-env may set VM_PROFILE; then, if /bin/iommuctl is in the initramfs,
# its verdict for that profile comes back as well (verify-json, verify-err,
# verify-rc), judged with this boot's kernel log. The profiles are expected in
# /usr/lib/iommu/profiles.

# shellcheck source=tests/vm/guest-lib.sh
. /lib/vm-guest.sh
vm_guest_setup
vm_guest_load_modules
vm_guest_mount_efivars

iommu-capture-host /tmp/capture
vm_guest_emit_tree capture /tmp/capture

if [ -x /bin/iommuctl ] && [ -n "${VM_PROFILE:-}" ]; then
	rc=0
	iommuctl verify --root / --json --no-journal --profile "$VM_PROFILE" \
		--kernel-log /tmp/capture/kmsg.txt >/tmp/verify.json 2>/tmp/verify.err || rc=$?
	echo "$rc" >/tmp/verify.rc
	vm_guest_emit_file verify-json /tmp/verify.json
	vm_guest_emit_file verify-err /tmp/verify.err
	vm_guest_emit_file verify-rc /tmp/verify.rc
fi

vm_guest_done
