# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the bench/ scripts: instruction counts under callgrind, generated trees, the floors.
# Sourced; needs $src (the source tree) and $build (the build directory) set by the caller.

command -v python3 > /dev/null || { echo "python3 is missing (apt-get install python3)" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/iommuctl-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=valgrind.sh
. "$src/bench/valgrind.sh"

# callgrind_count COMMAND...: instructions executed by COMMAND (callgrind's "Collected"), in a
# clean environment (summed over child processes with --trace-children=yes) as systemd or an operator's shell would give it (meson test sets
# MALLOC_PERTURB_, which makes every free() a memset).
callgrind_count() {
        local n
        n=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin IOMMUCTL_PROFILES_PATH="$src/profiles" \
                "$VALGRIND" --tool=callgrind --callgrind-out-file=/dev/null ${CALLGRIND_ARGS:-} "$@" 2>&1 > /dev/null \
                | awk '/^==[0-9]*== Collected : [0-9]*$/ { n += $NF; seen = 1 } END { if (seen) printf "%.0f\n", n }')
        [[ -n $n ]] || { echo "callgrind did not report a count for $*" >&2; exit 2; }
        echo "$n"
}

# fsync_count COMMAND...: fsync + fdatasync calls of COMMAND and its children (strace -f -c).
fsync_count() {
        command -v strace > /dev/null || { echo "strace is missing (apt-get install strace)" >&2; exit 2; }
        env IOMMUCTL_PROFILES_PATH="$src/profiles" strace -f -c -e trace=fsync,fdatasync -o "$tmp/strace" "$@" > /dev/null 2>&1 \
                || { echo "failed under strace: $*" >&2; exit 2; }
        awk '$NF == "fsync" || $NF == "fdatasync" { n += $4 } END { printf "%.0f\n", n }' "$tmp/strace"
}

# peak_rss_kib COMMAND...: the maximum resident set size of COMMAND, in KiB (GNU time).
peak_rss_kib() {
        [[ -x /usr/bin/time ]] || { echo "/usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
        env IOMMUCTL_PROFILES_PATH="$src/profiles" /usr/bin/time -f '%M' -o "$tmp/time" "$@" > /dev/null 2>&1 \
                || { echo "failed: $*" >&2; exit 2; }
        tail -n 1 "$tmp/time"
}

# build_floor NAME: compiles bench/NAME.c (the minimal reader or writer) with the flags Debian's
# dpkg-buildflags give, and prints the path of the program.
build_floor() {
        local out=$tmp/$1
        if [[ ! -x $out ]]; then
                ${CC:-cc} -O2 -g -fstack-protector-strong -fstack-clash-protection -D_FORTIFY_SOURCE=2 -fPIE -pie \
                        -Wl,-z,relro -Wl,-z,now -o "$out" "$src/bench/$1.c" || exit 2
        fi
        echo "$out"
}

# make_groups_tree DIR N [SHAPE]: a host root under DIR with N IOMMU groups of one PCI device
# each, in the layout tools/iommu-capture-host writes (and tests/fixtures/make-synthetic-hosts.sh):
# the synthetic HGX host's /proc, ACPI and IOMMU units, its devices and groups replaced by N.
# SHAPE "gpu" (the default): GPUs, SR-IOV NICs, NVMe and other devices in turn (a GPU server:
# every GPU and SR-IOV device is a row of verify's device table); "plain": NVMe, Ethernet
# without SR-IOV, system peripherals and bridges (a plain server: no device table).
make_groups_tree() {
        local r=$1 n=$2 shape=${3:-gpu}
        cp -a "$src/tests/fixtures/hosts/synthetic-hgx-h100/root" "$r"
        rm -rf "$r/sys/kernel/iommu_groups" "$r/sys/bus/pci/devices" "$r"/sys/devices/pci0000:00 "$r"/sys/devices/pci0001:*
        python3 - "$r" "$n" "$shape" <<'PY'
import os, sys
root, n, shape = sys.argv[1], int(sys.argv[2]), sys.argv[3]
kinds = [("10de", "2330", "030200", "nvidia"), ("15b3", "1021", "020700", "mlx5_core"),
         ("144d", "a80a", "010802", "nvme"), ("8086", "3240", "088000", None)]
if shape == "plain":
    kinds = [("144d", "a80a", "010802", "nvme"), ("8086", "1521", "020000", "igb"),
             ("8086", "3240", "088000", None), ("8086", "09a2", "060000", None)]
os.makedirs(f"{root}/sys/bus/pci/devices")
for i in range(n):
    bdf = "%04x:%02x:%02x.%d" % (i >> 16, (i >> 8) & 0xff, (i >> 3) & 0x1f, i & 7)
    vendor, device, cls, driver = kinds[i % len(kinds)]
    top = "pci%04x:00" % (i >> 16)
    d = f"{root}/sys/devices/{top}/{bdf}"
    g = f"{root}/sys/kernel/iommu_groups/{i}"
    os.makedirs(d)
    os.makedirs(f"{g}/devices")
    for name, value in (("vendor", "0x" + vendor), ("device", "0x" + device), ("class", "0x" + cls), ("numa_node", "0")):
        with open(f"{d}/{name}", "w") as f:
            f.write(value + "\n")
    if vendor == "15b3":
        for name, value in (("sriov_totalvfs", "64"), ("sriov_numvfs", "0")):
            with open(f"{d}/{name}", "w") as f:
                f.write(value + "\n")
    with open(f"{g}/type", "w") as f:
        f.write("identity\n")
    with open(f"{g}/reserved_regions", "w") as f:
        f.write("0x00000000fee00000 0x00000000feefffff msi\n")
    os.symlink(f"../../../devices/{top}/{bdf}", f"{root}/sys/bus/pci/devices/{bdf}")
    if driver:
        os.makedirs(f"{root}/sys/bus/pci/drivers/{driver}", exist_ok=True)
        os.symlink(f"../../../bus/pci/drivers/{driver}", f"{d}/driver")
    os.symlink(f"../../../kernel/iommu_groups/{i}", f"{d}/iommu_group")
    os.symlink(f"../../../../devices/{top}/{bdf}", f"{g}/devices/{bdf}")
PY
}

# make_bls_tree DIR N: a systemd-boot root (tests/fixtures/boot/systemd-boot-esp) with N BLS
# entries; /etc/kernel/cmdline already has what apply writes, so apply changes the N entries only.
# It has /var/lib, as every installed root has (the fixture, a boot tree, has no /var); apply
# makes /var/lib/iommu/changesets below it.
make_bls_tree() {
        local r=$1 n=$2 f=$src/tests/fixtures/boot/systemd-boot-esp
        cp -a "$f/input" "$r"
        mkdir -p "$r/var/lib"
        cp "$f/expected/etc/kernel/cmdline" "$r/etc/kernel/cmdline"
        rm -f "$r"/efi/loader/entries/*.conf
        python3 - "$r/efi/loader/entries" "$n" "$f/input/efi/loader/entries/0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6-6.1.0-21-amd64.conf" <<'PY'
import sys
d, n, model = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read()
for i in range(n):
    with open("%s/0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6-6.1.0-%d-amd64.conf" % (d, 1000 + i), "w") as f:
        f.write(model.replace("6.1.0-21-amd64", "6.1.0-%d-amd64" % (1000 + i)))
PY
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
per() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", a / b }'; }

# parse_size_args "DEFAULT SIZES" "LARGE SIZES" ARGS...: sets build (a directory argument, default
# $src/build) and sizes (the numbers given, else the default ones, plus the large ones with
# --large).
parse_size_args() {
        local defaults=$1 larger=$2 a large=no more
        shift 2
        build=$src/build
        sizes=()
        for a in "$@"; do
                case $a in
                        --large) large=yes ;;
                        [0-9]*) sizes+=("$a") ;;
                        *) build=$a ;;
                esac
        done
        [[ ${#sizes[@]} -gt 0 ]] || read -r -a sizes <<< "$defaults"
        if [[ $large == yes ]]; then
                read -r -a more <<< "$larger"
                sizes+=("${more[@]}")
        fi
}

# target LABEL VALUE LIMIT: "LABEL VALUE (target <= LIMIT: met|NOT MET)"; VALUE may end in "x".
target() {
        printf '  %-52s %9s  (target <= %s: %s)\n' "$1" "$2" "$3" "$(awk -v a="${2%x}" -v b="$3" 'BEGIN { print a <= b ? "met" : "NOT MET" }')"
}

# exponent N1 C1 N2 C2 Z: the growth exponent of the count C above Z (the fixed cost) from N1 to N2,
# ln((C2 - Z) / (C1 - Z)) / ln(N2 / N1): 1 for linear growth.
exponent() { awk -v n1="$1" -v c1="$2" -v n2="$3" -v c2="$4" -v z="$5" 'BEGIN { printf "%.3f", log((c2 - z) / (c1 - z)) / log(n2 / n1) }'; }
