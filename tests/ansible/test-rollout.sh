#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Ansible collection (ansible/ansible_collections/iommu/iommuctl) on real nodes: Debian's
# ansible-playbook rolls a profile out to QEMU guests (TCG, q35 with an emulated Intel VT-d,
# OVMF + systemd-boot, the vm suite's Debian image with the .deb, plus openssh-server, python3 and
# sudo; no D-Bus, so the role reboots with "systemctl reboot") over SSH on loopback port forwards only, with a key generated for the run.
#
#   tests/ansible/test-rollout.sh [-k DIR]
#     -k DIR   keep the image, the ESPs, console logs and playbook output in DIR
#
#   run 1  --check --diff, gpu-sriov: reports the change, and the nodes are untouched (entry,
#          boot id, no change set)
#   run 2  gpu-sriov, serial 1: node1 is applied, rebooted and verified before node2 is touched;
#          each comes back with the tokens in /proc/cmdline and iommuctl verify passes
#   run 3  the same again: changed=0 on both, no reboot
#   run 4  strict with node3 first, a machine without the emulated IOMMU (firmware without DMAR,
#          as with VT-d off in the BIOS): node3 is rebooted and fails verification, and the
#          rollout stops there: node1 and node2 are not touched (entry, boot id, change sets)
#   run 5  the profile switch: strict on node1, rebooted, verified
#
# The system runs from RAM, as in the apply loop; what a real node keeps across reboots and
# iommuctl writes outside the ESP (/etc/iommu: the selection; /var/lib/iommu: the change sets)
# lives on a small ext4 disk of each node, bind-mounted there.
#
# Images are cached like tests/vm/apply-loop.sh's (a separate debootstrap tar for the extra
# packages); the .deb is built from this tree unless IOMMUCTL_DEB names one. Needs root.

set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/vm/apply-loop.sh
. "$here/../vm/apply-loop.sh"

SRC=$VM_REPO
COLLECTIONS=$SRC/ansible
IMAGE_PACKAGES=$IMAGE_PACKAGES,openssh-server,python3,sudo
IMAGE_MODULES+=(ext4 crc32c_generic)
# no_timer_check: on a loaded machine TCG can miss the IO-APIC timer check through interrupt
# remapping ("timer doesn't work through Interrupt-remapped IO-APIC"), which panics the kernel.
ENTRY_OPTIONS="$ENTRY_OPTIONS no_timer_check"
NODE_MEMORY=${NODE_MEMORY:-1280}
# Seconds for a node to boot to sshd (OVMF + systemd-boot + Debian from RAM under TCG).
NODE_BOOT_TIMEOUT=${NODE_BOOT_TIMEOUT:-1200}
NODES=(node1 node2 node3)
declare -A PORT=() QEMU_PID=() IOMMU=()
declare -a TIMES=()

# --- the node image ----------------------------------------------------------------

# apply-loop's system plus what Ansible needs: sshd (key only) and a static address on QEMU's
# user network, so no DHCP wait.
build_node_initrd() {
	local deb=$1 out=$2 root=$WORK/rootfs
	build_system_root "$deb" || return
	mkdir -p "$root/etc/systemd/network" "$root/etc/ssh/sshd_config.d"
	printf '[Match]\nType=ether\n\n[Network]\nAddress=10.0.2.15/24\nGateway=10.0.2.2\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n' \
		>"$root/etc/systemd/network/50-qemu-user.network"
	printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nUseDNS no\nPermitRootLogin prohibit-password\n' \
		>"$root/etc/ssh/sshd_config.d/50-iommu-test.conf"
	chroot "$root" systemctl enable systemd-networkd.service ssh.service >/dev/null 2>&1 ||
		vm_err "systemctl enable systemd-networkd ssh in the image failed" || return
	[[ -f $root/etc/ssh/ssh_host_ed25519_key.pub ]] || vm_err "the image has no ssh host key" || return
	# A loaded machine can take longer than systemd's 90 s to show the ESP; the node must still
	# come up (and say what is missing) rather than stop in emergency mode.
	# The node's persistent state (make_node): /etc/iommu and /var/lib/iommu.
	cat >"$root/etc/fstab" <<-'EOF'
		LABEL=ESP /boot vfat defaults,x-systemd.device-timeout=15min 0 2
		LABEL=STATE /state ext4 defaults,x-systemd.device-timeout=15min 0 0
		/state/etc/iommu /etc/iommu none bind,x-systemd.requires-mounts-for=/state 0 0
		/state/var/lib/iommu /var/lib/iommu none bind,x-systemd.requires-mounts-for=/state 0 0
	EOF
	mkdir -p "$root/state" "$root/var/lib/iommu"
	# /etc/kernel/cmdline is in RAM (the kernel-cmdline backend, detected from the kernel-install
	# layout, would be written anew after every boot, and a second run would report a change that
	# is only this image's): the BLS entries on the ESP only. The same file is on the state disk.
	mkdir -p "$root/etc/iommu"
	printf '[Apply]\nBackends=bls\n' >"$root/etc/iommu/iommu.conf"
	# zstd: smaller for the firmware to read, faster for the kernel to unpack than gzip.
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | zstd -q -T0 -12 >"$out"
}

# The node's own ESP (the shared kernel and system, its hostname and the run's key in overlay.gz)
# and its state disk.
make_node() {
	local node=$1 dir=$WORK/$1
	mkdir -p "$dir/overlay/etc" "$dir/overlay/root/.ssh" "$dir/state/etc/iommu" "$dir/state/var/lib/iommu"
	cp "$WORK/rootfs/etc/iommu/iommu.conf" "$dir/state/etc/iommu/"
	rm -f "$dir/state.img"
	mkfs.ext4 -q -L STATE -d "$dir/state" "$dir/state.img" 32M >/dev/null || vm_err "mkfs.ext4 of $node's state disk failed" || return
	cp "$WORK/esp.img" "$dir/esp.img"
	cp "$VM_OVMF_VARS" "$dir/vars.fd"
	echo "$node" >"$dir/overlay/etc/hostname"
	cp "$WORK/id_ed25519.pub" "$dir/overlay/root/.ssh/authorized_keys"
	chmod 700 "$dir/overlay/root/.ssh" && chmod 600 "$dir/overlay/root/.ssh/authorized_keys"
	_vm_pack_cpio "$dir/overlay" "$dir/overlay.gz" &&
		mt mcopy -o -i "$dir/esp.img" "$dir/overlay.gz" ::/overlay.gz
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_node NODE intel|none: the node in the background, its sshd on 127.0.0.1:PORT[NODE] only.
# A reboot is a power cycle: QEMU runs with -no-reboot and is started again. Under TCG a reset in
# place boots several times slower than a fresh QEMU (measured: the kernel's initramfs unpacking
# took 15 s after a start, 57 s after a reset and up to 200 s in a rollout).
start_node() {
	local node=$1 dir=$WORK/$1
	local -a iommu=()
	IOMMU[$node]=$2
	[[ $2 == intel ]] && iommu=(-device intel-iommu,intremap=on)
	(
		q=
		trap '[[ -n $q ]] && kill "$q" 2>/dev/null; wait 2>/dev/null; exit 0' TERM
		while :; do
			qemu-system-x86_64 -accel tcg -cpu max -m "$NODE_MEMORY" -no-reboot \
				-machine q35,kernel-irqchip=split "${iommu[@]}" \
				-display none -chardev "file,id=console,path=$dir/console.log,append=on" -serial chardev:console \
				-monitor none -vga none -nic none \
				-netdev "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${PORT[$node]}-:22" -device e1000e,netdev=net0,romfile= \
				-device pcie-root-port,id=rp1,chassis=1,slot=1 -device virtio-rng-pci,bus=rp1 \
				-drive "if=pflash,format=raw,readonly=on,file=$VM_OVMF_CODE" \
				-drive "if=pflash,format=raw,file=$dir/vars.fd" \
				-drive "if=ide,format=raw,file=$dir/esp.img" -drive "if=ide,format=raw,file=$dir/state.img" \
				</dev/null >>"$dir/qemu.log" 2>&1 &
			q=$!
			wait "$q" || exit # a guest reboot ends QEMU with 0; anything else is a failure
			q=
			echo "power cycle at $(date +%T)" >>"$dir/qemu.log"
		done
	) &
	QEMU_PID[$node]=$!
}

stop_node() {
	local pid=${QEMU_PID[$1]:-}
	[[ -n $pid ]] || return 0
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	QEMU_PID[$1]=
}

stop_all() {
	local node
	for node in "${NODES[@]}"; do
		stop_node "$node"
	done
}

on_node() {
	local node=$1
	shift
	ssh -n -i "$WORK/id_ed25519" -p "${PORT[$node]}" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o UserKnownHostsFile="$WORK/known_hosts" -o StrictHostKeyChecking=yes -o ConnectTimeout=10 \
		root@127.0.0.1 "$@"
}

wait_ssh() {
	local node=$1 start=$EPOCHREALTIME deadline=$((SECONDS + NODE_BOOT_TIMEOUT))
	while ! on_node "$node" 'mountpoint -q /boot && mountpoint -q /var/lib/iommu' 2>/dev/null; do
		if ! kill -0 "${QEMU_PID[$node]}" 2>/dev/null; then
			vm_err "$node: qemu exited ($(tail -n 3 "$WORK/$node/qemu.log"))"
			tr -d '\r' <"$WORK/$node/console.log" | tail -n 30 | sed 's/^/  | /' >&2
			return 1
		fi
		if ((SECONDS > deadline)); then
			vm_err "$node: no ssh after ${NODE_BOOT_TIMEOUT}s"
			tr -d '\r' <"$WORK/$node/console.log" | tail -n 30 | sed 's/^/  | /' >&2
			return 1
		fi
		sleep 3
	done
	vm_log "$node: ssh up after $(secs_since "$start")s"
}

secs_since() {
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }'
}

# --- Ansible -----------------------------------------------------------------------

# inventory FILE NODE...: the nodes in this order (serial batches follow inventory order).
write_inventory() {
	local file=$1 node
	shift
	{
		echo "[gpu_nodes]"
		for node in "$@"; do
			echo "$node ansible_port=${PORT[$node]}"
		done
		echo "[gpu_nodes:vars]"
		echo "ansible_host=127.0.0.1"
		echo "ansible_user=root"
		echo "ansible_python_interpreter=/usr/bin/python3"
		echo "ansible_ssh_private_key_file=$WORK/id_ed25519"
		echo "ansible_ssh_common_args='-o UserKnownHostsFile=$WORK/known_hosts -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'"
	} >"$file"
}

# playbook NAME INVENTORY ARGS...: the collection's rollout playbook, JSON results in NAME.json.
playbook() {
	local name=$1 inv=$2 start=$EPOCHREALTIME rc=0
	shift 2
	# Values with spaces go as JSON: "-e key=value" splits at spaces.
	local gate
	gate=$(python3 -c 'import json, sys; print(json.dumps({"iommuctl_rollout_gate_command": sys.argv[1],
	                                                        "iommuctl_rollout_reboot_command": "systemctl reboot"}))' "$GATE")
	vm_log "ansible-playbook iommu.iommuctl.rollout $* ($name)"
	IOMMU_TEST_RESULTS=$WORK/$name.json ansible-playbook -i "$inv" iommu.iommuctl.rollout \
		-e iommuctl_vendor=intel -e iommuctl_rollout_reboot_timeout="$NODE_BOOT_TIMEOUT" \
		-e "$gate" "$@" >"$WORK/$name.log" 2>&1 || rc=$?
	TIMES+=("$name $(secs_since "$start")s")
	echo "$rc" >"$WORK/$name.rc"
	return 0
}

# check_run NAME EXPECTATION...: python3 check-run.py reads NAME.json (see there).
check_run() {
	local name=$1 why
	shift
	if why=$(python3 "$here/check-run.py" "$WORK/$name.json" "$(<"$WORK/$name.rc")" "$@" 2>&1); then
		ok "$name: $why"
	else
		fail "$name: $why"
		sed 's/^/  | /' "$WORK/$name.log" | tail -n 30
	fi
}

# --- node state --------------------------------------------------------------------

# snapshot NODE TAG: what the node boots and runs now, in $WORK/NODE/TAG.*
snapshot() {
	local node=$1 tag=$2 d=$WORK/$1
	on_node "$node" cat /boot/loader/entries/$ENTRY >"$d/$tag.entry"
	on_node "$node" cat /proc/sys/kernel/random/boot_id >"$d/$tag.boot_id"
	on_node "$node" cat /proc/cmdline >"$d/$tag.cmdline"
	on_node "$node" 'ls /var/lib/iommu/changesets 2>/dev/null | wc -l' >"$d/$tag.changesets"
}

same_state() {
	local node=$1 a=$2 b=$3 what=$4 d=$WORK/$1 f
	for f in entry boot_id changesets; do
		if ! cmp -s "$d/$a.$f" "$d/$b.$f"; then
			fail "$node: $what: $f changed ($(tr '\n' ' ' <"$d/$a.$f") -> $(tr '\n' ' ' <"$d/$b.$f"))"
			return 0
		fi
	done
	ok "$node: $what: same boot entry, same boot ($(<"$d/$b.boot_id")), $(<"$d/$b.changesets") change sets"
}

# in_profile NODE TAG PROFILE: rebooted since TAG0, the tokens on /proc/cmdline, verify passes.
in_profile() {
	local node=$1 before=$2 after=$3 profile=$4 tokens d=$WORK/$1 rc=0
	tokens=$(on_node "$node" iommuctl cmdline --profile "$profile" --vendor intel)
	if cmp -s "$d/$before.boot_id" "$d/$after.boot_id"; then
		fail "$node: did not reboot for $profile"
	elif [[ " $(<"$d/$after.cmdline") " != *" $tokens "* ]]; then
		fail "$node: /proc/cmdline is '$(<"$d/$after.cmdline")', without $profile's '$tokens'"
	else
		ok "$node: rebooted ($(<"$d/$before.boot_id") -> $(<"$d/$after.boot_id")) into '$(<"$d/$after.cmdline")'"
	fi
	on_node "$node" iommuctl verify --no-journal --profile "$profile" >"$d/$after.verify" 2>&1 || rc=$?
	if [[ $rc -eq 0 ]]; then
		ok "$node: iommuctl verify --profile $profile: $(grep -m1 '^Verdict' "$d/$after.verify")"
	else
		fail "$node: iommuctl verify --profile $profile exited $rc"
		sed 's/^/  | /' "$d/$after.verify"
	fi
}

main() {
	local keep='' opt start node deb
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
	local t
	for t in ansible-playbook ansible-doc ssh ssh-keygen qemu-system-x86_64 mcopy mkfs.vfat mkfs.ext4 debootstrap; do
		command -v "$t" >/dev/null || vm_err "$t not found (install .ci/packages.txt)" || return 2
	done
	start=$EPOCHREALTIME
	if [[ -n $keep ]]; then
		mkdir -p "$keep"
		WORK=$(cd "$keep" && pwd)
	else
		WORK=$(mktemp -d)
	fi
	# keep and WORK expanded now: the trap runs after main's locals are gone.
	# shellcheck disable=SC2064
	trap "stop_all; [[ -n '$keep' ]] || rm -rf '$WORK'" EXIT

	# Ansible's own state stays in the work directory.
	export ANSIBLE_HOME=$WORK/ansible-home ANSIBLE_LOCAL_TEMP=$WORK/ansible-home/tmp
	export ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
	export ANSIBLE_PIPELINING=true ANSIBLE_TIMEOUT=60 ANSIBLE_NOCOLOR=1 ANSIBLE_SSH_CONTROL_PATH_DIR=$WORK/cp
	export ANSIBLE_RETRY_FILES_ENABLED=false ANSIBLE_HOST_KEY_CHECKING=true
	export ANSIBLE_CALLBACK_PLUGINS=$here/callback_plugins ANSIBLE_CALLBACKS_ENABLED=iommu_test_results

	# ansible-doc renders the module and the role from the tree.
	if ansible-doc -t module iommu.iommuctl.iommuctl >"$WORK/ansible-doc.txt" 2>&1 &&
		grep -q 'reboot_required' "$WORK/ansible-doc.txt" && grep -q 'EXAMPLES' "$WORK/ansible-doc.txt" &&
		ansible-doc -t role iommu.iommuctl.rollout >>"$WORK/ansible-doc.txt" 2>&1; then
		ok "ansible-doc renders iommu.iommuctl.iommuctl (options, EXAMPLES, RETURN) and the rollout role"
	else
		fail "ansible-doc: $(tail -n 5 "$WORK/ansible-doc.txt")"
	fi

	vm_fetch_kernel amd64
	build_deb "$WORK"
	deb=$(echo "$WORK"/iommuctl_*.deb)
	[[ -f $deb ]] || vm_err "no .deb in $WORK" || return
	build_node_initrd "$deb" "$WORK/initrd.gz"
	make_esp "$WORK/esp.img" "$(vm_kernel_image amd64)" "$WORK/initrd.gz"
	rm -f "$WORK/id_ed25519" "$WORK/id_ed25519.pub"
	ssh-keygen -q -t ed25519 -N '' -C iommuctl-ansible-test -f "$WORK/id_ed25519"
	: >"$WORK/known_hosts"
	for node in "${NODES[@]}"; do
		PORT[$node]=$(free_port)
		make_node "$node"
		echo "[127.0.0.1]:${PORT[$node]} $(cut -d' ' -f1,2 "$WORK/rootfs/etc/ssh/ssh_host_ed25519_key.pub")" >>"$WORK/known_hosts"
	done
	TIMES+=("image $(secs_since "$start")s")

	# The reboot gate: iommuctl status --check where this tree's iommuctl has it, else the
	# equivalent question through apply's dry run (nothing left to write = the next boot has it).
	GATE="iommuctl status --check"
	if ! "$WORK/rootfs/usr/bin/iommuctl" --root "$WORK/rootfs" status --help >/dev/null 2>&1; then
		# shellcheck disable=SC2016 # for the node's shell, templated by Ansible
		GATE='test -z "$(iommuctl apply --dry-run --profile {{ iommuctl_profile }} --vendor {{ iommuctl_vendor }})"'
	fi
	vm_log "reboot gate: $GATE"

	# node1 and node2 are Intel VT-d machines; node3 has no IOMMU (firmware without DMAR, as with
	# VT-d off in the BIOS), so verification must fail there after its reboot.
	local boot_start=$EPOCHREALTIME
	start_node node1 intel
	start_node node2 intel
	start_node node3 none
	for node in "${NODES[@]}"; do
		wait_ssh "$node" || return 1
	done
	TIMES+=("first boot of ${#NODES[@]} nodes in parallel $(secs_since "$boot_start")s")
	write_inventory "$WORK/inventory" node1 node2
	write_inventory "$WORK/inventory-node3-first" node3 node1 node2

	# Run 1: check mode with diff.
	for node in "${NODES[@]}"; do snapshot "$node" r0; done
	playbook run1-check "$WORK/inventory" -e iommuctl_profile=gpu-sriov --check --diff
	check_run run1-check rc=0 batches=node1,node2 changed:node1=1 changed:node2=1 diff:node1=intel_iommu=on \
		skipped:Reboot
	for node in node1 node2; do
		snapshot "$node" r1
		same_state "$node" r0 r1 "after --check"
	done

	# Run 2: gpu-sriov for real, one node at a time.
	playbook run2-apply "$WORK/inventory" -e iommuctl_profile=gpu-sriov
	check_run run2-apply rc=0 batches=node1,node2 rebooted:node1 rebooted:node2 verdict:node1=pass verdict:node2=pass
	for node in node1 node2; do
		snapshot "$node" r2
		in_profile "$node" r1 r2 gpu-sriov
	done

	# Run 3: nothing to do.
	playbook run3-again "$WORK/inventory" -e iommuctl_profile=gpu-sriov
	check_run run3-again rc=0 batches=node1,node2 changed:node1=0 changed:node2=0 skipped:Reboot verdict:node1=pass
	for node in node1 node2; do
		snapshot "$node" r3
		same_state "$node" r2 r3 "second run"
	done

	# Run 4: strict with node3 (no IOMMU) first: node3 reboots and fails verification, and the
	# rollout stops there; node1 and node2 are not touched.
	for node in "${NODES[@]}"; do snapshot "$node" r3b; done
	playbook run4-fail "$WORK/inventory-node3-first" -e iommuctl_profile=strict
	check_run run4-fail rc=2 batches=node3 rebooted:node3 verdict:node3=fail untouched:node1 untouched:node2
	for node in node1 node2; do
		snapshot "$node" r4
		same_state "$node" r3b r4 "after node3 failed verification"
	done
	snapshot node3 r4
	if grep -q "iommu.strict=1" "$WORK/node3/r4.cmdline" && ! cmp -s "$WORK/node3/r3b.boot_id" "$WORK/node3/r4.boot_id"; then
		ok "node3: rebooted into '$(<"$WORK/node3/r4.cmdline")' and stopped the rollout at verification"
	else
		fail "node3: /proc/cmdline '$(<"$WORK/node3/r4.cmdline")', boot $(<"$WORK/node3/r4.boot_id"): not rebooted into strict"
	fi

	# Run 5: the profile switch, strict on node1.
	playbook run5-strict "$WORK/inventory" -e iommuctl_profile=strict --limit node1
	check_run run5-strict rc=0 batches=node1 rebooted:node1 verdict:node1=pass untouched:node2
	snapshot node1 r5
	in_profile node1 r4 r5 strict

	stop_all
	echo "# ${TIMES[*]}; total $(secs_since "$start")s, load $(cut -d' ' -f1-3 /proc/loadavg)"
	if [[ $FAILURES -eq 0 ]]; then
		echo "ansible rollout: all checks passed"
	else
		echo "ansible rollout: $FAILURES check(s) failed"
		return 1
	fi
}

# Sourced (by hand, to drive nodes that are already up), it only defines the functions.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
