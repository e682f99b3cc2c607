#!/bin/bash
# CLI behaviour of plan, cmdline, lint and profiles against synthetic roots: output, exit codes,
# and the core issue's acceptance commands.
set -uo pipefail
IOMMUCTL=${1:?usage: test-cli.sh IOMMUCTL}
export IOMMUCTL_PROFILES_PATH=${IOMMUCTL_PROFILES_PATH:?}
. "$(dirname "${BASH_SOURCE[0]}")/check-lib.sh"

root=$tmp/host
mkdir -p "$root/proc" "$root/sys/firmware/acpi/tables"
echo "BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet intel_iommu=off iommu=strict -- single" >"$root/proc/cmdline"
printf 'DMAR' >"$root/sys/firmware/acpi/tables/DMAR"

check "plan on a DMAR host" 0 "$IOMMUCTL" plan --root "$root" --profile gpu-sriov
contains "plan shows the merged line" "$out" "Planned:  BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet intel_iommu=on iommu=pt -- single"
contains "plan says why iommu=strict goes" "$out" "use: iommu.strict=1"
contains "plan names the vendor evidence" "$out" "ACPI DMAR table present"

check "plan --check reports drift" 1 "$IOMMUCTL" plan --root "$root" --profile gpu-sriov --check
check "cmdline --full" 0 "$IOMMUCTL" cmdline --root "$root" --profile gpu-sriov --full
merged=$out
[ "$merged" = "BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet intel_iommu=on iommu=pt -- single" ] && ok "cmdline --full is the merged line" || not_ok "cmdline --full: $merged"
check "engine on its own output" 0 "$IOMMUCTL" cmdline --root "$root" --profile gpu-sriov --full --cmdline "$merged"
[ "$out" = "$merged" ] && ok "idempotent through the CLI" || not_ok "second merge changed: $out"
# A given line is spliced (dracut's kernel_cmdline): 0xA0 and the spacing stay, the tokens go before "--".
spliced=$("$IOMMUCTL" cmdline --root "$root" --profile gpu-sriov --vendor intel --full \
    --cmdline $'root=/dev/sda1  systemd.hostname=voil\xc3\xa0 iommu=off -- single')
[ "$spliced" = $'root=/dev/sda1  systemd.hostname=voil\xc3\xa0 intel_iommu=on iommu=pt -- single' ] &&
    ok "cmdline --full --cmdline splices" || not_ok "cmdline --full --cmdline: $spliced"
check "plan --check in sync" 0 "$IOMMUCTL" plan --root "$root" --profile gpu-sriov --check --cmdline "$merged"
contains "in sync status" "$out" "in sync, nothing to change"

check "plan --json" 0 "$IOMMUCTL" plan --root "$root" --profile gpu-sriov --json
contains "json version" "$out" '"version": 1'
contains "json planned" "$out" '"planned": "BOOT_IMAGE=/vmlinuz root=UUID=x ro quiet intel_iommu=on iommu=pt -- single"'
if command -v python3 >/dev/null; then
        python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["kernel_args"]==["intel_iommu=on","iommu=pt"]' <<<"$out" \
                && ok "plan --json parses" || not_ok "plan --json does not parse"
fi

check "cmdline tokens only" 0 "$IOMMUCTL" cmdline --root "$root" --profile strict --vendor amd
[ "$out" = "iommu.passthrough=0 iommu.strict=1" ] && ok "strict AMD tokens" || not_ok "strict AMD tokens: $out"

check "lint acceptance" 1 "$IOMMUCTL" lint --arch x86_64 --cmdline "intel_iommu=on iommu=strict amd_iommu=on"
contains "lint names iommu=strict and its fix" "$out" "iommu=strict is ignored by the kernel"
contains "lint gives the strict fix" "$out" "use: iommu.strict=1"
contains "lint names amd_iommu=on" "$out" "amd_iommu=on is not an amd_iommu= option"
check "lint clean line" 0 "$IOMMUCTL" lint --arch x86_64 --cmdline "intel_iommu=on iommu=pt"

printf 'title Debian\nlinux /vmlinuz\noptions root=/dev/sda1 iommu=on\n' >"$tmp/entry.conf"
check "lint a BLS entry" 1 "$IOMMUCTL" lint --arch x86_64 "$tmp/entry.conf"
contains "lint names file:line" "$out" "$tmp/entry.conf:3: error:"
printf '# comment\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="amd_iommu=on iommu=pt"\n' >"$tmp/grub"
check "lint GRUB defaults" 1 "$IOMMUCTL" lint --arch x86_64 "$tmp/grub"
contains "lint GRUB file:line" "$out" "$tmp/grub:3: error:"
mkdir -p "$tmp/p"
printf '[Profile]\nMode=strict\n[KernelArgs]\nIntel=intel_iommu=on iommu=strict\n' >"$tmp/p/bad.conf"
check "lint a broken profile" 1 "$IOMMUCTL" lint "$tmp/p/bad.conf"
contains "profile error names file:line" "$err" "$tmp/p/bad.conf:4:"
check "lint the root's /proc/cmdline" 1 "$IOMMUCTL" lint --root "$root" --arch x86_64
check "lint --json" 1 "$IOMMUCTL" lint --json --arch x86_64 --cmdline "iommu=on"
contains "lint json counts" "$out" '"errors": 1'

# Conventions operators expect from systemd's tools.
check "-q plan --check in sync" 0 "$IOMMUCTL" -q plan --root "$root" --profile gpu-sriov --check --cmdline "$merged"
[ -z "$out$err" ] && ok "-q plan --check in sync prints nothing" || not_ok "-q plan --check printed: $out$err"
check "-q plan --check drift" 1 "$IOMMUCTL" -q plan --root "$root" --profile gpu-sriov --check
[ -z "$out$err" ] && ok "-q plan --check on drift prints nothing" || not_ok "-q plan --check on drift printed: $out$err"
check "-q still reports errors" 2 "$IOMMUCTL" -q plan --root "$root" --profile no-such-profile --check
contains "-q error on stderr" "$err" "no-such-profile"
[ -z "$out" ] && ok "-q error: nothing on stdout" || not_ok "-q error printed on stdout: $out"
check "--no-pager accepted" 0 "$IOMMUCTL" --no-pager plan --root "$root" --profile gpu-sriov --check --cmdline "$merged"
check "--no-legend lint" 1 "$IOMMUCTL" --no-legend lint --arch x86_64 --cmdline "iommu=on"
[[ "$out" != *"1 error"* ]] && ok "--no-legend drops the lint summary" || not_ok "--no-legend lint: $out"
check "bare iommuctl is a usage error" 2 "$IOMMUCTL"
[ -z "$out" ] && ok "bare iommuctl: nothing on stdout" || not_ok "bare iommuctl printed on stdout: $out"
contains "bare iommuctl: short usage on stderr" "$err" "Usage: iommuctl"
[ "$(wc -l <<<"$err")" -le 3 ] && ok "bare iommuctl: a short usage" || not_ok "bare iommuctl: $(wc -l <<<"$err") lines"
check "--help" 0 "$IOMMUCTL" --help
contains "--help on stdout" "$out" "Verbs:"

mkdir -p "$tmp/conf/etc/iommu/iommu.conf.d"
printf '[IOMMU]\nProfile=gpu-sriov\n[Apply]\nReboot=yes\n' >"$tmp/conf/etc/iommu/iommu.conf"
check "config --json" 0 "$IOMMUCTL" config --json --root "$tmp/conf"
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["IOMMU"]["Profile"]=="gpu-sriov" and d["Apply"]["Reboot"]=="yes" \
        and d["Boot"]["Generator"]=="yes" and "PrometheusPath" in d["Publish"], d' <<<"$out" \
        && ok "config --json parses with the values" || not_ok "config --json: $out"
check "config --json KEY" 0 "$IOMMUCTL" config --json --root "$tmp/conf" Apply.Reboot
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d=={"Apply": {"Reboot": "yes"}}, d' <<<"$out" \
        && ok "config --json with a key prints only it" || not_ok "config --json KEY: $out"
check "config --json, none selected" 0 "$IOMMUCTL" config --json --root "$tmp/p"
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["IOMMU"]["Profile"] is None, d' <<<"$out" \
        && ok "config --json: no profile is null" || not_ok "config --json none: $out"

check "lint --json a broken profile" 1 "$IOMMUCTL" lint --json "$tmp/p/bad.conf"
python3 -c 'import json,sys; d=json.load(sys.stdin); f=d["findings"]; assert d["errors"]==1 and len(f)==1 and f[0]["line"]==4 \
        and f[0]["severity"]=="error" and "iommu.strict=1" in f[0]["message"], d' <<<"$out" \
        && ok "lint --json reports the profile error as a finding" || not_ok "lint --json broken profile: $out"
contains "lint --json: the error also on stderr" "$err" "$tmp/p/bad.conf:4:"
check "lint --json an unreadable file" 2 "$IOMMUCTL" lint --json "$tmp/no-such-file"
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["findings"][0]["severity"]=="error", d' <<<"$out" \
        && ok "lint --json reports an unreadable file as a finding" || not_ok "lint --json unreadable: $out"

check "profiles" 0 "$IOMMUCTL" profiles --root "$root"
for p in gpu-sriov bare-metal generic strict; do contains "profiles lists $p" "$out" "$p"; done
mkdir -p "$root/etc/iommu/profiles"
cp "$tmp/p/bad.conf" "$root/etc/iommu/profiles/broken.conf"
check "profiles with a broken one" 1 "$IOMMUCTL" profiles --root "$root"
contains "broken profile marked" "$out" "BROKEN"
rm "$root/etc/iommu/profiles/broken.conf"

check "no profile selected" 2 "$IOMMUCTL" plan --root "$root"
contains "no profile message" "$err" "No profile selected"
check "profiles --selected without iommu.conf" 1 "$IOMMUCTL" profiles --selected --root "$root"
mkdir -p "$root/etc/iommu"
printf '[IOMMU]\nProfile=strict\n' >"$root/etc/iommu/iommu.conf"
check "profiles --selected" 0 "$IOMMUCTL" profiles --selected --root "$root"
[ "$out" = "strict" ] && ok "profiles --selected prints the name" || not_ok "profiles --selected: $out"
check "profile from iommu.conf" 0 "$IOMMUCTL" cmdline --root "$root"
[ "$out" = "intel_iommu=on iommu.passthrough=0 iommu.strict=1" ] && ok "iommu.conf selects strict" || not_ok "iommu.conf: $out"
check "config" 0 "$IOMMUCTL" config --root "$root"
contains "config lists the profile" "$out" "IOMMU.Profile=strict"
contains "config lists defaults" "$out" "Apply.BootloaderUpdate=yes"
printf '[IOMMU]\nProfile=strict ; inline comment\n[Boot]\nEnforce=yes\n' >"$tmp/enforce.conf"
mkdir -p "$root/etc/iommu/iommu.conf.d" && cp "$tmp/enforce.conf" "$root/etc/iommu/iommu.conf.d/50-x.conf"
check "config values" 0 "$IOMMUCTL" config --root "$root" Boot.Enforce IOMMU.Profile
[ "$out" = "$(printf 'yes\nstrict')" ] && ok "config values from the drop-in, inline comment removed" || not_ok "config values: $out"
rm -r "$root/etc/iommu/iommu.conf.d"
check "config unknown setting" 2 "$IOMMUCTL" config --root "$root" Boot.Nope
printf '[IOMMU]\nProfile=strict\nBogus=1\n' >"$root/etc/iommu/iommu.conf"
check "broken iommu.conf" 2 "$IOMMUCTL" plan --root "$root"
check "profiles --selected, broken iommu.conf" 2 "$IOMMUCTL" profiles --selected --root "$root"
contains "iommu.conf error file:line" "$err" "iommu.conf:3: unknown key 'Bogus'"

mkdir -p "$tmp/image"
check "offline image needs a vendor" 2 "$IOMMUCTL" plan --root "$tmp/image" --profile gpu-sriov --arch x86_64
contains "offline vendor hint" "$err" "pass --vendor"
check "offline image, portable" 0 "$IOMMUCTL" cmdline --root "$tmp/image" --profile gpu-sriov --vendor portable --arch x86_64
[ "$out" = "intel_iommu=on iommu=pt" ] && ok "portable tokens" || not_ok "portable: $out"

check "unknown verb" 2 "$IOMMUCTL" frobnicate
check "bad vendor" 2 "$IOMMUCTL" plan --vendor via
check "--version" 0 "$IOMMUCTL" --version
contains "version string" "$out" "iommuctl "
for v in plan cmdline lint profiles config; do
        check "$v --help" 0 "$IOMMUCTL" "$v" --help
        contains "$v usage" "$out" "Usage: iommuctl $v"
done

check_done
