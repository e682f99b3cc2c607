#!/bin/bash
# Capture tests/fixtures/hosts/qemu-*/ from real boots: Debian 12's kernel
# under QEMU with an emulated Intel, AMD, Arm or no IOMMU, the kernel command
# line of each case, and tools/iommu-capture-host run inside the guest.
#
#   tests/vm/capture-fixtures.sh [-j JOBS] [NAME...]     (default: every case)
#
# Each fixture gets root/ (the captured tree), kmsg.txt (the guest's kernel
# log) and ORIGIN (how it was made). Needs qemu-system-x86, qemu-system-arm
# and apt access to Debian's kernel packages (see tests/vm/lib.sh).

set -euo pipefail

# shellcheck source=tests/vm/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FIXTURES=$VM_REPO/tests/fixtures/hosts

# name|target|kernel command line (beyond console= and quiet)
#   target: intel, amd, none (x86 q35, direct kernel boot), intel-efi (the
#   same through OVMF and systemd-boot) or arm64 (virt with SMMUv3)
CASES=(
	"qemu-intel-passthrough|intel|intel_iommu=on iommu=pt"
	"qemu-intel-default|intel|"
	"qemu-intel-strict|intel|intel_iommu=on iommu.passthrough=0 iommu.strict=1"
	"qemu-intel-iommu-strict-wrong|intel|intel_iommu=on iommu=strict"
	"qemu-intel-off|intel|intel_iommu=off iommu=off"
	"qemu-intel-generic|intel|intel_iommu=off amd_iommu=off"
	"qemu-amd-passthrough|amd|iommu=pt"
	"qemu-amd-on-wrong|amd|amd_iommu=on iommu=pt"
	"qemu-amd-strict|amd|iommu.passthrough=0 iommu.strict=1"
	"qemu-amd-off|amd|amd_iommu=off iommu=off"
	"qemu-none|none|"
	"qemu-intel-efi-passthrough|intel-efi|intel_iommu=on iommu=pt"
	"qemu-arm64-passthrough|arm64|iommu.passthrough=1"
	"qemu-arm64-strict|arm64|iommu.passthrough=0 iommu.strict=1"
	# Issue 11: the profiles' tokens in another writer's order, an ignored token, and other releases
	# (a fourth field names the Debian suite whose kernel boots; tests/vm/lib.sh VM_SUITE).
	"qemu-intel-off-reordered|intel|iommu=off intel_iommu=off"
	"qemu-intel-iommu-on-ignored|intel|intel_iommu=off amd_iommu=off iommu=on"
	"qemu-5.10-intel-default|intel||bullseye"
	"qemu-5.10-intel-strict|intel|intel_iommu=on iommu.passthrough=0 iommu.strict=1|bullseye"
	"qemu-6.12-intel-default|intel||trixie"
	"qemu-6.12-amd-on-wrong|amd|amd_iommu=on iommu=pt|trixie"
	# Issue 21: VT-d with caching mode (a virtual IOMMU that shadows page tables) and nothing
	# on the line: the kernel runs strict ("IOMMU batching disallowed due to virtualization").
	"qemu-6.12-intel-cm-default|intel-cm||trixie"
	# Issue 25: ACS-capable root ports with a switch below one of them (a fifth field names the
	# VM_TOPOLOGY of tests/vm/lib.sh); the trees keep each device's config space.
	"qemu-acs-intel-passthrough|intel|intel_iommu=on iommu=pt||acs"
	"qemu-acs-intel-redir-lifted|intel|intel_iommu=on iommu=pt pci=disable_acs_redir=0000:00:10.0||acs"
	"qemu-acs-intel-off|intel|intel_iommu=off||acs"
	"qemu-acs-amd-off|amd|amd_iommu=off||acs"
	"qemu-acs-6.12-intel-passthrough|intel|intel_iommu=on iommu=pt|trixie|acs"
	"qemu-acs-6.12-intel-redir-lifted|intel|intel_iommu=on iommu=pt pci=disable_acs_redir=0000:00:10.0|trixie|acs"
	"qemu-acs-6.12-intel-config-acs|intel|intel_iommu=on iommu=pt pci=config_acs=00xx@0000:00:10.0|trixie|acs"
)

usage() {
	echo "Usage: $0 [-j JOBS] [NAME...]"
	echo "Cases:"
	printf '  %s\n' "${CASES[@]%%|*}"
}

# The qemu command as it can be repeated elsewhere: cache and scratch paths
# shortened to the file names they stand for.
portable_qemu_cmd() {
	sed -e "s|$VM_CACHE/[a-z0-9]*/kernel/boot/|.vmcache/ARCH/kernel/boot/|g" \
		-e "s|$VM_CACHE/suites/|.vmcache/suites/|g" \
		-e "s|-initrd [^ ]*|-initrd initrd.gz|" \
		-E -e "s|${TMPDIR:-/tmp}/tmp\.[A-Za-z0-9]+/||g" <<<"$VM_LAST_QEMU_CMD"
}

describe_target() {
	case $1 in
	intel) echo "Intel VT-d (intel-iommu), q35, direct kernel boot" ;;
	intel-cm) echo "Intel VT-d with caching mode (intel-iommu,caching-mode=on), q35, direct kernel boot" ;;
	amd) echo "AMD-Vi (amd-iommu), q35, direct kernel boot" ;;
	none) echo "no IOMMU, q35, direct kernel boot" ;;
	intel-efi) echo "Intel VT-d (intel-iommu), q35, OVMF + systemd-boot (ESP entry loader/entries/iommuctl-test.conf)" ;;
	arm64) echo "Arm SMMUv3, virt, device tree, direct kernel boot" ;;
	*) echo "$1" ;;
	esac
}

write_origin() {
	local name=$1 target=$2 cmdline=$3 tool_origin=$4 arch qemu suite="Debian 12, this machine's apt"
	arch=$(vm_target_arch "$target")
	[[ -z $VM_SUITE ]] || suite="Debian $VM_SUITE, through the private apt configuration of tests/vm/lib.sh"
	qemu=${VM_LAST_QEMU_CMD%% *}
	cat <<EOF
Captured by tests/vm/capture-fixtures.sh: tools/iommu-capture-host ran as /init's
child inside a QEMU TCG guest with a busybox initramfs; kmsg.txt is the guest's dmesg.
case: $name
machine: $(describe_target "$target")
kernel package: $(vm_kernel_package "$arch") ($suite)
kernel command line added: ${cmdline:-(nothing)}
${VM_TOPOLOGY:+topology: VM_TOPOLOGY=$VM_TOPOLOGY of tests/vm/lib.sh (VM_X86_ACS_DEVICES)
}qemu: $("$qemu" --version | head -n 1)
qemu command: $(portable_qemu_cmd)
$(sed 's/^/guest: /' "$tool_origin")
EOF
}

# The kernel's build configuration, trimmed to what the kernel model reads
# (the full file is about 250 KiB).
trimmed_config() {
	echo "# Trimmed by tests/vm/capture-fixtures.sh from $(basename "$1"): only the IOMMU lines the kernel model reads."
	grep -E '^(# )?CONFIG_(IOMMU_|IOMMUFD|INTEL_IOMMU|AMD_IOMMU|IRQ_REMAP|ARM_SMMU|VFIO)' "$1"
}

capture_one() {
	local name target cmdline work arch fixture start
	local VM_SUITE='' VM_TOPOLOGY=''
	IFS='|' read -r name target cmdline VM_SUITE VM_TOPOLOGY <<<"$1"
	arch=$(vm_target_arch "$target")
	work=$SCRATCH/$name
	fixture=$FIXTURES/$name
	start=$SECONDS
	vm_capture "$target" "$cmdline" "$SCRATCH/initrd-${VM_SUITE:-default}-$arch.gz" "$work" || {
		echo "FAIL $name" >&2
		return 1
	}
	write_origin "$name" "$target" "$cmdline" "$work/capture/ORIGIN" >"$work/ORIGIN"
	rm -rf "$fixture"
	mkdir -p "$fixture"
	mv "$work/capture/root" "$fixture/root"
	mv "$work/capture/kmsg.txt" "$fixture/kmsg.txt"
	mv "$work/ORIGIN" "$fixture/ORIGIN"
	local release
	release=$(vm_kernel_release "$arch")
	mkdir -p "$fixture/root/boot"
	trimmed_config "$(vm_kernel_config "$arch")" >"$fixture/root/boot/config-$release"
	echo "root/boot/config-$release: the kernel package's build configuration, trimmed to the CONFIG_IOMMU*/INTEL_IOMMU*/AMD_IOMMU*/IRQ_REMAP/ARM_SMMU*/VFIO* lines (the full file is about 250 KiB; the kernel model reads only these)" >>"$fixture/ORIGIN"
	echo "captured $name in $((SECONDS - start))s" >&2
}

main() {
	local jobs=2 c arch
	while getopts 'j:h' opt; do
		case $opt in
		j) jobs=$OPTARG ;;
		h)
			usage
			return 0
			;;
		*)
			usage >&2
			return 2
			;;
		esac
	done
	shift $((OPTIND - 1))
	vm_select_cases CASES "$@"

	SCRATCH=$(mktemp -d)
	trap 'rm -rf "$SCRATCH"' EXIT
	local -A archs=()
	local suite key
	for c in "${VM_SELECTED[@]}"; do
		suite=
		IFS='|' read -r _ c _ suite _ <<<"$c"
		archs[${suite:-default}:$(vm_target_arch "$c")]=1
	done
	for key in "${!archs[@]}"; do
		suite=${key%%:*}
		arch=${key#*:}
		[[ $suite != default ]] || suite=
		VM_SUITE=$suite vm_fetch_kernel "$arch"
		VM_SUITE=$suite vm_build_capture_initramfs "$arch" "$SCRATCH/initrd-${suite:-default}-$arch.gz"
	done
	vm_each_parallel "$jobs" capture_one "${VM_SELECTED[@]}"
	du -sh "$FIXTURES" >&2
}

main "$@"
