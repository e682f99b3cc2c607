#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# iommu-verify.service passes systemd-analyze verify (ExecStart pointed at the build), and the
# journal catalog compiles and explains the verify MESSAGE_ID.
. "$(dirname "$0")/lib.sh"
: "${UNIT:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing (package systemd)"

grep -qx 'ExecStart=.*/iommuctl verify --boot-check' "$UNIT" || fail "ExecStart (the boot check's run: --boot-check)"
for l in Type=oneshot RemainAfterExit=yes WantedBy=multi-user.target; do
        grep -qx "$l" "$UNIT" || fail "unit lacks $l"
done
grep -q '^After=.*systemd-modules-load.service' "$UNIT" && grep -q '^After=.*local-fs.target' "$UNIT" || fail "unit ordering"
sed "s|^\(Exec[A-Za-z]*=\)[^ ]*|\1$IOMMUCTL|" "$UNIT" >"$tmp/iommu-verify.service"
if out=$(systemd-analyze verify --man=no "$tmp/iommu-verify.service" 2>&1) && [ -z "$out" ]; then
        ok "systemd-analyze verify is clean"
else
        fail "systemd-analyze verify: $out"
fi

mkdir -p "$tmp/root/usr/lib/systemd/catalog"
cp "$SRCDIR/catalog/iommu.catalog" "$tmp/root/usr/lib/systemd/catalog/"
journalctl --root="$tmp/root" --update-catalog || fail "journalctl --update-catalog"
out=$(journalctl --root="$tmp/root" --dump-catalog 2>&1)
grep -q '^-- 19f1259f607d4e529f18abf3eea27e53' <<<"$out" && grep -q 'Subject: IOMMU verification @IOMMU_VERDICT@' <<<"$out" \
        || fail "catalog: $out"
grep -q 'IOMMU_VERIFY_MESSAGE_ID "19f1259f607d4e529f18abf3eea27e53"' "$SRCDIR/src/libiommu/report.h" || fail "MESSAGE_ID differs from report.h"
grep -q '^-- 4da899a00a904e5ebe79e1ac6e7887b5' <<<"$out" && grep -q 'Subject: IOMMU verification run by hand' <<<"$out" \
        || fail "catalog lacks the manual run's entry"
grep -q 'IOMMU_VERIFY_MANUAL_MESSAGE_ID "4da899a00a904e5ebe79e1ac6e7887b5"' "$SRCDIR/src/libiommu/report.h" \
        || fail "manual MESSAGE_ID differs from report.h"
ok "catalog compiles"
finish
