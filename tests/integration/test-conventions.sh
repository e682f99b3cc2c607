#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Issue 22.5, the conventions of systemd's tools on every verb: versioned --json everywhere
# (cmdline, export and a no-op rollback included), --no-legend on status, groups and verify,
# per-verb --help with options, exit status and an example, colour for PASS/WARN/FAIL only on a
# terminal (SYSTEMD_COLORS, NO_COLOR), and verify saying when it runs in a container.
set -uo pipefail
IOMMUCTL=${IOMMUCTL:?}
export IOMMUCTL_PROFILES_PATH=${SRCDIR:?}/profiles
. "$(dirname "${BASH_SOURCE[0]}")/check-lib.sh"
unset SYSTEMD_COLORS NO_COLOR
host=$SRCDIR/tests/fixtures/hosts/qemu-intel-efi-passthrough
root=$tmp/root
cp -a "$host/root" "$root"
mkdir -p "$root/etc/kernel"
echo "root=UUID=x ro" >"$root/etc/kernel/cmdline"

# json_ok NAME: $out is one JSON object with an integer "version" (and EXPR over it holds).
json_ok() {
        local name=$1 expr=${2:-True}
        if python3 -c 'import json, sys
d = json.loads(sys.stdin.read())
assert isinstance(d, dict) and d.get("version") == (2 if sys.argv[2] == "verify" else 1), d
assert eval(sys.argv[1]), d' "$expr" "$name" <<<"$out" 2>"$tmp/py"; then
                ok "$name: versioned JSON"
        else
                not_ok "$name: not the JSON wanted: $(cat "$tmp/py") -- $out"
        fi
}

# The acceptance command.
check "cmdline --json" 0 "$IOMMUCTL" cmdline --profile gpu-sriov --vendor intel --json
python3 -m json.tool <<<"$out" >/dev/null && ok "cmdline --json | python3 -m json.tool" || not_ok "json.tool: $out"
json_ok "cmdline" 'd["kernel_args"] == ["intel_iommu=on", "iommu=pt"] and d["cmdline"] == "intel_iommu=on iommu=pt"'
check "cmdline --full --json" 0 "$IOMMUCTL" cmdline --profile gpu-sriov --vendor intel --full --cmdline "root=/dev/sda1 ro" --json
json_ok "cmdline --full" 'd["cmdline"] == "root=/dev/sda1 ro intel_iommu=on iommu=pt" == d["merged"]'

for f in bootc dracut kernel-cmdline; do
        check "export $f --json" 0 "$IOMMUCTL" --root "$root" export "$f" --profile gpu-sriov --vendor intel --json
        json_ok "export $f" 'd["format"] == "'$f'" and "intel_iommu=on" in d["content"] and d["destination"].startswith("/")'
        check "export $f text" 0 "$IOMMUCTL" --root "$root" export "$f" --profile gpu-sriov --vendor intel
        text=$out
        check "export $f --json content" 0 "$IOMMUCTL" --root "$root" export "$f" --profile gpu-sriov --vendor intel --json
        [ "$(python3 -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)["content"])' <<<"$out")" = "$text" ] &&
                ok "export $f: content is the text output" || not_ok "export $f: content differs from the text"
done
check "export machineconfig --json" 0 "$IOMMUCTL" export machineconfig --profile gpu-sriov --vendor intel --role worker --json
json_ok "export machineconfig" 'd["destination"] is None and "MachineConfig" in d["content"]'

# Every other verb.
check "plan --json" 0 "$IOMMUCTL" --root "$root" plan --profile gpu-sriov --json
json_ok plan
check "lint --json" 0 "$IOMMUCTL" lint --arch x86_64 --cmdline "intel_iommu=on" --json
json_ok lint
check "profiles --json" 0 "$IOMMUCTL" profiles --json
json_ok profiles
check "profiles --selected --json, none" 1 "$IOMMUCTL" --root "$root" profiles --selected --json
json_ok "profiles --selected" 'd["selected"] is None'
check "config --json" 0 "$IOMMUCTL" --root "$root" config --json
json_ok config
check "verify --json" 0 "$IOMMUCTL" --root "$root" verify --no-journal --profile gpu-sriov --kernel-log "$host/kmsg.txt" --json
json_ok verify 'd["version"] == 2'
check "groups --json" 0 "$IOMMUCTL" --root "$root" groups --json
json_ok groups
check "recommend --json" 0 "$IOMMUCTL" --root "$root" recommend --json
json_ok recommend
check "status --json" 0 "$IOMMUCTL" --root "$root" status --profile gpu-sriov --json
json_ok status
check "apply --dry-run --json" 0 "$IOMMUCTL" --root "$root" apply --profile gpu-sriov --backend kernel-cmdline --dry-run --json
json_ok apply
check "rollback --json, nothing to roll back" 0 "$IOMMUCTL" --root "$root" rollback --json
json_ok "no-op rollback" 'd["changed"] is False and d["files"] == [] and d["changeset"] is None'
check "rollback --dry-run --json, nothing to roll back" 0 "$IOMMUCTL" --root "$root" rollback --dry-run --json
json_ok "no-op rollback --dry-run" 'd["changed"] is False and d["dry_run"] is True'

# The man page documents the versions emitted (verify 2, the others 1).
man=$SRCDIR/man/iommuctl.8
grep -q '"version": 2, "verdict"' "$man" && ok "iommuctl(8) documents verify's version 2" || not_ok "iommuctl(8) lacks verify's version 2"
grep -q "member is 1\." "$man" "$SRCDIR/man/iommu-verify.service.8" || grep -q "schema version 1" "$SRCDIR/man/iommu-verify.service.8" && not_ok "a man page still says version 1 for verify" || ok "no man page claims version 1 for verify"

# --no-legend: the column headers go, the rows stay.
check "groups" 0 "$IOMMUCTL" --root "$root" groups
contains "groups has its header" "$out" "GROUP  TYPE"
check "groups --no-legend" 0 "$IOMMUCTL" --root "$root" groups --no-legend
lacks "groups --no-legend drops the header" "$out" "GROUP  TYPE"
contains "groups --no-legend keeps the rows" "$out" "identity"
check "status --no-legend" 0 "$IOMMUCTL" --root "$root" status --profile gpu-sriov --no-legend
lacks "status --no-legend drops the header" "$out" "ENTRY OR FILE"
check "status" 0 "$IOMMUCTL" --root "$root" status --profile gpu-sriov
contains "status has its header" "$out" "ENTRY OR FILE"
printf '0000:00:02.0\n' >/dev/null
check "verify --no-legend" 0 "$IOMMUCTL" --root "$root" verify --no-journal --profile gpu-sriov --kernel-log "$host/kmsg.txt" --no-legend
if grep -q "GPUs and SR-IOV devices" <<<"$out"; then
        lacks "verify --no-legend drops the device header" "$out" "DEVICE         ID"
else
        ok "verify --no-legend: this host has no device table"
fi
contains "verify --no-legend keeps the checks" "$out" "PASS  "

# Per-verb --help: that verb's options, its exit status and an example.
for v in plan cmdline lint profiles export verify groups config apply recommend status rollback; do
        check "$v --help" 0 "$IOMMUCTL" "$v" --help
        contains "$v --help: usage" "$out" "Usage: iommuctl $v"
        contains "$v --help: options" "$out" "Options:"
        contains "$v --help: exit status" "$out" "Exit status: 0 "
        contains "$v --help: an example" "$out" "Example:
  iommuctl $v"
        contains "$v --help: --root" "$out" "--root=DIR"
done
check "plan --help" 0 "$IOMMUCTL" plan --help
contains "plan --help lists --check" "$out" "--check"
lacks "plan --help does not list verify's options" "$out" "--boot-check"
check "verify --help" 0 "$IOMMUCTL" verify --help
contains "verify --help lists --kernel-log" "$out" "--kernel-log=FILE"
lacks "verify --help does not list apply's options" "$out" "--backend"

# Colour: only on a terminal, SYSTEMD_COLORS and NO_COLOR honoured.
esc=$'\e['
vargs=(--root "$root" verify --no-journal --profile gpu-sriov --kernel-log "$host/kmsg.txt")
check "verify to a pipe" 0 "$IOMMUCTL" "${vargs[@]}"
lacks "no colour into a pipe" "$out" "$esc"
check "verify SYSTEMD_COLORS=1" 0 env SYSTEMD_COLORS=1 "$IOMMUCTL" "${vargs[@]}"
contains "SYSTEMD_COLORS=1 forces colour" "$out" "${esc}0;32mPASS${esc}0m"
if command -v script >/dev/null; then
        # script(1) gives the command a terminal.
        tty_run() { TERM=xterm script -qec "$(printf '%q ' "$@")" /dev/null; }
        out=$(tty_run "$IOMMUCTL" "${vargs[@]}")
        contains "colour on a terminal" "$out" "${esc}0;32mPASS"
        out=$(NO_COLOR=1 tty_run "$IOMMUCTL" "${vargs[@]}")
        lacks "NO_COLOR: none on a terminal" "$out" "$esc"
        out=$(SYSTEMD_COLORS=0 tty_run "$IOMMUCTL" "${vargs[@]}")
        lacks "SYSTEMD_COLORS=0: none on a terminal" "$out" "$esc"
        out=$(TERM=dumb script -qec "$(printf '%q ' "$IOMMUCTL" "${vargs[@]}")" /dev/null)
        lacks "TERM=dumb: none" "$out" "$esc"
else
        not_ok "script(1) (util-linux) is needed for the terminal cases"
fi

# verify in a container judges the outer host, and says so (/run/systemd/container, or container=
# in PID 1's environment, under the root).
check "verify outside a container" 0 "$IOMMUCTL" "${vargs[@]}"
lacks "no container warning on a host" "$err" "container"
mkdir -p "$root/run/systemd"
echo docker >"$root/run/systemd/container"
check "verify in a container" 0 "$IOMMUCTL" "${vargs[@]}"
contains "verify says it runs in a container" "$err" "Running in a container (docker): the kernel checked is the outer host's"
rm "$root/run/systemd/container"
mkdir -p "$root/proc/1"
printf 'PATH=/usr/bin\0container=lxc\0TERM=linux\0' >"$root/proc/1/environ"
check "verify, container= in PID 1's environment" 0 "$IOMMUCTL" "${vargs[@]}"
contains "container= in /proc/1/environ" "$err" "Running in a container (lxc)"
check_done
