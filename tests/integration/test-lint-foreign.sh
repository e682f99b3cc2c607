#!/bin/bash
# iommuctl lint on other tools' kernel-argument files (tests/fixtures/lint, written the way each
# tool's documentation writes them; see the README there): exit codes, FILE:LINE:COLUMN, the fix.
set -uo pipefail
IOMMUCTL=${1:?usage: test-lint-foreign.sh IOMMUCTL FIXTURES HAVE_TOML}
F=${2:?}
HAVE_TOML=${3:?}
. "$(dirname "${BASH_SOURCE[0]}")/check-lib.sh"
lint() { check "$1" "$2" "$IOMMUCTL" lint --arch "${ARCH:-x86_64}" "${@:3}"; }

# The issue's acceptance: a MachineConfig with amd_iommu=on exits 1, names file, line and the fix.
lint "MachineConfig with amd_iommu=on" 1 "$F/99-worker-kargs-amd.yaml"
contains "names file:line:column and the object" "$out" \
        "$F/99-worker-kargs-amd.yaml:14:7: error: MachineConfig 99-worker-kargs-amd: amd_iommu=on is not an amd_iommu= option"
contains "gives the fix" "$out" "; use: remove it"
lacks "iommu=pt is fine" "$out" "iommu=pt"

# Without --kernel/--config, other tools' files are judged for the newest kernel the model knows
# (not the machine lint runs on): there VT-d is on by default, which the kernel model says.
# --kernel judges them for that release, through the same kernel model as a command line.
lint "MachineConfig for a 5.10 kernel" 1 --kernel 5.10.0-32-amd64 "$F/99-worker-kargs-amd.yaml"
contains "the release's verdict at the same position" "$out" \
        "99-worker-kargs-amd.yaml:14:7: error: MachineConfig 99-worker-kargs-amd: amd_iommu=on is ignored by the kernel"
contains "names the release" "$out" "5.10 ignores it without a word"
lint "pool and config, multi-document" 0 "$F/pool-and-config.yaml"
contains "no errors" "$out" "0 errors, 0 warnings"
# No build configuration for a cluster's nodes: intel_iommu=on depends on the build, a note with its
# position and no advice to remove it (issue 21: that advice breaks RHEL 8 nodes).
contains "the kernel model's verdict, with its position" "$out" \
        "pool-and-config.yaml:24:7: note: MachineConfig 07-sriov-related-kernel-args-worker-gpu: intel_iommu=on: whether it is needed depends on the build"
lacks "no advice to remove it" "$out" "intel_iommu=on; use: remove it"

lint "oc get -o yaml (kind: List)" 1 "$F/oc-get-mc.yaml"
contains "List item position" "$out" "oc-get-mc.yaml:16:7: error: MachineConfig 50-worker-iommu: amd_iommu=on"

lint "PerformanceProfile" 1 "$F/performanceprofile.yaml"
contains "additionalKernelArgs position and fix" "$out" \
        "performanceprofile.yaml:18:5: error: PerformanceProfile performance: iommu=strict is ignored by the kernel"
contains "PerformanceProfile fix" "$out" "use: iommu.strict=1"

# Butane and Ignition: a removal is not on the command line, so removing amd_iommu=on is no
# finding; removing what the same config adds is.
lint "Butane fcos" 1 "$F/kargs.bu"
contains "removal contradicting an addition" "$out" "kargs.bu:9:7: error: Butane: iommu=pt is removed and also added (line 6)"
lacks "a removal of amd_iommu=on is not linted as present" "$out" "amd_iommu"
lint "Butane openshift variant" 1 "$F/openshift-variant.bu"
contains "openshift.kernel_arguments" "$out" "openshift-variant.bu:11:7: error: Butane 99-worker-iommu: amd_iommu=on"
lint "Ignition, pretty" 1 "$F/kargs.ign"
contains "shouldExist position" "$out" "kargs.ign:8:7: error: Ignition: iommu=strict is ignored"
lacks "shouldNotExist not linted as present" "$out" "amd_iommu"
lint "Ignition, compact" 0 "$F/compact.ign"

lint "Talos" 1 "$F/talos-worker.yaml"
contains "extraKernelArgs position" "$out" "talos-worker.yaml:13:9: error: Talos: iommu=strict is ignored"
contains "extraKernelArgs are ignored under a UKI, with the fix" "$out" \
        "talos-worker.yaml:10:9: warning: Talos: machine.install.extraKernelArgs is ignored when Talos boots a UKI"
contains "the fix names the schematic" "$out" "use: put them in the Image Factory schematic's customization.extraKernelArgs"
lint "Talos SecureBoot install" 0 "$F/talos-secureboot.yaml"
contains "SecureBoot installer named as the reason" "$out" \
        "talos-secureboot.yaml:8:9: warning: Talos: machine.install.extraKernelArgs is ignored when Talos boots a UKI: its installer image is a SecureBoot one"
lacks "a -TOKEN removal is not linted as present" "$out" "amd_iommu"
lint "Image Factory schematic" 1 "$F/schematic.yaml"
contains "schematic position and fix" "$out" \
        "schematic.yaml:3:11: error: Talos-schematic: amd_iommu=on is not an amd_iommu= option"
lacks "the -iommu=strict removal is not linted as present" "$out" "iommu=strict"
lacks "no UKI warning for the schematic itself" "$out" "boots a UKI"
ARCH=aarch64 lint "Talos on arm64" 1 "$F/talos-worker.yaml"
contains "x86 spelling on arm64" "$out" "talos-worker.yaml:12:9: error: Talos: intel_iommu= does not exist on aarch64"

if [ "$HAVE_TOML" = 1 ]; then
        lint "bootc kargs.d" 0 "$F/10-iommu.toml"
        contains "warning with position" "$out" "10-iommu.toml:2:40: warning: bootc-kargs: iommu.strict=1 has no effect"
        lint "bootc, another architecture" 0 "$F/20-arm64-iommu.toml"
        contains "says which arch it applies to" "$out" "20-arm64-iommu.toml:3:23: note: bootc-kargs: applies only to aarch64"
        ARCH=aarch64 lint "bootc, its architecture" 1 "$F/20-arm64-iommu.toml"
        contains "linted for aarch64" "$out" "20-arm64-iommu.toml:2:10: error: bootc-kargs: iommu= does not exist on aarch64"
        contains "arm64 fix" "$out" "use: iommu.passthrough=1"
        printf 'kargs = ["iommu=pt",\n  42]\n' >"$tmp/bad.toml"
        lint "bootc, not a string" 1 "$tmp/bad.toml"
        contains "bootc type error position" "$out" "bad.toml:2:3: error: bootc-kargs: kargs must hold strings"
        # The toml++ reader is a module loaded for kargs.d files only: missing, lint names it.
        IOMMUCTL_TOML_MODULE=$tmp/missing/libiommu-toml.so lint "TOML module missing" 2 "$F/10-iommu.toml"
        contains "names the missing module" "$err" "cannot load the TOML parser: $tmp/missing/libiommu-toml.so"
        IOMMUCTL_TOML_MODULE=$tmp/missing/libiommu-toml.so lint "YAML needs no TOML module" 1 "$F/kargs.ign"
else
        lint "bootc kargs.d without toml++" 2 "$F/10-iommu.toml"
        contains "says what is missing" "$err" "built without TOML support"
fi

lint "kernelArguments not a list" 1 "$F/broken-mc.yaml"
contains "what the MCO would refuse" "$out" "broken-mc.yaml:6:20: error: MachineConfig 99-worker-broken: spec.kernelArguments must be a list of strings"
printf 'kind: MachineConfig\nspec:\n  kernelArguments: [a\n' >"$tmp/syntax.yaml"
lint "YAML syntax error" 1 "$tmp/syntax.yaml"
contains "syntax error position" "$out" "syntax.yaml:4:1: error:"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' >"$tmp/cm.yaml"
# Nothing of ours in it (a ConfigMap, a CRD next to the manifests): said, not an error, so that a
# whole manifests directory can be linted.
lint "YAML of another kind" 0 "$tmp/cm.yaml"
contains "says what lint looked for" "$out" \
        "cm.yaml:1:1: warning: no MachineConfig, PerformanceProfile, Butane, Ignition, Talos or Image Factory schematic document: nothing linted"
contains "counted as a warning" "$out" "0 errors, 1 warning"

# Several files: one total, every file named.
lint "several files" 1 "$F/pool-and-config.yaml" "$F/99-worker-kargs-amd.yaml" "$F/kargs.ign"
contains "total" "$out" "2 errors, 0 warnings"

lint "--json" 1 --json "$F/99-worker-kargs-amd.yaml" "$F/kargs.bu"
if python3 - "$tmp/out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
f = d["findings"]
assert d["version"] == 1 and d["errors"] == 2, d
amd = [x for x in f if x["token"] == "amd_iommu=on"]
assert len(amd) == 1, f
a = amd[0]
assert a["file"].endswith("99-worker-kargs-amd.yaml") and (a["line"], a["column"]) == (14, 7), a
assert a["format"] == "MachineConfig" and a["name"] == "99-worker-kargs-amd", a
assert a["severity"] == "error" and a["fix"] and a["removal"] is False, a
rm = [x for x in f if x["removal"]]
assert len(rm) == 1 and rm[0]["format"] == "Butane" and rm[0]["name"] is None, f
assert (rm[0]["line"], rm[0]["column"]) == (9, 7) and rm[0]["token"] == "iommu=pt", rm[0]
EOF
then ok "--json findings"; else not_ok "--json findings: $out"; fi

# What iommuctl exports for those tools lints without errors: the same rules on both sides.
if [ -n "${IOMMUCTL_PROFILES_PATH:-}" ]; then
        for v in intel amd arm64; do
                a=x86_64; [ "$v" = arm64 ] && a=aarch64
                "$IOMMUCTL" export machineconfig --profile gpu-sriov --vendor "$v" --role gpu-worker >"$tmp/mc-$v.yaml"
                ARCH=$a lint "exported MachineConfig ($v) lints clean" 0 "$tmp/mc-$v.yaml"
                contains "exported MachineConfig ($v) was read" "$out" "0 errors, "
                lacks "exported MachineConfig ($v) has tokens" "$out" "nothing linted"
                for format in butane talos; do
                        "$IOMMUCTL" export $format --profile gpu-sriov --vendor "$v" >"$tmp/$format-$v.yaml"
                        ARCH=$a lint "exported $format ($v) lints clean" 0 "$tmp/$format-$v.yaml"
                        contains "exported $format ($v) was read, removals included" "$out" "0 errors, 0 warnings"
                        lacks "exported $format ($v) has tokens" "$out" "nothing linted"
                done
                if [ "$HAVE_TOML" = 1 ]; then
                        "$IOMMUCTL" export bootc --profile gpu-sriov --vendor "$v" >"$tmp/kargs-$v.toml"
                        ARCH=$a lint "exported kargs.d ($v) lints clean" 0 "$tmp/kargs-$v.toml"
                        contains "exported kargs.d ($v) was read" "$out" "0 errors, "
                        lacks "exported kargs.d ($v) has tokens" "$out" "nothing linted"
                fi
        done
else
        not_ok "IOMMUCTL_PROFILES_PATH is not set"
fi

# What lint read before is unchanged: a kernel command line file is not taken for YAML.
printf 'intel_iommu=on iommu=strict\n' >"$tmp/cmdline"
lint "plain command line file" 1 "$tmp/cmdline"
contains "line-based, as before" "$out" "$tmp/cmdline:1: error: iommu=strict"

check_done
