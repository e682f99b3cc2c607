#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copyright: the iommuctl authors
# GNU Lesser General Public License v2.1 or later (see https://www.gnu.org/licenses/old-licenses/lgpl-2.1.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: iommuctl
short_description: Write, verify or roll back the IOMMU kernel command line with iommuctl
version_added: "1.0.0"
description:
  - Wraps the C(iommuctl) installed on the managed node (the iommuctl package); it does not
    reimplement it. Every decision (which files, which tokens, whether the kernel did what the
    profile promises) is iommuctl's, read from its C(--json) output.
  - C(state=applied) runs C(iommuctl apply). The module reports C(changed) only when a boot
    file or the node's recorded selection changed, and C(reboot_required) when the running kernel does not carry the profile yet
    (C(iommuctl plan --check)). It never reboots; use M(ansible.builtin.reboot), or the
    C(iommu.iommuctl.rollout) role, which gates the reboot and verifies after it.
  - C(state=verified) runs C(iommuctl verify --json) and fails when the verdict is C(fail),
    returning the verdict and the failed checks with their evidence and fixes.
  - C(state=rolled_back) runs C(iommuctl rollback), which restores the files of the last change
    set iommuctl recorded. Each run undoes one more change set; with none left it reports no change.
  - C(state=absent) runs C(iommuctl undo), which removes the profile's tokens from every boot entry
    and file that carries them (also entries the kernel-install plugin wrote since apply) and
    disarms the generator. It converges - a second run reports no change - and is the way to take
    the profile off a node.
  - Every state returns C(node) - the profile, the mode the kernel runs in, whether the next boot
    carries the profile and whether the generator is armed - read with C(iommuctl status --json)
    and C(iommuctl verify --json --no-journal).
  - Check mode runs C(--dry-run) and writes nothing; C(changed) says whether a run would change
    a boot file, and with C(--diff) the unified diff of the boot files is shown.
  - Failures carry iommuctl's own message (its standard error) in C(msg).
author:
  - The iommuctl authors (!UNKNOWN)
requirements:
  - iommuctl on the managed node (C(iommuctl --version))
options:
  state:
    description:
      - C(applied) writes the profile into the boot configuration.
      - C(verified) checks what the running kernel did against the profile.
      - C(rolled_back) restores the files of the last recorded change set.
      - C(absent) removes the profile's tokens from every entry and file, converging.
    type: str
    choices: [applied, verified, rolled_back, absent]
    default: applied
  profile:
    description:
      - The IOMMU profile (C(iommuctl profiles) lists them), for example C(gpu-sriov) or C(strict).
      - Default is C(Profile=) in C(/etc/iommu/iommu.conf) on the node. Not used with C(state=rolled_back).
    type: str
  vendor:
    description:
      - The IOMMU vendor whose tokens are written. Default is detection on the node.
      - Not used with C(state=verified) (verify reads what the kernel runs on) or C(state=rolled_back).
    type: str
    choices: [auto, intel, amd, arm64, portable]
  root:
    description:
      - Operate on the tree under this directory instead of the node's C(/) (an image, a chroot).
    type: path
  backends:
    description:
      - The boot configuration backends to write (C(bls), C(kernel-cmdline), C(grub)). Default is
        C([Apply] Backends=) in iommu.conf, else every one the node uses.
    type: list
    elements: str
  entries:
    description:
      - Which Boot Loader Specification entries apply changes, C(all), C(default) or a glob.
    type: str
  kernel_log:
    description:
      - With C(state=verified), read the kernel log from this file (a captured C(dmesg)) instead
        of the journal; for C(root) trees.
    type: path
  executable:
    description:
      - The iommuctl binary. Default is C(iommuctl) on the node's C(PATH).
    type: path
notes:
  - Supports C(check_mode) and C(diff_mode) for every state; C(verified) writes nothing either way
    except what iommuctl verify itself publishes (C([Publish]) in iommu.conf) and its journal entry,
    both skipped in check mode (C(--no-journal)).
'''

EXAMPLES = r'''
- name: Write gpu-sriov into the boot configuration (diff with --diff, nothing with --check)
  iommu.iommuctl.iommuctl:
    profile: gpu-sriov
    vendor: intel
    state: applied
  register: iommu

- name: Reboot into it
  ansible.builtin.reboot:
  when: iommu.reboot_required

- name: Check what the kernel did; fails with the failed checks
  iommu.iommuctl.iommuctl:
    profile: gpu-sriov
    state: verified
  register: verdict

- name: Undo the last change
  iommu.iommuctl.iommuctl:
    state: rolled_back

- name: Take the profile off the node (converges; reboot after it when reboot_required)
  iommu.iommuctl.iommuctl:
    state: absent

- name: Prepare an image tree offline
  iommu.iommuctl.iommuctl:
    root: /srv/images/gpu-node
    profile: gpu-sriov
    vendor: portable
'''

RETURN = r'''
changed:
  description:
    - Whether a file iommuctl manages changed (in check mode, whether one would change) - a
      boot file, or the node's recorded selection (/etc/iommu/selection) when C(profile) or
      C(vendor) differs from it. Nothing else counts (not the lock, not the change-set journal).
  returned: always
  type: bool
reboot_required:
  description:
    - C(applied), C(rolled_back) - whether the running kernel's command line lacks the profile's tokens
      (C(iommuctl plan --check) exits 1), so a reboot is needed for them to take effect. It stays
      true on a run that changed nothing while the node has not rebooted yet.
    - C(verified) - false.
  returned: always
  type: bool
  sample: true
profile:
  description: The profile iommuctl used.
  returned: when iommuctl reports one
  type: str
  sample: gpu-sriov
files:
  description: The boot files changed (in check mode, that would change), as iommuctl reports them.
  returned: with state applied, rolled_back or absent
  type: list
  elements: dict
  contains:
    path:
      description: The file, relative to the root.
      type: str
      sample: /boot/loader/entries/debian.conf
    action:
      description: C(created), C(modified), C(removed) or C(restored).
      type: str
    backend:
      description: C(bls), C(kernel-cmdline) or C(grub).
      type: str
changeset:
  description: The change set iommuctl recorded (what C(iommuctl rollback) restores); null in check mode.
  returned: with state applied or rolled_back
  type: int
  sample: 3
verdict:
  description: The verify verdict, C(pass), C(warn) or C(fail).
  returned: with state verified
  type: str
  sample: pass
failed_checks:
  description: The checks that failed, with iommuctl's evidence and fix.
  returned: with state verified
  type: list
  elements: dict
  sample: [{"id": "cmdline", "result": "fail", "evidence": "...", "fix": "..."}]
warned_checks:
  description: The checks that passed with a warning.
  returned: with state verified
  type: list
  elements: dict
observed_mode:
  description: What the kernel does, C(passthrough), C(translated), C(strict), C(off) or C(mixed).
  returned: with state verified
  type: str
  sample: passthrough
verify:
  description: The whole C(iommuctl verify --json) object (see doc/verify-json.md).
  returned: with state verified
  type: dict
node:
  description:
    - Facts about the node after the run, from C(iommuctl status --json) and C(iommuctl verify --json --no-journal);
      a fact iommuctl cannot tell (no profile, no running kernel under C(root)) is null.
  returned: success
  type: dict
  contains:
    profile:
      description: The profile configured or applied on the node.
      type: str
      sample: gpu-sriov
    observed_mode:
      description: What the running kernel does, C(passthrough), C(translated), C(strict), C(off) or C(mixed).
      type: str
      sample: passthrough
    next_boot_carries_profile:
      description: Whether the entry that boots next carries the profile's tokens.
      type: bool
    generator_armed:
      description: Whether iommu-generator enforces the profile at boot (apply ran, or Automatic=yes).
      type: bool
cmd:
  description: The iommuctl command line that made the change or the check.
  returned: always
  type: list
  elements: str
stderr:
  description: What iommuctl logged.
  returned: always
  type: str
rc:
  description: iommuctl's exit status (0 success, 1 failed check or drift, 2 error).
  returned: on failure
  type: int
'''

import json

from ansible.module_utils.basic import AnsibleModule


def iommuctl_message(stderr, stdout=''):
    """iommuctl's own words: its error lines if any, else everything it logged."""
    lines = [line for line in (stderr or '').splitlines() if line.strip()]
    return '\n'.join(lines) or (stdout or '').strip() or 'iommuctl printed nothing'


class Iommuctl(object):
    def __init__(self, module):
        self.module = module
        p = module.params
        if p['executable']:
            self.binary = p['executable']
        else:
            self.binary = module.get_bin_path('iommuctl', required=True,
                                              opt_dirs=['/usr/bin', '/usr/sbin', '/usr/local/bin'])
        self.stderr = []

    def run(self, verb, *args, **kw):
        p = self.module.params
        cmd = [self.binary]
        if p['root']:
            cmd += ['--root', p['root']]
        cmd.append(verb)
        cmd += list(args)
        rc, out, err = self.module.run_command(cmd, environ_update={'LC_ALL': 'C', 'SYSTEMD_COLORS': '0'})
        if err:
            self.stderr.append(err)
        ok = kw.get('ok', (0,))
        if rc not in ok:
            self.module.fail_json(msg=iommuctl_message(err, out), rc=rc, cmd=cmd, stdout=out, stderr=err)
        return rc, out, err, cmd

    def json(self, out, cmd):
        if not out.strip():
            return None
        try:
            return json.loads(out)
        except ValueError as e:
            self.module.fail_json(msg='iommuctl printed no JSON object: %s' % e, cmd=cmd, stdout=out)


def selection_args(p, with_vendor=True):
    args = []
    if p['profile']:
        args += ['--profile', p['profile']]
    if with_vendor and p['vendor'] and p['vendor'] != 'auto':
        args += ['--vendor', p['vendor']]
    return args


def configured_by_files(tool, p):
    """Drops --profile and --vendor from apply where iommu.conf or a drop-in (not a selection that
    apply recorded) already says the same: apply would record a selection, and a recorded selection
    wins over configuration management's later drop-ins (iommu.conf(5), SELECTION)."""
    args = selection_args(p)
    rc, out, err, cmd = tool.run('config', '--json', ok=(0, 1, 2))
    if rc != 0:
        return args
    try:
        conf = json.loads(out)
    except ValueError:
        return args
    origins = conf.get('origins') or {}
    iommu = conf.get('IOMMU') or {}

    def from_files(key):
        o = origins.get('IOMMU.' + key)
        return bool(o) and not o.get('selection')

    profile_given = bool(p['profile'])
    vendor_given = bool(p['vendor']) and p['vendor'] != 'auto'
    profile_made = not profile_given or (iommu.get('Profile') == p['profile'] and from_files('Profile'))
    vendor_made = not vendor_given or (iommu.get('Vendor') == p['vendor'] and from_files('Vendor'))
    if profile_made and vendor_made:
        return []
    return args


def reboot_required(tool, p, profile):
    """The running command line lacks the profile's tokens: plan --check exits 1."""
    # Only the exit status is read: --quiet lets a node whose line is what apply writes be
    # judged on the generator's fast path, without the whole plan (apply logged its warnings).
    args = ['--check', '--quiet']
    if profile:
        args += ['--profile', profile]
    if p['vendor'] and p['vendor'] != 'auto':
        args += ['--vendor', p['vendor']]
    rc, out, err, cmd = tool.run('plan', *args, ok=(0, 1))
    return rc == 1


def state_applied(module, tool):
    p = module.params
    args = configured_by_files(tool, p)
    if p['backends']:
        args += ['--backend', ','.join(p['backends'])]
    if p['entries']:
        args += ['--entries', p['entries']]
    result = {}

    if module.check_mode or module._diff:
        rc, out, err, cmd = tool.run('apply', '--dry-run', '--json', *args)
        plan = tool.json(out, cmd) or {}
        would = bool(plan.get('files'))
        if module._diff and would:
            rc, diff, err, cmd = tool.run('apply', '--dry-run', *args)
            result['diff'] = {'prepared': diff}
        if module.check_mode:
            result.update(changed=would, files=plan.get('files', []), changeset=None,
                          profile=plan.get('profile') or p['profile'], cmd=cmd)
            result['reboot_required'] = would or reboot_required(tool, p, result['profile'])
            return result

    rc, out, err, cmd = tool.run('apply', '--json', *args)
    res = tool.json(out, cmd) or {}
    result.update(changed=bool(res.get('changed')), files=res.get('files', []), changeset=res.get('changeset'),
                  profile=res.get('profile') or p['profile'], cmd=cmd)
    if not result['changed']:
        result.pop('diff', None)
    result['reboot_required'] = reboot_required(tool, p, result['profile'])
    return result


def state_rolled_back(module, tool):
    diff_result = None
    if module.check_mode or module._diff:
        rc, out, err, cmd = tool.run('rollback', '--dry-run', '--json')
        plan = tool.json(out, cmd) or {}
        if module._diff and plan.get('files'):
            rc, diff, err, dcmd = tool.run('rollback', '--dry-run')
            diff_result = {'prepared': diff}
        if module.check_mode:
            result = dict(changed=bool(plan.get('files')), files=plan.get('files', []), changeset=None, cmd=cmd,
                          reboot_required=bool(plan.get('files')))
            if diff_result:
                result['diff'] = diff_result
            return result
    rc, out, err, cmd = tool.run('rollback', '--json')
    res = tool.json(out, cmd) or {}
    result = dict(changed=bool(res.get('changed')), files=res.get('files', []), changeset=res.get('changeset'), cmd=cmd)
    if result['changed'] and diff_result:
        result['diff'] = diff_result
    # After a rollback there is no profile to compare the running kernel with: a reboot is
    # needed exactly when files were restored.
    result['reboot_required'] = result['changed']
    return result


def state_absent(module, tool):
    p = module.params
    args = ['--profile', p['profile']] if p['profile'] else []
    diff_result = None
    if module.check_mode or module._diff:
        rc, out, err, cmd = tool.run('undo', '--dry-run', '--json', *args, ok=(0, 1))
        plan = tool.json(out, cmd) or {}
        if module._diff and plan.get('files'):
            rc, diff, err, dcmd = tool.run('undo', '--dry-run', *args, ok=(0, 1))
            diff_result = {'prepared': diff}
        if module.check_mode:
            result = dict(changed=bool(plan.get('files')), files=plan.get('files', []), changeset=None, cmd=cmd,
                          profile=plan.get('profile'), reboot_required=bool(plan.get('files')))
            if diff_result:
                result['diff'] = diff_result
            return result
    # Exit 1: undone, but something (a UKI) still embeds the tokens; iommuctl said what.
    rc, out, err, cmd = tool.run('undo', '--json', *args, ok=(0, 1))
    res = tool.json(out, cmd) or {}
    result = dict(changed=bool(res.get('changed')), files=res.get('files', []), changeset=res.get('changeset'),
                  profile=res.get('profile'), cmd=cmd, reboot_required=bool(res.get('changed')))
    if result['changed'] and diff_result:
        result['diff'] = diff_result
    if rc == 1:
        result['warnings'] = [iommuctl_message(err)]
    return result


def node_facts(tool, p, profile):
    """What iommuctl says about the node now, for profile (None: the node's); None where it cannot tell."""
    facts = dict(profile=None, observed_mode=None, next_boot_carries_profile=None, generator_armed=None)
    args = ['--profile', profile] if profile else []
    rc, out, err, cmd = tool.run('status', '--json', *args, ok=(0, 1, 2))
    try:
        status = json.loads(out) if rc in (0, 1) and out.strip() else {}
    except ValueError:
        status = {}
    facts['profile'] = (status.get('profile') or {}).get('name')
    facts['next_boot_carries_profile'] = (status.get('next_boot') or {}).get('carries_profile')
    facts['generator_armed'] = (status.get('generator') or {}).get('armed')
    vargs = ['--json', '--no-journal'] + args
    if p['kernel_log']:
        vargs += ['--kernel-log', p['kernel_log']]
    rc, out, err, cmd = tool.run('verify', *vargs, ok=(0, 1, 2))
    try:
        verify = json.loads(out) if rc in (0, 1) and out.strip() else {}
    except ValueError:
        verify = {}
    facts['observed_mode'] = (verify.get('observed') or {}).get('mode')
    facts['profile'] = facts['profile'] or (verify.get('profile') or {}).get('name')
    return facts


def state_verified(module, tool):
    p = module.params
    args = ['--json'] + selection_args(p, with_vendor=False)
    if p['kernel_log']:
        args += ['--kernel-log', p['kernel_log']]
    if module.check_mode:
        args.append('--no-journal')
    rc, out, err, cmd = tool.run('verify', *args, ok=(0, 1))
    res = tool.json(out, cmd)
    if res is None:
        module.fail_json(msg=iommuctl_message(err), rc=rc, cmd=cmd, stderr=err)
    checks = res.get('checks') or []
    failed = [c for c in checks if c.get('result') == 'fail']
    warned = [c for c in checks if c.get('result') == 'warn']
    verdict = res.get('verdict')
    result = dict(changed=False, reboot_required=False, verdict=verdict, failed_checks=failed, warned_checks=warned,
                  observed_mode=(res.get('observed') or {}).get('mode'),
                  profile=(res.get('profile') or {}).get('name'), verify=res, cmd=cmd)
    if rc != 0 or verdict == 'fail':
        # Each fix once: in failed_checks. The message names the checks and their evidence, and
        # neither the whole verify object nor iommuctl's text (which say the same) goes with it.
        why = '; '.join('%s: %s' % (c.get('id'), c.get('evidence')) for c in failed)
        result['msg'] = 'IOMMU verification failed for profile %s: %s%s' % (
            result['profile'], why or iommuctl_message(err), ' (fixes in failed_checks)' if failed else '')
        result['rc'] = rc
        del result['verify']
        module.fail_json(**result)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='applied', choices=['applied', 'verified', 'rolled_back', 'absent']),
            profile=dict(type='str'),
            vendor=dict(type='str', choices=['auto', 'intel', 'amd', 'arm64', 'portable']),
            root=dict(type='path'),
            backends=dict(type='list', elements='str'),
            entries=dict(type='str'),
            kernel_log=dict(type='path'),
            executable=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    tool = Iommuctl(module)
    state = module.params['state']
    if state == 'applied':
        result = state_applied(module, tool)
    elif state == 'verified':
        result = state_verified(module, tool)
    elif state == 'absent':
        result = state_absent(module, tool)
    else:
        result = state_rolled_back(module, tool)
    facts_stderr = len(tool.stderr)
    # After undo the node may have no profile left: the facts are about the one taken off.
    result['node'] = node_facts(tool, module.params, module.params['profile'] or result.get('profile'))
    # The facts' own chatter (a node without a profile) is not the run's.
    del tool.stderr[facts_stderr:]
    result['stderr'] = ''.join(tool.stderr)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
