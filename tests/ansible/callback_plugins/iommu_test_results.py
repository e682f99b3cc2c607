# SPDX-License-Identifier: LGPL-2.1-or-later
# For tests/ansible only: every play (serial batch), task and host result of a run, and the recap,
# as one JSON object in the file $IOMMU_TEST_RESULTS (ansible-core 2.14 has no json callback;
# that one lives in ansible.posix). The screen output stays the default callback's.
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: iommu_test_results
type: aggregate
short_description: Write a run's results as JSON for the iommuctl tests
description:
  - Writes plays, tasks, per-host results and the recap to the file named by IOMMU_TEST_RESULTS.
requirements:
  - enable in configuration (callbacks_enabled)
'''

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'iommu_test_results'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.plays = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({'play': {'name': play.get_name()}, 'tasks': []})

    def _task(self, task):
        if not self.plays:
            self.plays.append({'play': {'name': 'adhoc'}, 'tasks': []})
        tasks = self.plays[-1]['tasks']
        if not tasks or tasks[-1]['_uuid'] != task._uuid:
            tasks.append({'task': {'name': task.get_name()}, 'hosts': {}, '_uuid': task._uuid})
        return tasks[-1]

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task(task)

    def _record(self, result, **extra):
        r = dict(self._clean_results(result._result, result._task.action) or result._result)
        r.update(extra)
        self._task(result._task)['hosts'][result._host.get_name()] = r

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        for play in self.plays:
            for task in play['tasks']:
                task.pop('_uuid', None)
        out = {'plays': self.plays,
               'stats': dict((h, stats.summarize(h)) for h in sorted(stats.processed.keys()))}
        path = os.environ.get('IOMMU_TEST_RESULTS')
        if path:
            with open(path, 'w') as f:
                json.dump(out, f, default=str)
