#!/bin/bash
# tools/iommu-capture-host without a VM: capturing a captured fixture again
# (--root) must give the same files and links, under busybox sh and the
# system's /bin/sh; links must stay relative and inside the tree; nothing
# outside OUTDIR may change; links that leave the root are dropped.
#
#   tests/vm/test-capture-host.sh
# Prints one line per check, then "N passed, N failed".

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOL=$REPO/tools/iommu-capture-host
FIXTURES=$REPO/tests/fixtures/hosts
PASSED=0
FAILED=0

report() {
	local verdict=$1
	shift
	echo "$verdict $*"
	if [[ $verdict == PASS ]]; then
		PASSED=$((PASSED + 1))
	else
		FAILED=$((FAILED + 1))
	fi
}

# Files with their sha256 and links with their text; directories are left out
# because git does not keep empty ones.
manifest() {
	(cd "$1" && find . \( -type f -o -type l \) -print | LC_ALL=C sort | while read -r p; do
		if [[ -L $p ]]; then
			printf '%s -> %s\n' "$p" "$(readlink "$p")"
		else
			printf '%s %s\n' "$p" "$(sha256sum <"$p" | cut -d' ' -f1)"
		fi
	done)
}

# Every link relative, and resolving (lexically) to a path inside the tree.
links_stay_inside() {
	local root=$1 link target dir
	while read -r link; do
		target=$(readlink "$root/$link")
		[[ $target != /* ]] || {
			echo "absolute link $link -> $target"
			return 1
		}
		dir=$(dirname "$link")
		realpath -m --relative-base="$root" "$root/$dir/$target" | grep -qv '^/' || {
			echo "link $link -> $target leaves the tree"
			return 1
		}
	done < <(cd "$root" && find . -type l)
}

check_recapture() {
	local shell=$1 fixture=$2 out=$3 before why
	before=$(manifest "$fixture/root")
	if ! $shell "$TOOL" --root "$fixture/root" "$out" 2>"$out.err"; then
		report FAIL "$shell recapture of ${fixture##*/}: $(head -n 1 "$out.err")"
		return
	fi
	if [[ $(manifest "$out/root") != "$before" ]]; then
		report FAIL "$shell recapture of ${fixture##*/} differs: $(diff <(echo "$before") <(manifest "$out/root") | head -n 3 | paste -sd' ')"
	elif [[ $(manifest "$fixture/root") != "$before" ]]; then
		report FAIL "$shell recapture of ${fixture##*/} changed the source tree"
	elif ! why=$(links_stay_inside "$out/root"); then
		report FAIL "$shell recapture of ${fixture##*/}: $why"
	elif [[ -e $out/kmsg.txt ]]; then
		report FAIL "$shell recapture of ${fixture##*/} wrote the running kernel's log"
	else
		report PASS "$shell recapture of ${fixture##*/}"
	fi
}

# A foreign root whose links are absolute (as seen from that root) or climb
# out of it: the first become relative, the second are dropped.
check_foreign_links() {
	local tmp=$1 src=$1/src out=$1/out
	mkdir -p "$src/sys/devices/pci0000:00/0000:00:01.0" "$src/sys/bus/pci/devices" "$src/sys/kernel/iommu_groups/7/devices"
	echo 0x10de >"$src/sys/devices/pci0000:00/0000:00:01.0/vendor"
	ln -s /sys/devices/pci0000:00/0000:00:01.0 "$src/sys/bus/pci/devices/0000:00:01.0"
	ln -s /sys/kernel/iommu_groups/7 "$src/sys/devices/pci0000:00/0000:00:01.0/iommu_group"
	ln -s ../../../../../../../../etc "$src/sys/kernel/iommu_groups/7/devices/0000:00:01.0"
	echo identity >"$src/sys/kernel/iommu_groups/7/type"
	busybox sh "$TOOL" --root "$src" "$out" 2>"$tmp/err" || true
	local link group
	link=$(readlink "$out/root/sys/bus/pci/devices/0000:00:01.0" || true)
	group=$(readlink "$out/root/sys/devices/pci0000:00/0000:00:01.0/iommu_group" || true)
	if [[ $link == ../../../devices/pci0000:00/0000:00:01.0 &&
		$group == ../../../kernel/iommu_groups/7 &&
		! -L $out/root/sys/kernel/iommu_groups/7/devices/0000:00:01.0 &&
		$(cat "$out/root/sys/bus/pci/devices/0000:00:01.0/vendor") == 0x10de ]] &&
		grep -q 'outside the root' "$tmp/err"; then
		report PASS "absolute links made relative, escaping links dropped"
	else
		report FAIL "foreign links: device -> '$link', iommu_group -> '$group', $(cat "$tmp/err")"
	fi
}

# QEMU 7.2 emulates no SR-IOV device, so a PF/VF pair is built by hand the
# way sysfs lays it out: PF virtfn0 -> VF, VF physfn -> PF, counts on the PF.
check_sriov_links() {
	local tmp=$1 src=$1/src out=$1/out pf=sys/devices/pci0000:00/0000:00:03.0/0000:3b:00.0
	local vf=sys/devices/pci0000:00/0000:00:03.0/0000:3b:00.1
	mkdir -p "$src/$pf" "$src/$vf" "$src/sys/bus/pci/devices"
	echo 8 >"$src/$pf/sriov_totalvfs"
	echo 1 >"$src/$pf/sriov_numvfs"
	ln -s ../0000:3b:00.1 "$src/$pf/virtfn0"
	ln -s ../0000:3b:00.0 "$src/$vf/physfn"
	ln -s "../../../${pf#sys/}" "$src/sys/bus/pci/devices/0000:3b:00.0"
	ln -s "../../../${vf#sys/}" "$src/sys/bus/pci/devices/0000:3b:00.1"
	busybox sh "$TOOL" --root "$src" "$out" 2>"$tmp/err" || true
	if [[ $(readlink "$out/root/$pf/virtfn0") == ../0000:3b:00.1 &&
		$(readlink "$out/root/$vf/physfn") == ../0000:3b:00.0 &&
		$(cat "$out/root/$pf/sriov_totalvfs" "$out/root/$pf/sriov_numvfs" | paste -sd/) == 8/1 ]]; then
		report PASS "SR-IOV physfn/virtfn links and VF counts kept"
	else
		report FAIL "SR-IOV: $(cd "$out/root" 2>/dev/null && find sys -path '*3b*' | paste -sd' ') $(cat "$tmp/err")"
	fi
}

check_refuses_existing() {
	local out=$1/exists
	mkdir -p "$out/root"
	if "$TOOL" --root "$FIXTURES/qemu-none/root" "$out" 2>/dev/null; then
		report FAIL "capturing into an existing OUTDIR/root was not refused"
	else
		report PASS "refuses to capture over an existing OUTDIR/root"
	fi
}

main() {
	local fixture shell n=0
	TMP=$(mktemp -d)
	trap 'rm -rf "$TMP"' EXIT
	local tmp=$TMP
	for fixture in "$FIXTURES"/*/; do
		fixture=${fixture%/}
		[[ -d $fixture/root ]] || continue
		for shell in "busybox sh" /bin/sh; do
			n=$((n + 1))
			check_recapture "$shell" "$fixture" "$tmp/$n"
		done
	done
	mkdir -p "$tmp/foreign"
	check_foreign_links "$tmp/foreign"
	mkdir -p "$tmp/sriov"
	check_sriov_links "$tmp/sriov"
	check_refuses_existing "$tmp"
	echo "$PASSED passed, $FAILED failed"
	[[ $FAILED -eq 0 ]]
}

main "$@"
