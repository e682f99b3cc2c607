#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 23 item 4: ostree- and bootc-managed roots. ostree regenerates boot/loader.N from the
# deployment's kernel arguments, so apply and undo refuse and print the commands that carry the same
# tokens there: `rpm-ostree kargs` (the other owned tokens of the next deployment deleted, the
# profile's appended when missing) and a bootc /usr/lib/bootc/kargs.d/ TOML file (read back with
# Python's tomllib). status and verify read such a root as any other. The machine state is the
# captured qemu-intel-passthrough host (a real Debian 12 boot with intel_iommu=on iommu=pt, see its
# ORIGIN); only its boot configuration is replaced by ostree's layout, once as a /boot/loader
# symlink (Fedora CoreOS, RHEL for Edge), once as entries with ostree= only (bootc's composefs-less
# installs). Needs IOMMUCTL and SRCDIR.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
H=$HOSTS/qemu-intel-passthrough

# ostree_tree DIR symlink|plain OPTIONS
ostree_tree() {
        local r=$1 loader
        mkdir -p "$r"
        cp -a "$H/root/." "$r/"
        if [ "$2" = symlink ]; then
                loader=boot/loader.1
                ln -s loader.1 "$r/boot/loader" 2> /dev/null || { mkdir -p "$r/boot" && ln -s loader.1 "$r/boot/loader"; }
        else
                loader=boot/loader
        fi
        mkdir -p "$r/$loader/entries" "$r/etc/iommu"
        printf 'title Fedora CoreOS 41 (ostree:0)\nversion 2\nlinux /ostree/fedora-coreos-abc/vmlinuz-6.11\ninitrd /ostree/fedora-coreos-abc/initramfs-6.11.img\noptions %s ostree=/ostree/boot.1/fedora-coreos/abc/0\n' \
                "$3" > "$r/$loader/entries/ostree-2-fedora-coreos.conf"
}

for layout in symlink plain; do
        R=$TMP/$layout
        ostree_tree "$R" "$layout" "root=UUID=x rw console=ttyS0 iommu=strict intel_iommu=off"
        # The boot configuration and /etc (the lock's directory, /var/lib/iommu, is made as anywhere).
        before=$(cd "$R" && find boot etc -print0 2> /dev/null | sort -z | xargs -0 ls -ld --time-style=+%s.%N | md5sum)

        # apply refuses, with the commands, and writes nothing.
        rc=0
        out=$("$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor intel 2>&1) || rc=$?
        [ "$rc" = 2 ] || fail "$layout: apply on an ostree root exits $rc: $out"
        grep -q "managed by ostree/bootc" <<< "$out" || fail "$layout: refusal: $out"
        want="rpm-ostree kargs --delete-if-present=iommu=strict --delete-if-present=intel_iommu=off --append-if-missing=intel_iommu=on --append-if-missing=iommu=pt"
        grep -qxF "  on the booted system: $want" <<< "$out" && ok "$layout: apply prints '$want'" ||
                fail "$layout: no '$want' in: $out"
        grep -q "the file /usr/lib/bootc/kargs.d/10-iommuctl-gpu-sriov.toml with:" <<< "$out" || fail "$layout: no kargs.d path: $out"
        sed -n 's/^    //p' <<< "$out" > "$TMP/kargs.toml"
        python3 - "$TMP/kargs.toml" <<'PY' && ok "$layout: the kargs.d TOML reads back (tomllib): the tokens, match-architectures x86_64" || fail "$layout: kargs.d TOML: $(cat "$TMP/kargs.toml")"
import sys, tomllib
d = tomllib.load(open(sys.argv[1], "rb"))
assert d == {"kargs": ["intel_iommu=on", "iommu=pt"], "match-architectures": ["x86_64"]}, d
PY
        rc=0
        out=$("$IOMMUCTL" undo --root "$R" --profile gpu-sriov 2>&1) || rc=$?
        [ "$rc" = 2 ] && grep -qxF "  on the booted system: rpm-ostree kargs --delete-if-present=iommu=strict --delete-if-present=intel_iommu=off" <<< "$out" &&
                ok "$layout: undo refuses with the rpm-ostree command that deletes the owned tokens" || fail "$layout: undo ($rc): $out"
        after=$(cd "$R" && find boot etc -print0 2> /dev/null | sort -z | xargs -0 ls -ld --time-style=+%s.%N | md5sum)
        [ "$before" = "$after" ] && ok "$layout: nothing in /boot or /etc changed" || fail "$layout: apply or undo wrote into the ostree root"

        # status reads the deployment's entry; verify judges the running kernel.
        "$IOMMUCTL" status --root "$R" --profile gpu-sriov --vendor intel --json > "$TMP/status.json" || fail "$layout: status failed"
        python3 - "$TMP/status.json" <<'PY' && ok "$layout: status --json: ostree, the deployment's entry is the next boot, lacks the profile" || fail "$layout: status --json"
import json, sys
st = json.load(open(sys.argv[1]))
assert st["ostree"] is True, st["ostree"]
nxt = [e for e in st["entries"] if e.get("next")]
assert len(nxt) == 1 and nxt[0]["kind"] == "bls" and "ostree=" in nxt[0]["options"], nxt
assert nxt[0]["carries_profile"] is False, nxt[0]
PY
        rc=0
        "$IOMMUCTL" verify --root "$R" --profile gpu-sriov --vendor intel --kernel-log "$HOSTS/qemu-intel-passthrough/kmsg.txt" --json > "$TMP/verify.json" || rc=$?
        python3 - "$TMP/verify.json" "$rc" <<'PY' && ok "$layout: verify passes on the running kernel (exit 0, cmdline PASS)" || fail "$layout: verify ($rc)"
import json, sys
v = json.load(open(sys.argv[1]))
assert sys.argv[2] == "0", sys.argv[2]
checks = {c["id"]: c["result"] for c in v["checks"]}
assert v["verdict"] == "pass" and checks["cmdline"] == "pass", checks
PY
done

# A deployment that already carries the profile: nothing to delete, the same appends (idempotent).
R=$TMP/carries
ostree_tree "$R" symlink "root=UUID=x rw intel_iommu=on iommu=pt"
out=$("$IOMMUCTL" apply --root "$R" --profile gpu-sriov --vendor amd 2>&1) || true
grep -qxF "  on the booted system: rpm-ostree kargs --delete-if-present=intel_iommu=on --append-if-missing=iommu=pt" <<< "$out" &&
        grep -qxF '    match-architectures = ["x86_64"]' <<< "$out" &&
        ok "AMD on an Intel line: intel_iommu=on deleted, iommu=pt kept (append-if-missing)" || fail "AMD refusal: $out"
finish
