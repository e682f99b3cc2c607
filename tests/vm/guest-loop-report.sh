#!/bin/bash
# /usr/lib/iommu-loop/report in the apply-loop test image, run by
# iommu-loop-report.service once iommu-apply.service and iommu-verify.service
# are done: sends what the host asserts over the second serial port (ttyS1,
# nothing else writes there), then, if /etc/iommu-loop.env names a
# NEXT_PROFILE, switches the node to it with `iommuctl apply`, and powers off.
#
# Blobs use tests/vm/guest-lib.sh's framing: ==BEGIN name==, base64,
# ==END name <sha256>==; the host reads them with vm_extract.

set -u
OUT=/dev/ttyS1
MESSAGE_ID=19f1259f607d4e529f18abf3eea27e53
BOOT=0
NEXT_PROFILE=
# shellcheck disable=SC1091 # written by the host into the per-boot overlay
. /etc/iommu-loop.env

emit() {
	local name=$1 file=$2
	{
		echo "==BEGIN $name=="
		base64 "$file"
		echo "==END $name $(sha256sum "$file" | cut -d' ' -f1)=="
	} >"$OUT"
}

mkdir -p /run/iommu-loop
cd /run/iommu-loop || exit 1
echo "$BOOT" >boot
cp /proc/cmdline cmdline
journalctl -b -o json "MESSAGE_ID=$MESSAGE_ID" >verify-entries.json 2>&1
for unit in iommu-apply.service iommu-verify.service; do
	echo "$unit $(systemctl show -p ActiveState --value "$unit") $(systemctl show -p Result --value "$unit")" \
		"$(systemctl show -p ExecMainStatus --value "$unit")"
done >units.txt 2>&1
# What iommu-generator pulled into this boot, and its messages (kernel log).
find /run/systemd/generator -name 'iommu-*' >generated.txt 2>&1
journalctl -b -o cat >journal.txt 2>&1
journalctl -b -o cat -u iommu-apply.service -u iommu-verify.service >unit-logs.txt 2>&1
rc=0
iommuctl verify --json --no-journal >verify.json 2>verify.err || rc=$?
echo "$rc" >verify.rc
for f in boot cmdline verify-entries.json units.txt generated.txt journal.txt unit-logs.txt verify.json verify.err verify.rc; do
	emit "$f" "$f"
done

if [ -n "$NEXT_PROFILE" ]; then
	# What an operator does to move the node to another profile.
	sed -i "s/^Profile=.*/Profile=$NEXT_PROFILE/" /etc/iommu/iommu.conf
	rc=0
	iommuctl apply >apply.log 2>&1 || rc=$?
	echo "$rc" >apply.rc
	emit apply.log apply.log
	emit apply.rc apply.rc
fi

sync
echo "==VM-DONE==" >"$OUT"
systemctl poweroff --no-block
