# shellcheck shell=bash
# Commas inside qemu option words are not array separators; the VM_*
# variables are read by the scripts that source this file.
# shellcheck disable=SC2054,SC2034
# Real-kernel boots for tests: Debian 12's own kernel under QEMU TCG with a
# busybox initramfs. Source this file from a bash script running with
# `set -euo pipefail`; every function returns non-zero on failure.
#
#   vm_fetch_kernel ARCH                      kernel + busybox-static into the cache
#   vm_build_initramfs OUT INIT [SPEC...]     busybox /init cpio (SPEC: file:, bin:, mod:)
#   vm_initramfs_with_env BASE OUT K=V...     BASE plus /etc/vm-env with K=V lines
#   vm_boot_x86 VENDOR CMDLINE INITRD LOG [QEMU ARGS...]
#   vm_boot_arm64 CMDLINE INITRD LOG [QEMU ARGS...]
#   vm_boot_x86_efi VENDOR CMDLINE INITRD LOG [QEMU ARGS...]  via OVMF + systemd-boot
#   vm_boot TARGET CMDLINE INITRD LOG         TARGET: intel, amd, none, *-efi or arm64
#   vm_extract LOG NAME OUT                   one ==BEGIN NAME== blob from a console log
#   vm_extract_tree LOG NAME DIR              same, unpacked as a tar.gz
#   vm_build_capture_initramfs ARCH OUT [SPEC...]  /init runs tools/iommu-capture-host
#   vm_capture TARGET CMDLINE INITRD WORKDIR  boot it; tree in WORKDIR/capture
#   vm_each_parallel JOBS FUNC ITEM...        FUNC ITEM for each item, JOBS at a time
#   vm_select_cases ARRAY [NAME...]           rows of ARRAY ("name|...") into VM_SELECTED
#
# Cache: ${IOMMU_VM_CACHE:-<repo>/.vmcache}/<arch>/{kernel,busybox}. /dev/kvm is
# not usable on the test machines, so QEMU always runs with -accel tcg.
#
# Other Debian releases: with VM_SUITE=bullseye|bookworm|trixie|sid the kernel
# is the one that suite's linux-image-<arch> depends on, downloaded through a
# private apt configuration in <cache>/apt/<suite> (its own sources list,
# lists and package cache; the machine's apt sources are never touched) into
# <cache>/suites/<suite>/<arch>/kernel. Empty VM_SUITE: this machine's apt.
#   vm_kernel_release ARCH / vm_kernel_image ARCH / vm_kernel_config ARCH
#   work on the kernel of the current VM_SUITE.

VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_REPO=$(cd "$VM_LIB_DIR/../.." && pwd)
VM_CACHE=${IOMMU_VM_CACHE:-$VM_REPO/.vmcache}
VM_TIMEOUT=${VM_TIMEOUT:-120}
# Architecture of the kernel and busybox that vm_build_initramfs packs.
VM_ARCH=${VM_ARCH:-amd64}
# The qemu command of the last vm_boot_* call, for ORIGIN files and reports.
VM_LAST_QEMU_CMD=
VM_SUITE=${VM_SUITE:-}
VM_DEBIAN_MIRROR=${VM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
VM_DEBIAN_KEYRING=${VM_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}

vm_log() {
	printf 'vm: %s\n' "$*" >&2
}

vm_err() {
	printf 'vm: error: %s\n' "$*" >&2
	return 1
}

_vm_check_arch() {
	case $1 in
	amd64 | arm64) ;;
	*) vm_err "unsupported architecture '$1' (amd64 or arm64)" ;;
	esac
}

# Where the kernel of ARCH (for VM_SUITE) is unpacked.
_vm_kdir() {
	if [[ -n $VM_SUITE ]]; then
		printf '%s\n' "$VM_CACHE/suites/$VM_SUITE/$1/kernel"
	else
		printf '%s\n' "$VM_CACHE/$1/kernel"
	fi
}

# VM_SUITE may name a kernel flavour after a slash (issue 21): "trixie/cloud"
# boots linux-image-cloud-ARCH of trixie, unpacked apart from the standard one.
_vm_suite_base() {
	printf '%s\n' "${VM_SUITE%%/*}"
}
_vm_suite_flavour() {
	[[ $VM_SUITE != */* ]] || printf '%s\n' "${VM_SUITE#*/}"
}

# _vm_apt TOOL ARGS...: apt-get or apt-cache, for VM_SUITE through the
# suite's private configuration, else as the machine has it.
_vm_apt() {
	local tool=$1
	shift
	if [[ -z $VM_SUITE ]]; then
		"$tool" "$@"
		return
	fi
	local dir
	dir=$VM_CACHE/apt/$(_vm_suite_base)
	"$tool" -o Dir::Etc::sourcelist="$dir/sources.list" -o Dir::Etc::sourceparts=- \
		-o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache" \
		-o APT::Architectures::=amd64 -o APT::Architectures::=arm64 "$@"
}

# The private apt configuration of VM_SUITE, its lists refreshed once a day.
_vm_apt_suite_setup() {
	local dir
	dir=$VM_CACHE/apt/$(_vm_suite_base)
	[[ -n $VM_SUITE ]] || return 0
	local VM_SUITE=$VM_SUITE
	VM_SUITE=$(_vm_suite_base)
	case $VM_SUITE in
	bullseye | bookworm | trixie | forky | sid) ;;
	*) vm_err "unknown Debian suite '$VM_SUITE' (bullseye, bookworm, trixie, forky or sid)" || return ;;
	esac
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" || return
	printf 'deb [signed-by=%s] %s %s main\n' "$VM_DEBIAN_KEYRING" "$VM_DEBIAN_MIRROR" "$VM_SUITE" >"$dir/sources.list.new" &&
		mv "$dir/sources.list.new" "$dir/sources.list" || return
	if [[ -z $(find "$dir/.updated" -mmin -1440 2>/dev/null) ]]; then
		vm_log "apt-get update for $VM_SUITE (private configuration in $dir)"
		_vm_apt apt-get -q update >"$dir/update.log" 2>&1 ||
			{
				tail -n 20 "$dir/update.log" >&2
				vm_err "apt-get update for $VM_SUITE failed"
				return
			}
		touch "$dir/.updated"
	fi
}

# Name of the versioned kernel package the linux-image-ARCH metapackage pulls in.
_vm_kernel_package_name() {
	local arch=$1 name
	local flavour meta
	flavour=$(_vm_suite_flavour)
	meta=linux-image-${flavour:+$flavour-}
	name=$(_vm_apt apt-cache depends "$meta$arch:$arch" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { sub(/:.*/, "", $2); print $2; exit }')
	[[ -n $name ]] || vm_err "cannot resolve $meta$arch:$arch${VM_SUITE:+ in $VM_SUITE} (for arm64: dpkg --add-architecture arm64 && apt-get update)" || return
	printf '%s\n' "$name"
}

# From 7.x Debian splits the image: linux-image-RELEASE depends on
# linux-binary-RELEASE (vmlinuz and modules in usr/lib/modules/RELEASE) and
# linux-base-RELEASE (the config); linux-modules-RELEASE where it exists.
# The packages to unpack for PKG, PKG first.
_vm_kernel_package_set() {
	local pkg=$1 arch=$2
	printf '%s\n' "$pkg"
	_vm_apt apt-cache depends "$pkg:$arch" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-(binary|modules|base)-[0-9]/ { sub(/:.*/, "", $2); print $2 }' | sort -u
}

# apt-get download PKG:ARCH and unpack it into DEST. DEST/.stamp (package,
# version, architecture) is written last, so an interrupted unpack is redone.
# More than one PKG (separated by spaces) are unpacked into the same DEST; the
# stamp names the first.
_vm_fetch_deb() {
	local pkgs=$1 arch=$2 dest=$3 tmp deb p
	if [[ -f $dest/.stamp ]]; then
		return 0
	fi
	tmp=$(mktemp -d "$VM_CACHE/.download.XXXXXX") || return
	for p in $pkgs; do
		vm_log "downloading $p:$arch${VM_SUITE:+ ($VM_SUITE)}"
		if ! (cd "$tmp" && _vm_apt apt-get download -q "$p:$arch" >/dev/null 2>"$tmp/apt.err"); then
			cat "$tmp/apt.err" >&2
			rm -rf "$tmp"
			vm_err "apt-get download $p:$arch${VM_SUITE:+ ($VM_SUITE)} failed"
			return
		fi
	done
	local rc=0
	rm -rf "$dest" && mkdir -p "$dest" || rc=$?
	for deb in "$tmp"/*.deb; do
		[[ $rc -ne 0 ]] || dpkg -x "$deb" "$dest" || rc=$?
	done
	deb=$(ls "$tmp"/"${pkgs%% *}"_*.deb)
	[[ $rc -ne 0 ]] || { dpkg-deb -f "$deb" Package Version Architecture >"$tmp/stamp" &&
		mv "$tmp/stamp" "$dest/.stamp"; } || rc=$?
	rm -rf "$tmp"
	return $rc
}

vm_fetch_kernel() {
	local arch=$1 pkg kdir
	_vm_check_arch "$arch" || return
	kdir=$(_vm_kdir "$arch")
	mkdir -p "$VM_CACHE/$arch" || return
	if [[ ! -f $kdir/.stamp ]]; then
		_vm_apt_suite_setup || return
		pkg=$(_vm_kernel_package_name "$arch") || return
		_vm_fetch_deb "$(_vm_kernel_package_set "$pkg" "$arch" | paste -sd' ')" "$arch" "$kdir" || return
	fi
	# busybox-static comes from this machine's apt: any release's kernel runs it.
	VM_SUITE= _vm_fetch_deb busybox-static "$arch" "$VM_CACHE/$arch/busybox" || return
	vm_kernel_image "$arch" >/dev/null
}

# The modules directory of the kernel: lib/modules/RELEASE or, with
# merged /usr (6.12 and later packages), usr/lib/modules/RELEASE.
vm_kernel_moddir() {
	local kdir dir
	kdir=$(_vm_kdir "$1")
	for dir in "$kdir"/lib/modules/* "$kdir"/usr/lib/modules/*; do
		[[ -d $dir/kernel ]] && printf '%s\n' "$dir" && return 0
	done
	vm_err "no modules for $1${VM_SUITE:+ ($VM_SUITE)} in $kdir"
}

vm_kernel_image() {
	local kdir img
	kdir=$(_vm_kdir "$1")
	for img in "$kdir"/boot/vmlinuz-* "$kdir"/usr/lib/modules/*/vmlinuz; do
		[[ -f $img ]] && printf '%s\n' "$img" && return 0
	done
	vm_err "no kernel for $1${VM_SUITE:+ ($VM_SUITE)} in $kdir (run vm_fetch_kernel $1)"
}

# The kernel's build configuration (boot/config-RELEASE, or next to the
# modules from 7.x).
vm_kernel_config() {
	local kdir f
	kdir=$(_vm_kdir "$1")
	for f in "$kdir"/boot/config-* "$kdir"/usr/lib/modules/*/config "$kdir"/lib/modules/*/config; do
		[[ -f $f ]] && printf '%s\n' "$f" && return 0
	done
	vm_err "no kernel config for $1${VM_SUITE:+ ($VM_SUITE)} in $kdir"
}

# Kernel release, e.g. 6.1.0-56-amd64: the modules directory's name.
vm_kernel_release() {
	local dir
	dir=$(vm_kernel_moddir "$1") || return
	basename "$dir"
}

# "linux-image-6.1.0-56-amd64 6.1.192-2 amd64", for ORIGIN files.
vm_kernel_package() {
	awk -F': ' '{ printf "%s%s", sep, $2; sep = " " } END { print "" }' "$(_vm_kdir "$1")/.stamp"
}

vm_busybox() {
	local bb=$VM_CACHE/$1/busybox/bin/busybox
	[[ -x $bb ]] || vm_err "no busybox for $1 in $VM_CACHE (run vm_fetch_kernel $1)" || return
	printf '%s\n' "$bb"
}

# --- initramfs -------------------------------------------------------------

# Module dependencies come from the "depends=" string in the module's
# .modinfo section (what modinfo prints); the Debian package ships no
# modules.dep and depmod may not be installed.
_vm_module_depends() {
	# 6.12 and later packages ship xz-compressed modules (.ko.xz).
	case $1 in
	*.xz) xz -dc "$1" ;;
	*) cat "$1" ;;
	esac | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' '
}

# Path of module NAME below MODDIR ("-" and "_" are the same in module names),
# empty if it is built in, failure if it does not exist.
_vm_module_path() {
	local moddir=$1 name=${2//-/_} path
	path=$(find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz' | awk -v want="$name" '{
		base = $0; sub(/.*\//, "", base); sub(/\.ko(\.xz)?$/, "", base); gsub(/-/, "_", base)
		if (base == want) { print; exit }
	}')
	if [[ -n $path ]]; then
		printf '%s\n' "$path"
	elif grep -q "/${name//_/[-_]}\.ko\(\.xz\)\?\$" "$moddir/modules.builtin"; then
		return 0
	else
		vm_err "kernel module $name not found in $moddir"
	fi
}

# Copy module NAME and its dependencies into STAGING and append them to
# /etc/vm-modules, dependencies first, each once.
_vm_stage_module() {
	local staging=$1 moddir=$2 name=$3 path rel dep
	path=$(_vm_module_path "$moddir" "$name") || return
	[[ -n $path ]] || return 0
	rel=${path#"$(_vm_kdir "$VM_ARCH")"}
	# Merged-/usr packages: the guest's modules live in /lib/modules all the same.
	rel=${rel#/usr}
	# busybox insmod loads plain .ko files: decompress.
	rel=${rel%.xz}
	grep -qxF "$rel" "$staging/etc/vm-modules" 2>/dev/null && return 0
	for dep in $(_vm_module_depends "$path"); do
		_vm_stage_module "$staging" "$moddir" "$dep" || return
	done
	mkdir -p "$staging$(dirname "$rel")" &&
		case $path in
		*.xz) xz -dc "$path" >"$staging$rel" ;;
		*) cp "$path" "$staging$rel" ;;
		esac &&
		printf '%s\n' "$rel" >>"$staging/etc/vm-modules"
}

# Debian's multiarch triplet of a guest architecture.
_vm_triplet() {
	case $1 in
	amd64) echo x86_64-linux-gnu ;;
	arm64) echo aarch64-linux-gnu ;;
	esac
}

# Libraries of a foreign-architecture ELF (arm64 on this amd64 machine): ldd
# cannot run it, so follow DT_NEEDED with readelf through Debian's multiarch
# directories (the :arm64 library packages) and the cross toolchain's libc.
# Each goes to /lib/TRIPLET in STAGING, on the guest loader's default path.
_vm_stage_foreign_libs() {
	local staging=$1 elf=$2 triplet=$3 lib dir found
	for lib in $(readelf -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
		[[ ! -e $staging/lib/$triplet/$lib ]] || continue
		found=
		for dir in "/lib/$triplet" "/usr/lib/$triplet" "/usr/$triplet/lib"; do
			if [[ -e $dir/$lib ]]; then
				found=$dir/$lib
				break
			fi
		done
		[[ -n $found ]] || vm_err "$elf needs $lib, which is in none of /lib/$triplet, /usr/lib/$triplet, /usr/$triplet/lib" || return
		mkdir -p "$staging/lib/$triplet" && cp -L "$found" "$staging/lib/$triplet/$lib" || return
		_vm_stage_foreign_libs "$staging" "$found" "$triplet" || return
	done
}

# A dynamic ELF for VM_ARCH other than this machine's: its program
# interpreter and libraries.
_vm_stage_foreign_binary() {
	local staging=$1 src=$2 triplet interp
	triplet=$(_vm_triplet "$VM_ARCH")
	interp=$(readelf -l "$src" | sed -n 's/.*Requesting program interpreter: \(.*\)\]$/\1/p')
	if [[ -n $interp ]]; then
		local from=$interp
		[[ -e $from ]] || from=/usr/$triplet/lib/$(basename "$interp")
		mkdir -p "$staging$(dirname "$interp")" && cp -L "$from" "$staging$interp" || return
	fi
	_vm_stage_foreign_libs "$staging" "$src" "$triplet"
}

# Copy an executable and, for a dynamic ELF, every library it needs (the
# dynamic loader included) into STAGING: for amd64 what ldd lists, at the same
# absolute paths; for arm64 (a cross-compiled binary) see above.
_vm_stage_binary() {
	local staging=$1 src=$2 dest=$3 lib
	mkdir -p "$staging$(dirname "$dest")" &&
		cp -L "$src" "$staging$dest" &&
		chmod 755 "$staging$dest" || return
	if [[ $VM_ARCH != amd64 ]]; then
		_vm_stage_foreign_binary "$staging" "$src"
		return
	fi
	# Static binaries and scripts make ldd fail; they need nothing more.
	for lib in $(ldd "$src" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'); do
		mkdir -p "$staging$(dirname "$lib")" &&
			cp -L "$lib" "$staging$lib" || return
	done
}

_vm_stage_spec() {
	local staging=$1 spec=$2 kind rest src dest
	kind=${spec%%:*}
	rest=${spec#*:}
	src=${rest%%:*}
	dest=${rest#"$src"}
	dest=${dest#:}
	case $kind in
	file)
		[[ -n $dest ]] || vm_err "file:$src needs a guest path (file:SRC:DEST)" || return
		mkdir -p "$staging$(dirname "$dest")" && cp -L "$src" "$staging$dest"
		;;
	bin)
		_vm_stage_binary "$staging" "$src" "${dest:-/bin/$(basename "$src")}"
		;;
	mod)
		_vm_stage_module "$staging" "$(vm_kernel_moddir "$VM_ARCH")" "$src"
		;;
	optmod)
		# A module some flavours lack (Debian's cloud kernel has no e1000e): left out there.
		if _vm_module_path "$(vm_kernel_moddir "$VM_ARCH")" "$src" >/dev/null 2>&1; then
			_vm_stage_module "$staging" "$(vm_kernel_moddir "$VM_ARCH")" "$src"
		else
			vm_log "module $src is not in this kernel${VM_SUITE:+ ($VM_SUITE)}: left out"
		fi
		;;
	*)
		vm_err "unknown initramfs spec '$spec' (file:SRC:DEST, bin:SRC[:DEST], mod:NAME, optmod:NAME)"
		;;
	esac
}

# Pack DIR as a gzip'd newc cpio (the format the kernel unpacks).
_vm_pack_cpio() {
	local dir=$1 out=$2
	(cd "$dir" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -1 >"$out"
}

# vm_build_initramfs OUT INIT [SPEC...]
#   INIT becomes /init (a busybox sh script; /lib/vm-guest.sh is there to source).
#   file:SRC:DEST      copy a host file to DEST
#   bin:SRC[:DEST]     copy an executable and its shared libraries (default /bin/NAME);
#                      for arm64 a cross-compiled one (libraries from the :arm64 packages)
#   mod:NAME           copy kernel module NAME (+ dependencies) of VM_ARCH's kernel;
#                      vm_guest_load_modules loads them in order
vm_build_initramfs() {
	local out=$1 init=$2 staging rc=0
	shift 2
	staging=$(mktemp -d) || return
	_vm_populate_initramfs "$staging" "$init" "$@" && _vm_pack_cpio "$staging" "$out" || rc=$?
	rm -rf "$staging"
	return $rc
}

# Runs in an && list, where bash ignores set -e: every step checks itself.
_vm_populate_initramfs() {
	local staging=$1 init=$2 bb spec
	shift 2
	bb=$(vm_busybox "$VM_ARCH") || return
	mkdir -p "$staging"/{bin,sbin,etc,lib,proc,sys,dev,tmp,run} &&
		cp "$bb" "$staging/bin/busybox" &&
		ln -s busybox "$staging/bin/sh" &&
		cp "$init" "$staging/init" &&
		chmod 755 "$staging/init" &&
		cp "$VM_LIB_DIR/guest-lib.sh" "$staging/lib/vm-guest.sh" || return
	for spec in "$@"; do
		_vm_stage_spec "$staging" "$spec" || return
	done
	[[ ! -f $staging/etc/vm-modules ]] || _vm_index_modules "$staging"
}

# modules.dep, modules.alias... for the staged modules, so libkmod in the
# guest (iommuctl verify, modprobe) finds them as on an installed system.
_vm_index_modules() {
	local staging=$1 release src f
	release=$(vm_kernel_release "$VM_ARCH") || return
	src=$(vm_kernel_moddir "$VM_ARCH") || return
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		[[ ! -f $src/$f ]] || cp "$src/$f" "$staging/lib/modules/$release/$f" || return
	done
	depmod -b "$staging" "$release" || vm_err "depmod -b $staging $release failed"
}

# The kernel unpacks concatenated compressed cpio archives in order, so a
# per-boot setting is a tiny second archive instead of a rebuilt initramfs.
vm_initramfs_with_env() {
	local base=$1 out=$2 staging kv
	shift 2
	staging=$(mktemp -d) || return
	local rc=0
	mkdir -p "$staging/etc" &&
		for kv in "$@"; do
			printf '%s=%q\n' "${kv%%=*}" "${kv#*=}" >>"$staging/etc/vm-env" || break
		done &&
		_vm_pack_cpio "$staging" "$out.tmp" &&
		cat "$base" "$out.tmp" >"$out" || rc=$?
	rm -rf "$staging" "$out.tmp"
	return $rc
}

# --- booting ---------------------------------------------------------------

# The words as a shell would need them typed, for people to copy.
_vm_quote_words() {
	local w out=
	for w in "$@"; do
		if [[ -z $w || $w == *[!A-Za-z0-9_./:,=+@%-]* ]]; then
			w="'${w//\'/\'\\\'\'}'"
		fi
		out+="${out:+ }$w"
	done
	printf '%s\n' "$out"
}

# Run QEMU (argv in "$@") with a hard timeout, console to LOG. A boot counts
# as good only if the guest printed ==VM-DONE== (vm_guest_done).
_vm_run_qemu() {
	local log=$1 rc=0
	shift
	VM_LAST_QEMU_CMD=$(_vm_quote_words "$@")
	timeout --kill-after=10 "$VM_TIMEOUT" "$@" </dev/null >"$log" 2>&1 || rc=$?
	if [[ $rc -eq 0 ]] && grep -q '==VM-DONE==$' <(tr -d '\r' <"$log"); then
		return 0
	fi
	if [[ $rc -eq 124 ]]; then
		vm_log "boot timed out after ${VM_TIMEOUT}s: $log"
	else
		vm_log "boot failed (qemu status $rc, no ==VM-DONE==): $log"
	fi
	vm_log "last 40 lines of the guest console:"
	tr -d '\r' <"$log" | tail -n 40 | sed 's/^/  | /' >&2
	return 1
}

# A few PCI devices so IOMMU groups mean something: a NIC on the root
# complex and a virtio device behind a PCIe root port.
VM_X86_DEVICES=(
	-vga none -nic none
	-netdev user,id=net0 -device e1000e,netdev=net0,romfile=
	-device pcie-root-port,id=rp1,chassis=1,slot=1
	-device virtio-rng-pci,bus=rp1
)

# Issue 25: the ACS topology (VM_TOPOLOGY=acs adds it to the x86 machine).
# QEMU 7.2's pcie-root-port has an ACS capability, its x3130 switch ports
# have none. Root port 00:10.0 holds a switch with a NIC and an NVMe
# controller on two downstream ports; root port 00:11.0 holds a second NVMe
# controller. Fixed slot addresses, so a command line can name the ports.
VM_X86_ACS_DEVICES=(
	-device pcie-root-port,id=acsrp1,chassis=11,slot=11,addr=0x10
	-device x3130-upstream,id=acsup1,bus=acsrp1
	-device xio3130-downstream,id=acsdn1,bus=acsup1,chassis=12,slot=0
	-device xio3130-downstream,id=acsdn2,bus=acsup1,chassis=13,slot=1
	-device e1000e,bus=acsdn1,romfile=
	-device nvme,bus=acsdn2,serial=acs1
	-device pcie-root-port,id=acsrp2,chassis=14,slot=14,addr=0x11
	-device nvme,bus=acsrp2,serial=acs2
)

# _vm_x86_topology ARRAY: the devices VM_TOPOLOGY adds (none by default).
_vm_x86_topology() {
	local -n extra=$1
	case ${VM_TOPOLOGY:-} in
	'') extra=() ;;
	acs) extra=("${VM_X86_ACS_DEVICES[@]}") ;;
	*) vm_err "unknown VM_TOPOLOGY '$VM_TOPOLOGY' (acs or empty)" ;;
	esac
}

# _vm_x86_iommu_args VENDOR ARRAY: the qemu arguments for the emulated IOMMU
# (interrupt remapping on, as on real servers) into the array named ARRAY.
_vm_x86_iommu_args() {
	local -n args=$2
	case $1 in
	intel) args=(-device intel-iommu,intremap=on) ;;
	# VT-d with caching mode, as virtual IOMMUs that shadow page tables run
	# (clouds): the kernel forces strict invalidation (issue 21).
	intel-cm) args=(-device intel-iommu,intremap=on,caching-mode=on) ;;
	amd) args=(-device amd-iommu,intremap=on) ;;
	none) args=() ;;
	*) vm_err "unknown IOMMU vendor '$1' (intel, intel-cm, amd or none)" ;;
	esac
}

# vm_boot_x86 VENDOR(intel|amd|none) CMDLINE INITRD LOG [QEMU ARGS...]
vm_boot_x86() {
	local vendor=$1 cmdline=$2 initrd=$3 log=$4 kernel
	shift 4
	local -a iommu topology
	_vm_x86_iommu_args "$vendor" iommu || return
	_vm_x86_topology topology || return
	kernel=$(vm_kernel_image amd64) || return
	_vm_run_qemu "$log" qemu-system-x86_64 -accel tcg -cpu max -m 1024 \
		-machine q35,kernel-irqchip=split "${iommu[@]}" \
		-nographic -no-reboot "${VM_X86_DEVICES[@]}" "${topology[@]}" \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 quiet$(_vm_x86_quirks)${cmdline:+ $cmdline}" "$@"
}

# Under TCG on a loaded machine (seen with 5.10 and 6.1 at load 20 on 2
# cores) check_timer() finds the emulated timer too slow and panics: "timer
# doesn't work through Interrupt-remapped IO-APIC". no_timer_check skips that
# probe and nothing else; VM_X86_QUIRKS= turns it off.
VM_X86_QUIRKS=${VM_X86_QUIRKS- no_timer_check}
_vm_x86_quirks() {
	printf '%s' "$VM_X86_QUIRKS"
}

VM_OVMF_CODE=${VM_OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}
VM_OVMF_VARS=${VM_OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}
VM_SYSTEMD_BOOT=${VM_SYSTEMD_BOOT:-/usr/lib/systemd/boot/efi/systemd-bootx64.efi}

# An EFI system partition image (FAT, built without mounting) with
# systemd-boot and one Boot Loader Specification entry, iommuctl-test.conf.
_vm_make_esp() {
	local esp=$1 kernel=$2 initrd=$3 options=$4 dir
	dir=$(mktemp -d) || return
	printf 'default iommuctl-test.conf\ntimeout 0\n' >"$dir/loader.conf"
	printf 'title iommuctl test\nlinux /vmlinuz\ninitrd /initrd.gz\noptions %s\n' "$options" >"$dir/entry.conf"
	local rc=0
	rm -f "$esp"
	mkfs.vfat -C "$esp" 65536 >/dev/null &&
		MTOOLS_SKIP_CHECK=1 mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries &&
		MTOOLS_SKIP_CHECK=1 mcopy -i "$esp" "$VM_SYSTEMD_BOOT" ::/EFI/BOOT/BOOTX64.EFI &&
		MTOOLS_SKIP_CHECK=1 mcopy -i "$esp" "$kernel" ::/vmlinuz &&
		MTOOLS_SKIP_CHECK=1 mcopy -i "$esp" "$initrd" ::/initrd.gz &&
		MTOOLS_SKIP_CHECK=1 mcopy -i "$esp" "$dir/loader.conf" ::/loader/loader.conf &&
		MTOOLS_SKIP_CHECK=1 mcopy -i "$esp" "$dir/entry.conf" ::/loader/entries/iommuctl-test.conf || rc=$?
	rm -rf "$dir"
	return $rc
}

# vm_boot_x86_efi VENDOR CMDLINE INITRD LOG [QEMU ARGS...]: like vm_boot_x86,
# but through OVMF and systemd-boot, so the guest has /sys/firmware/efi and
# the boot loader's EFI variables, and /proc/cmdline starts with initrd=.
# The ESP is an AHCI disk on the ICH9 controller q35 has anyway, so the PCI
# topology (and the groups) stay those of vm_boot_x86.
vm_boot_x86_efi() {
	local vendor=$1 cmdline=$2 initrd=$3 log=$4 kernel scratch rc=0
	shift 4
	local -a iommu
	_vm_x86_iommu_args "$vendor" iommu || return
	kernel=$(vm_kernel_image amd64) || return
	scratch=$(mktemp -d) || return
	if _vm_make_esp "$scratch/esp.img" "$kernel" "$initrd" "console=ttyS0 quiet${cmdline:+ $cmdline}" &&
		cp "$VM_OVMF_VARS" "$scratch/vars.fd"; then
		_vm_run_qemu "$log" qemu-system-x86_64 -accel tcg -cpu max -m 1024 \
			-machine q35,kernel-irqchip=split "${iommu[@]}" \
			-nographic -no-reboot "${VM_X86_DEVICES[@]}" \
			-drive "if=pflash,format=raw,readonly=on,file=$VM_OVMF_CODE" \
			-drive "if=pflash,format=raw,file=$scratch/vars.fd" \
			-drive "if=ide,format=raw,file=$scratch/esp.img" "$@" || rc=$?
	else
		rc=1
	fi
	rm -rf "$scratch"
	return $rc
}

# With device-tree boot a PCI device joins an IOMMU group only once a driver
# binds it, so the initramfs must load virtio_pci and virtio_rng for these.
VM_ARM64_DEVICES=(
	-nic none
	-device virtio-rng-pci
	-device pcie-root-port,id=rp1,chassis=1,slot=1
	-device virtio-rng-pci,bus=rp1
)

# vm_boot_arm64 CMDLINE INITRD LOG [QEMU ARGS...]
vm_boot_arm64() {
	local cmdline=$1 initrd=$2 log=$3 kernel
	shift 3
	kernel=$(vm_kernel_image arm64) || return
	_vm_run_qemu "$log" qemu-system-aarch64 -accel tcg -machine virt,iommu=smmuv3 -cpu max -m 1024 \
		-nographic -no-reboot "${VM_ARM64_DEVICES[@]}" \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyAMA0 quiet${cmdline:+ $cmdline}" "$@"
}

# vm_boot TARGET CMDLINE INITRD LOG [QEMU ARGS...]
#   TARGET: intel, amd or none (x86, direct kernel boot), the same with -efi
#   (x86 through OVMF and systemd-boot), or arm64.
vm_boot() {
	local target=$1
	shift
	case $target in
	arm64) vm_boot_arm64 "$@" ;;
	*-efi) vm_boot_x86_efi "${target%-efi}" "$@" ;;
	*) vm_boot_x86 "$target" "$@" ;;
	esac
}

vm_target_arch() {
	case $1 in
	arm64) echo arm64 ;;
	*) echo amd64 ;;
	esac
}

# --- results ---------------------------------------------------------------

# vm_extract LOG NAME OUT: decode the blob the guest printed with
# vm_guest_emit_file NAME and check its sha256.
vm_extract() {
	local log=$1 name=$2 out=$3 want got
	# The first marker may share its line with the firmware's escape sequences.
	# awk reads to the end: exiting early would kill tr with SIGPIPE on a log
	# larger than a pipe buffer, and pipefail would call that a failure.
	tr -d '\r' <"$log" | awk -v b="==BEGIN $name==" -v e="==END $name " '
		!on && !done && substr($0, length($0) - length(b) + 1) == b { on = 1; next }
		on && index($0, e) == 1 { on = 0; done = 1 }
		on { print }' | base64 -d >"$out" ||
		vm_err "cannot decode '$name' from $log" || return
	want=$(tr -d '\r' <"$log" | sed -n "s/^==END $name \([0-9a-f]\{64\}\)==\$/\1/p" | head -n 1)
	[[ -n $want ]] || vm_err "no '$name' output in $log" || return
	got=$(sha256sum "$out" | cut -d' ' -f1)
	[[ $got == "$want" ]] || vm_err "'$name' from $log is corrupt (sha256 $got, guest said $want)"
}

# vm_extract_tree LOG NAME DIR: vm_extract a vm_guest_emit_tree blob into DIR.
vm_extract_tree() {
	local log=$1 name=$2 dir=$3 tgz rc=0
	tgz=$(mktemp)
	vm_extract "$log" "$name" "$tgz" || rc=$?
	if [[ $rc -eq 0 ]]; then
		mkdir -p "$dir"
		tar -C "$dir" --no-same-owner -m -xzf "$tgz" || rc=$?
	fi
	rm -f "$tgz"
	return $rc
}

# --- capturing hosts ---------------------------------------------------------

# What a GPU/RDMA host has loaded (vfio), plus drivers for the test devices:
# on arm64 a PCI device only gets an IOMMU group once a driver binds it.
VM_CAPTURE_MODULES_amd64=(optmod:e1000e virtio_pci virtio_rng vfio_pci vfio_iommu_type1 efivarfs)
VM_CAPTURE_MODULES_arm64=(virtio_pci virtio_rng vfio_pci vfio_iommu_type1)

# vm_build_capture_initramfs ARCH OUT [SPEC...]: /init (init-capture.sh) runs
# tools/iommu-capture-host and sends the tree back as "capture".
vm_build_capture_initramfs() {
	local arch=$1 out=$2 m
	shift 2
	local -a specs=("file:$VM_REPO/tools/iommu-capture-host:/bin/iommu-capture-host")
	local -n mods="VM_CAPTURE_MODULES_$arch"
	for m in "${mods[@]}"; do
		[[ $m == *:* ]] && specs+=("$m") || specs+=("mod:$m")
	done
	VM_ARCH=$arch vm_build_initramfs "$out" "$VM_LIB_DIR/init-capture.sh" "${specs[@]}" "$@"
}

# vm_capture TARGET CMDLINE INITRD WORKDIR: boot and unpack the guest's
# capture into WORKDIR/capture ({root/,kmsg.txt,ORIGIN}); the console log is
# WORKDIR/console.log.
vm_capture() {
	local target=$1 cmdline=$2 initrd=$3 work=$4
	mkdir -p "$work" || return
	vm_boot "$target" "$cmdline" "$initrd" "$work/console.log" &&
		vm_extract_tree "$work/console.log" capture "$work/capture"
}

# vm_each_parallel JOBS FUNC ITEM...: run FUNC ITEM in the background for each
# ITEM, at most JOBS at a time (TCG keeps one host core busy per guest).
# Fails if any run failed.
vm_each_parallel() {
	local jobs=$1 func=$2 item running=0 failed=0
	shift 2
	for item in "$@"; do
		if ((running >= jobs)); then
			wait -n || failed=1
			running=$((running - 1))
		fi
		"$func" "$item" &
		running=$((running + 1))
	done
	while ((running > 0)); do
		wait -n || failed=1
		running=$((running - 1))
	done
	return $failed
}

# vm_select_cases ARRAY [NAME...]: the rows of the array named ARRAY (each
# "name|...") whose name is given, in the order given; all rows without names.
vm_select_cases() {
	local -n rows=$1
	local want row found
	shift
	VM_SELECTED=()
	if [[ $# -eq 0 ]]; then
		VM_SELECTED=("${rows[@]}")
		return 0
	fi
	for want in "$@"; do
		found=
		for row in "${rows[@]}"; do
			if [[ ${row%%|*} == "$want" ]]; then
				VM_SELECTED+=("$row")
				found=1
			fi
		done
		[[ -n $found ]] || vm_err "no case named '$want' (cases: ${rows[*]%%|*})" || return
	done
}
