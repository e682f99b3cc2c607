#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# ansible-test sanity on the collection, with Debian's ansible-core.
#
# ansible-test runs most of its sanity tests with the controller's Python; seven (ansible-doc,
# import, pep8, pylint, runtime-metadata, validate-modules, yamllint) it runs only in virtual
# environments that it fills from PyPI, which this project cannot reach. Those seven run here
# with ansible-test's own checkers, configuration and command lines on Debian's packages
# (python3-voluptuous, pycodestyle, pylint, yamllint), and ansible-doc and import by hand.
#
#   tests/ansible/test-sanity.sh SRCDIR
set -uo pipefail
src=$(cd "${1:?usage: $0 SRCDIR}" && pwd)
# Debian's Python: the test tools are Debian's packages, whatever python3 comes first in PATH.
py=/usr/bin/python3
tmp=$(mktemp -d)
trap '[[ -n ${KEEP:-} ]] || rm -rf "$tmp"' EXIT
failures=0
ok() { echo "ok: $*"; }
fail() {
        echo "FAIL: $*"
        failures=$((failures + 1))
}

# ansible-test wants the collection at .../ansible_collections/NS/NAME and writes tests/output
# there: a copy.
mkdir -p "$tmp/ansible_collections/iommu"
cp -a "$src/ansible/ansible_collections/iommu/iommuctl" "$tmp/ansible_collections/iommu/"
coll=$tmp/ansible_collections/iommu/iommuctl
cd "$coll" || exit 2
export ANSIBLE_HOME=$tmp/ansible-home ANSIBLE_LOCAL_TEMP=$tmp/ansible-home/tmp ANSIBLE_NOCOLOR=1
export ANSIBLE_COLLECTIONS_PATH=$tmp ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false HOME=$tmp
at_root=$($py -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))') || {
        echo "FAIL: Debian's ansible-core (ansible_test) is not installed"
        exit 1
}
S=$at_root/_util/controller/sanity
version=$(sed -n 's/^version: *//p' galaxy.yml)

venv_tests=(ansible-doc import pep8 pylint runtime-metadata validate-modules yamllint)
skip=()
for t in "${venv_tests[@]}"; do skip+=(--skip-test "$t"); done
mapfile -t all < <(ansible-test sanity --list-tests 2>/dev/null)
((${#all[@]} > 20)) || fail "ansible-test sanity --list-tests listed ${#all[@]} tests"
if ansible-test sanity --python-interpreter "$py" --python 3.11 --color no "${skip[@]}" >"$tmp/sanity.log" 2>&1; then
        ok "ansible-test sanity: the $((${#all[@]} - ${#venv_tests[@]})) tests that run without PyPI pass"
else
        fail "ansible-test sanity:"
        grep -E 'ERROR|FATAL' "$tmp/sanity.log" | head -n 20
fi

# The seven, as ansible-test runs them (ansible_test/_internal/commands/sanity/*.py).
mapfile -t pyfiles < <(find . -name '*.py' -not -path './tests/output/*' | sort)
mapfile -t modules < <(find plugins/modules -name '*.py' | sort)

ignore=$(grep -v '^#' "$S/pep8/current-ignore.txt" | paste -sd,)
if out=$($py -m pycodestyle --max-line-length 160 --config /dev/null --ignore "$ignore" "${pyfiles[@]}" 2>&1); then
        ok "pep8 (pycodestyle $($py -m pycodestyle --version)) on ${#pyfiles[@]} files"
else
        fail "pep8: $out"
fi

out=$({ find . \( -name '*.yml' -o -name '*.yaml' \) -not -path './tests/output/*' | sed 's|^\./||'
        printf '%s\n' "${modules[@]}"; } | $py "$S/yamllint/yamllinter.py" 2>&1)
if [[ $($py -c 'import json, sys; print(len(json.load(sys.stdin)["messages"]))' <<<"$out" 2>/dev/null) == 0 ]]; then
        ok "yamllint: the YAML files and the modules' documentation"
else
        fail "yamllint: $out"
fi

if out=$(ANSIBLE_TEST_MODULES_PATH=$($py -c 'import ansible.modules, os; print(os.path.dirname(ansible.modules.__file__))') \
        ANSIBLE_TEST_MODULE_UTILS_PATH=$($py -c 'import ansible.module_utils, os; print(os.path.dirname(ansible.module_utils.__file__))') \
        PYTHONPATH=$S/pylint/plugins:$tmp $py -m pylint --jobs 0 --reports n --max-line-length 160 --max-complexity 20 \
        --rcfile "$S/pylint/config/collection.cfg" --output-format parseable \
        --load-plugins deprecated,string_format,unwanted,pylint.extensions.mccabe \
        --collection-name iommu.iommuctl --collection-version "$version" "${pyfiles[@]}" 2>&1); then
        ok "pylint with ansible-test's collection configuration and plugins"
else
        fail "pylint: $out"
fi

# validate-modules: the documentation against the argument spec, the RETURN and EXAMPLES blocks.
out=$(PYTHONPATH=$S/validate-modules $py "$S/validate-modules/validate.py" --format json --arg-spec \
        --collection ansible_collections/iommu/iommuctl --collection-version "$version" "${modules[@]}" 2>&1)
rc=$?
if [[ $rc -eq 0 ]]; then
        ok "validate-modules: ${modules[*]}"
else
        # Codes the collection's tests/sanity/ignore file allows, as ansible-test would.
        left=$($py - "$out" tests/sanity/ignore-2.14.txt <<'PY'
import json, sys
allowed = set()
try:
    for line in open(sys.argv[2]):
        line = line.split('#', 1)[0].split()
        if len(line) == 2 and line[1].startswith('validate-modules:'):
            allowed.add((line[0], line[1].split(':', 1)[1]))
except FileNotFoundError:
    pass
for path, r in json.loads(sys.argv[1]).items():
    for e in r.get('errors', []):
        if (path, e['code']) not in allowed:
            print(f"{path}: {e['code']}: {e['msg']}")
PY
)
        if [[ -z $left ]] && [[ $out == \{* ]]; then
                ok "validate-modules: ${modules[*]} (only what tests/sanity/ignore-2.14.txt allows)"
        else
                fail "validate-modules: ${left:-$out}"
        fi
fi

out=$(echo meta/runtime.yml | $py "$S/code-smell/runtime-metadata.py" 2>&1)
[[ -z $out ]] && ok "runtime-metadata: meta/runtime.yml" || fail "runtime-metadata: $out"

# ansible-doc renders every module; import: each module imports without running main().
for m in "${modules[@]}"; do
        name=$(basename "$m" .py)
        if ansible-doc -t module "iommu.iommuctl.$name" >"$tmp/doc.txt" 2>&1 && grep -q 'RETURN VALUES' "$tmp/doc.txt"; then
                ok "ansible-doc iommu.iommuctl.$name"
        else
                fail "ansible-doc iommu.iommuctl.$name: $(tail -n 5 "$tmp/doc.txt")"
        fi
        if out=$(PYTHONPATH=$tmp $py -c "import ansible_collections.iommu.iommuctl.plugins.modules.$name" </dev/null 2>&1); then
                ok "import ansible_collections.iommu.iommuctl.plugins.modules.$name"
        else
                fail "import $name: $out"
        fi
done

[[ $failures -eq 0 ]] || { echo "$failures check(s) failed"; exit 1; }
echo "ansible sanity: all checks passed"
