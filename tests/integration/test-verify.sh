#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# verify on the synthetic trees: the acceptance points one by one (exit codes, the
# iommu=strict message, the journal entry's fields, non-root reading, could-not-check).
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

verify() { # verify HOST PROFILE ARGS...: sets $out and $rc
        local host=$1 profile=$2
        shift 2
        rc=0
        out=$("$IOMMUCTL" verify --no-journal --profile "$profile" --root "$HOSTS/$host/root" \
                --kernel-log "$HOSTS/$host/kmsg.txt" "$@" 2>&1) || rc=$?
}

# iommu=strict on the command line, DMA-FQ groups: the strict promise fails, naming iommu.strict=1.
verify synthetic-iommu-strict-wrong strict
[ "$rc" -eq 1 ] || fail "strict-wrong: exit $rc, want 1"
grep -q '^FAIL  domain-type .*12 of 12 default domains are not DMA' <<<"$out" || fail "strict-wrong: no domain-type FAIL line"
grep -q 'fix: Strict invalidation is iommu.strict=1' <<<"$out" || fail "strict-wrong: the fix does not name iommu.strict=1"
grep -q "'iommu=strict' on the running command line is not an x86 iommu= value" <<<"$out" || fail "strict-wrong: iommu=strict not explained"
grep -q '^Verdict:   FAIL' <<<"$out" || fail "strict-wrong: verdict line"
ok "iommu=strict fails the strict profile and names iommu.strict=1"

# The journal entry, through the --journal-fields-to seam: iommu-verify.service's run (--boot-check).
verify synthetic-iommu-strict-wrong strict --boot-check --journal-fields-to "$tmp/fields"
[ -s "$tmp/fields" ] || fail "no journal fields written"
for want in MESSAGE_ID=19f1259f607d4e529f18abf3eea27e53 PRIORITY=3 IOMMU_RUN=boot-check IOMMU_EFI=no IOMMU_PROFILE=strict IOMMU_MODE_EXPECTED=strict \
        IOMMU_MODE_OBSERVED=translated IOMMU_GROUPS=12 IOMMU_GROUPS_DMA_FQ=12 IOMMU_GROUPS_IDENTITY=0 \
        IOMMU_VERDICT=fail IOMMU_FAILED_CHECKS=domain-type,cmdline IOMMU_FIRMWARE=DMAR IOMMU_KERNEL=6.1.0-26-amd64; do
        grep -qx "$want" "$tmp/fields" || fail "journal field $want missing: $(tr '\n' ' ' <"$tmp/fields")"
done
grep -q '^MESSAGE=IOMMU verification fail: profile strict promises strict, the kernel runs translated (12 groups); failed: domain-type,cmdline$' \
        "$tmp/fields" || fail "journal MESSAGE: $(grep ^MESSAGE= "$tmp/fields")"
ok "journal entry fields"

# The same failure checked by hand: not the boot check's MESSAGE_ID, and not at error priority, so
# alerts keyed on the boot check do not fire for it.
verify synthetic-iommu-strict-wrong strict --journal-fields-to "$tmp/fields"
[ "$rc" -eq 1 ] || fail "manual strict-wrong: exit $rc, want 1"
grep -qx MESSAGE_ID=4da899a00a904e5ebe79e1ac6e7887b5 "$tmp/fields" && grep -qx PRIORITY=4 "$tmp/fields" \
        && grep -qx IOMMU_RUN=manual "$tmp/fields" && grep -qx IOMMU_VERDICT=fail "$tmp/fields" \
        || fail "manual run journal fields: $(tr '\n' ' ' <"$tmp/fields")"
grep -q 19f1259f607d4e529f18abf3eea27e53 "$tmp/fields" && fail "manual run logged the boot check's MESSAGE_ID"
ok "a verify run by hand logs its own MESSAGE_ID at warning priority"

# -q: only the exit status.
rc=0; out=$("$IOMMUCTL" -q verify --no-journal --profile strict --root "$HOSTS/synthetic-iommu-strict-wrong/root" \
        --kernel-log "$HOSTS/synthetic-iommu-strict-wrong/kmsg.txt" 2>/dev/null) || rc=$?
[ "$rc" -eq 1 ] && [ -z "$out" ] || fail "-q verify: exit $rc, printed: $out"
ok "-q verify prints nothing and exits 1 on a failed check"

verify synthetic-hgx-h100 gpu-sriov --journal-fields-to "$tmp/fields"
[ "$rc" -eq 0 ] || fail "hgx: exit $rc, want 0"
grep -qx PRIORITY=6 "$tmp/fields" && grep -qx IOMMU_VERDICT=pass "$tmp/fields" && grep -qx IOMMU_GROUPS=200 "$tmp/fields" \
        && grep -qx IOMMU_FAILED_CHECKS= "$tmp/fields" || fail "hgx journal fields: $(tr '\n' ' ' <"$tmp/fields")"
grep -Eq '^  0000:1a:00.0 +15b3:1021 +SR-IOV 8/64 VFs +5 +identity +1$' <<<"$out" || fail "hgx: NIC line"
[ "$(grep -c 'GPU (3D controller)' <<<"$out")" -eq 8 ] || fail "hgx: 8 GPUs expected"
grep -Eq '^  nvidia-peermem +works +loaded$' <<<"$out" || fail "hgx: nvidia-peermem"
ok "HGX host passes gpu-sriov"

# No DMAR: the firmware fix.
verify synthetic-vtd-disabled gpu-sriov --journal-fields-to "$tmp/fields"
[ "$rc" -eq 1 ] || fail "vtd-disabled: exit $rc"
grep -q '^FAIL  firmware .*no ACPI DMAR or IVRS table' <<<"$out" || fail "vtd-disabled: firmware FAIL"
grep -q 'fix: Enable VT-d' <<<"$out" || fail "vtd-disabled: VT-d fix"
grep -q '^FAIL  module:vfio_pci .*not available' <<<"$out" || fail "vtd-disabled: vfio_pci lookup through libkmod"
grep -qx IOMMU_FIRMWARE=none "$tmp/fields" || fail "vtd-disabled: IOMMU_FIRMWARE"
ok "VT-d disabled in firmware fails with the firmware fix"

# The same host as a KVM guest without a virtual IOMMU: the fix is the hypervisor's, not a firmware setup.
cp -a "$HOSTS/synthetic-vtd-disabled/root" "$tmp/vm"
mkdir -p "$tmp/vm/sys/class/dmi/id"
echo QEMU >"$tmp/vm/sys/class/dmi/id/sys_vendor"
echo "Standard PC (Q35 + ICH9, 2009)" >"$tmp/vm/sys/class/dmi/id/product_name"
rc=0; out=$("$IOMMUCTL" verify --no-journal --profile gpu-sriov --root "$tmp/vm" 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "vm without vIOMMU: exit $rc"
grep -q '^FAIL  firmware .*this virtual machine (qemu: DMI sys_vendor) has no virtual IOMMU' <<<"$out" || fail "vm: firmware evidence: $out"
grep -q 'fix: This is a virtual machine.*-device intel-iommu,intremap=on.*instance type' <<<"$out" || fail "vm: the fix names no virtual IOMMU"
if grep -q 'Enable VT-d' <<<"$out"; then fail "vm: still tells a VM's owner to enable VT-d in the firmware"; fi
out=$("$IOMMUCTL" verify --json --no-journal --profile gpu-sriov --root "$tmp/vm" 2>/dev/null) || true
grep -q '"virtualization": "qemu"' <<<"$out" && grep -q '"virtualization_evidence": "DMI sys_vendor"' <<<"$out" \
        || fail "vm: verify --json lacks the virtualization"
ok "a VM without a virtual IOMMU gets the hypervisor's fix"

# A warning alone keeps exit 0.
verify synthetic-amd-strict strict
[ "$rc" -eq 0 ] || fail "amd-strict: exit $rc"
grep -q "^WARN  boot-entry .*booted entry debian.conf has options" <<<"$out" || fail "amd-strict: boot-entry WARN"
ok "edited boot entry warns"

# Could not check: exit 2 with why.
rc=0
out=$("$IOMMUCTL" verify --no-journal --profile strict --root "$tmp/empty" 2>&1) || rc=$?
[ "$rc" -eq 2 ] && grep -q 'Cannot check' <<<"$out" || fail "empty root: exit $rc: $out"
rc=0
out=$("$IOMMUCTL" verify --no-journal --profile no-such-profile --root "$HOSTS/synthetic-amd-strict/root" 2>&1) || rc=$?
[ "$rc" -eq 2 ] || fail "unknown profile: exit $rc"
ok "could-not-check exits 2"

# Every group's type file garbage, or gone: not a verdict on the mode, a failure that says why.
for how in garbage missing; do
        rm -rf "$tmp/types"
        cp -a "$HOSTS/synthetic-hgx-h100/root" "$tmp/types"
        for f in "$tmp"/types/sys/kernel/iommu_groups/*/type; do
                if [ "$how" = garbage ]; then echo 'not-a-type' >"$f"; else rm -f "$f"; fi
        done
        rc=0
        out=$("$IOMMUCTL" verify --no-journal --profile gpu-sriov --root "$tmp/types" 2>&1) || rc=$?
        [ "$rc" -eq 1 ] || fail "type files $how: exit $rc, not 1"
        grep -q 'FAIL  domain-type .*none of the 200 groups could be read' <<<"$out" || fail "type files $how: $out"
        grep -q 'iommu_groups/.*type' <<<"$out" || fail "type files $how: not listed as not read"
done
ok "unreadable group types fail the domain-type check and are listed"

# The profile defaults to Profile= in iommu.conf under the root.
cp -a "$HOSTS/synthetic-iommu-strict-wrong/root" "$tmp/conf"
mkdir -p "$tmp/conf/etc/iommu"
printf '[IOMMU]\nProfile=strict\n' >"$tmp/conf/etc/iommu/iommu.conf"
rc=0
out=$("$IOMMUCTL" verify --no-journal --json --root "$tmp/conf") || rc=$?
[ "$rc" -eq 1 ] && grep -q '"name": "strict"' <<<"$out" || fail "iommu.conf profile: exit $rc"
ok "profile from iommu.conf"

# [Publish]: the boot check (verify --boot-check, as iommu-verify.service runs it) writes the
# node-feature-discovery labels and the node_exporter metrics under the root, and nothing when
# publishing is off.
cp -a "$HOSTS/synthetic-hgx-h100/root" "$tmp/pub"
mkdir -p "$tmp/pub/etc/iommu"
printf '[IOMMU]\nProfile=gpu-sriov\n' >"$tmp/pub/etc/iommu/iommu.conf"
"$IOMMUCTL" verify --boot-check --no-journal --root "$tmp/pub" >/dev/null || fail "publish off: verify failed"
[ ! -e "$tmp/pub/etc/kubernetes" ] && [ ! -e "$tmp/pub/var/lib/prometheus" ] || fail "published although [Publish] is off"
printf '[IOMMU]\nProfile=gpu-sriov\n[Publish]\nNodeFeatureDiscovery=yes\nPrometheus=yes\n' >"$tmp/pub/etc/iommu/iommu.conf"
"$IOMMUCTL" verify --boot-check --no-journal --root "$tmp/pub" >/dev/null || fail "publish on: verify failed"
nfd=$tmp/pub/etc/kubernetes/node-feature-discovery/features.d/iommu
prom=$tmp/pub/var/lib/prometheus/node-exporter/iommu.prom
grep -qx 'feature.node.kubernetes.io/iommu.mode=passthrough' "$nfd" \
        && grep -qx 'feature.node.kubernetes.io/iommu.verified=true' "$nfd" \
        && grep -qx 'feature.node.kubernetes.io/iommu.profile=gpu-sriov' "$nfd" || fail "NFD labels: $(cat "$nfd" 2>&1)"
grep -q '^iommu_verified 1$' "$prom" && grep -q '^iommu_groups{type="identity"} 200$' "$prom" \
        || fail "Prometheus metrics: $(cat "$prom" 2>&1)"
# Issue 25: the p2p check as labels and metrics.
grep -qx 'feature.node.kubernetes.io/iommu.p2p=pass' "$nfd" && grep -qx 'feature.node.kubernetes.io/iommu.p2p-gpu-redirected=true' "$nfd" \
        || fail "NFD p2p labels: $(cat "$nfd")"
grep -qx 'iommu_p2p_paths{class="PIX",route="redirected"} 16' "$prom" && grep -qx 'iommu_p2p_gpu_redirected 16' "$prom" \
        || fail "Prometheus p2p metrics: $(cat "$prom")"
# Issue 22.2: a run by hand publishes nothing, a what-if for another profile included...
cp "$prom" "$tmp/prom.before"
cp "$nfd" "$tmp/nfd.before"
"$IOMMUCTL" verify --no-journal --profile strict --root "$tmp/pub" >"$tmp/out" 2>&1 && fail "strict passed on an identity host"
cmp -s "$prom" "$tmp/prom.before" && cmp -s "$nfd" "$tmp/nfd.before" || fail "verify --profile strict by hand rewrote the published state"
grep -q 'Not publishing' "$tmp/out" || fail "verify by hand did not say why it did not publish: $(cat "$tmp/out")"
"$IOMMUCTL" verify --no-journal --root "$tmp/pub" >/dev/null || fail "verify by hand failed"
cmp -s "$prom" "$tmp/prom.before" || fail "verify by hand rewrote the metrics"
# ... and neither does --publish or --boot-check for a profile the node is not configured for.
"$IOMMUCTL" verify --boot-check --publish --no-journal --profile strict --root "$tmp/pub" >/dev/null 2>&1 || :
cmp -s "$prom" "$tmp/prom.before" || fail "verify --boot-check --profile strict published a what-if"
# The strict promise fails on a node configured for it: the boot check's labels say so.
printf '[IOMMU]\nProfile=strict\n[Publish]\nNodeFeatureDiscovery=yes\nPrometheus=yes\n' >"$tmp/pub/etc/iommu/iommu.conf"
"$IOMMUCTL" verify --boot-check --no-journal --root "$tmp/pub" >/dev/null && fail "strict passed on an identity host"
grep -qx 'feature.node.kubernetes.io/iommu.verified=false' "$nfd" && grep -q '^iommu_verified 0$' "$prom" \
        || fail "failed verdict not published"
# The acceptance of issue 22.2: Profile=strict configured, a what-if for gpu-sriov (which passes
# here) by hand leaves the metrics byte for byte.
cp "$prom" "$tmp/prom.strict"
"$IOMMUCTL" verify --profile gpu-sriov --no-journal --root "$tmp/pub" >/dev/null || fail "gpu-sriov what-if failed"
cmp -s "$prom" "$tmp/prom.strict" || fail "verify --profile gpu-sriov changed the metrics of a strict node"
# --publish by hand for the configured profile does publish.
rm -f "$prom"
"$IOMMUCTL" verify --publish --no-journal --root "$tmp/pub" >/dev/null 2>&1 || :
grep -q '^iommu_verified 0$' "$prom" || fail "verify --publish did not publish"
ok "only the boot check of the configured profile publishes NFD labels and Prometheus metrics"

# As a user who cannot read the ACPI tables: still a verdict, and a note on what was not read.
if [ "$(id -u)" -eq 0 ]; then
        command -v setpriv >/dev/null || fail "setpriv (util-linux) missing"
        cp -a "$HOSTS/synthetic-hgx-h100/root" "$tmp/nonroot"
        chmod 0400 "$tmp/nonroot/sys/firmware/acpi/tables/DMAR"
        chmod 0755 "$tmp"
        # nobody may not reach the checkout (CI clones wherever it likes, maybe under a 0700
        # directory): what it runs and reads is copied into the 0755 temporary directory.
        mkdir -p "$tmp/nobody-bin"
        cp "$IOMMUCTL" "$tmp/nobody-bin/iommuctl"
        cp -r "$IOMMUCTL_PROFILES_PATH" "$tmp/nobody-profiles"
        chmod -R a+rX "$tmp/nobody-bin" "$tmp/nobody-profiles" "$tmp/nonroot"
        chmod 0400 "$tmp/nonroot/sys/firmware/acpi/tables/DMAR"
        rc=0
        out=$(cd / && IOMMUCTL_PROFILES_PATH="$tmp/nobody-profiles" setpriv --reuid=65534 --regid=65534 --clear-groups \
                "$tmp/nobody-bin/iommuctl" verify --no-journal --profile gpu-sriov --root "$tmp/nonroot" 2>&1) || rc=$?
        [ "$rc" -eq 0 ] || fail "non-root: exit $rc: $out"
        grep -q 'PASS  firmware .*flags not readable: run as root' <<<"$out" || fail "non-root: firmware line"
        grep -q 'sys/firmware/acpi/tables/DMAR: Permission denied (run as root to read it)' <<<"$out" || fail "non-root: note"
        ok "non-root run notes what it could not read"
fi
# Issue 25: the peer-to-peer check on trees captured from QEMU with ACS-capable root ports.
verify qemu-acs-intel-passthrough gpu-sriov --journal-fields-to "$tmp/fields"
[ "$rc" -eq 0 ] || fail "acs passthrough: exit $rc"
grep -Eq '^PASS  p2p .*0000:00:10.0 \(root-port, ACSCtl 0x001d: SV RR CR UF\)' <<<"$out" || fail "acs: p2p names the port and its bits: $out"
grep -qx IOMMU_P2P=pass "$tmp/fields" && grep -qx IOMMU_P2P_REDIRECTED=5 "$tmp/fields" || fail "acs: journal fields"
verify qemu-acs-intel-redir-lifted gpu-sriov
p2p=$(grep '^WARN  p2p ' <<<"$out") || fail "redir-lifted: no p2p WARN: $out"
grep -q 'redirect is off at 0000:00:10.0 (ACSCtl 0x0011: SV UF)' <<<"$p2p" || fail "redir-lifted: lifted port"
grep -q 'redirect kept at 0000:00:10.0' <<<"$p2p" && fail "redir-lifted: redirect reported at the lifted port"
grep -q 'redirect kept at 0000:00:11.0' <<<"$p2p" || fail "redir-lifted: the other port keeps it"
verify qemu-acs-amd-off bare-metal
grep -Eq '^WARN  p2p .*the kernel kept ACS redirect at 0000:00:10.0 \(root-port, ACSCtl 0x001d' <<<"$out" \
        && grep -q 'IVRS' <<<"$out" || fail "amd-off: kept redirect: $out"
verify qemu-acs-intel-off bare-metal
grep -Eq '^PASS  p2p .*no ACS redirect on them' <<<"$out" || fail "intel-off: no redirect"
ok "p2p names the redirecting ports and bits, and what the command line lifted"
# Booted from a UKI under Secure Boot with a foreign unsigned add-on: systemd-stub refused it (LoadImage),
# so the running line is the UKI's .cmdline alone. The model leaves the add-on out too: boot-entry
# PASS, naming the add-on the stub skipped (it WARNed when the model counted it).
if command -v objcopy > /dev/null; then
        cp -a "$HOSTS/synthetic-hgx-h100/root" "$tmp/uki-sb"
        rm "$tmp"/uki-sb/boot/loader/entries/*.conf
        mkpe() { # OUT STUB NAME=CONTENT...
                local out=$1 stub=$2 vma=0x20000000 args=()
                shift 2
                for s in "$@"; do
                        printf '%s' "${s#*=}" > "$tmp/sec.${s%%=*}"
                        args+=(--add-section ".${s%%=*}=$tmp/sec.${s%%=*}" --change-section-vma ".${s%%=*}=$vma")
                        vma=$(printf 0x%x $((vma + 0x1000000)))
                done
                mkdir -p "$(dirname "$out")"
                objcopy "${args[@]}" "$stub" "$out"
        }
        mkpe "$tmp/uki-sb/boot/EFI/Linux/hgx.efi" "$SRCDIR/tests/fixtures/uki/linuxx64.efi.stub" "osrel=ID=ubuntu" \
                "cmdline=root=UUID=6f1c1ee7-3f4e-4a5b-9a41-2b7c9d1f0a11 ro quiet intel_iommu=on iommu=pt" "linux=not a kernel"
        mkpe "$tmp/uki-sb/boot/loader/addons/foreign.addon.efi" "$SRCDIR/tests/fixtures/uki/addonx64.efi.stub" "cmdline=foreign=1"
        python3 -c 'import sys; sys.stdout.buffer.write(b"\x06\0\0\0" + "hgx.efi".encode("utf-16-le") + b"\0\0")' \
                > "$tmp/uki-sb/sys/firmware/efi/efivars/LoaderEntrySelected-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"
        rc=0
        out=$("$IOMMUCTL" verify --no-journal --profile gpu-sriov --root "$tmp/uki-sb" \
                --kernel-log "$HOSTS/synthetic-hgx-h100/kmsg.txt" 2>&1) || rc=$?
        grep -q "^PASS  boot-entry .*booted entry hgx.efi; its options are the running command line; systemd-stub skips /boot/loader/addons/foreign.addon.efi (not signed: under Secure Boot" <<<"$out" &&
                ok "a UKI's unsigned add-on under Secure Boot: boot-entry PASS, the skipped add-on named" ||
                fail "UKI under Secure Boot: $(grep boot-entry <<<"$out")"
else
        fail "objcopy is missing (.ci/packages.txt)"
fi
finish
