#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Checks one ansible-playbook run from its JSON callback output (tests/ansible/callback_plugins/iommu_test_results.py).
#
#   check-run.py RESULT.json RC EXPECTATION...
#     rc=N              ansible-playbook exited N
#     batches=H1,H2     the serial batches ran in this order, one host each, and no others
#     changed:H=N       the play recap counts N changed tasks for H
#     diff:H=TEXT       a task of H returned a diff containing TEXT
#     skipped:TASK      TASK ran nowhere (skipped or not reached) on every host
#     rebooted:H        the Reboot task rebooted H
#     verdict:H=V       the Verify task of H returned verdict V
#     untouched:H       H appears in no batch, no task result and no recap
# Prints a one-line summary; exits 1 with the reasons when an expectation does not hold.
import json
import sys


def results(run, host, task_suffix=None):
    for play in run["plays"]:
        for task in play["tasks"]:
            name = task["task"]["name"]
            if task_suffix and not name.endswith(task_suffix):
                continue
            if host in task["hosts"]:
                yield name, task["hosts"][host]


def main():
    path, rc = sys.argv[1], int(sys.argv[2])
    try:
        with open(path) as f:
            run = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"no results from ansible-playbook ({e})")
    stats = run.get("stats", {})
    bad, said = [], []
    for exp in sys.argv[3:]:
        key, _, value = exp.partition("=")
        kind, _, host = key.partition(":")
        if kind == "rc":
            if rc != int(value):
                bad.append(f"ansible-playbook exited {rc}, expected {value}")
            said.append(f"exit {rc}")
        elif kind == "batches":
            got = [sorted({h for t in p["tasks"] for h in t["hosts"]}) for p in run["plays"]]
            want = [[h] for h in value.split(",")]
            if got != want:
                bad.append(f"batches {got}, expected {want}")
            said.append("batches " + " then ".join(",".join(b) for b in got))
        elif kind == "changed":
            got = stats.get(host, {}).get("changed")
            if got != int(value):
                bad.append(f"{host}: changed={got}, expected {value}")
            said.append(f"{host} changed={got}")
        elif kind == "diff":
            diffs = [r.get("diff") for _, r in results(run, host) if r.get("diff")]
            flat = json.dumps(diffs)
            if value not in flat:
                bad.append(f"{host}: no diff with {value!r} ({flat[:200]})")
            else:
                said.append(f"{host} diff shows {value}")
        elif kind == "skipped":
            ran = [(h, r) for p in run["plays"] for t in p["tasks"] if t["task"]["name"].endswith(key[len("skipped:"):])
                   for h, r in t["hosts"].items() if not r.get("skipped")]
            if ran:
                bad.append(f"task {key[8:]} ran on {[h for h, _ in ran]}")
            said.append(f"{key[8:]} skipped")
        elif kind == "rebooted":
            got = [r.get("rebooted") for _, r in results(run, host, "Reboot")]
            if got != [True]:
                bad.append(f"{host}: Reboot results {got}, expected one reboot")
            said.append(f"{host} rebooted")
        elif kind == "verdict":
            got = [r.get("verdict") for _, r in results(run, host, "Verify what the kernel did")]
            if got != [value]:
                bad.append(f"{host}: verify verdicts {got}, expected [{value!r}]")
                msgs = [r.get("msg") for _, r in results(run, host, "Verify what the kernel did")]
                bad.append(f"{host}: {msgs}")
            said.append(f"{host} verdict {got[0] if got else None}")
            if value == "fail":
                msg = [r.get("msg") for _, r in results(run, host, "Verify what the kernel did")]
                said.append(f"({msg[0][:160] if msg and msg[0] else ''})")
        elif kind == "untouched":
            seen = list(results(run, host))
            if seen or host in stats:
                bad.append(f"{host} was touched: {[n for n, _ in seen]} {stats.get(host)}")
            said.append(f"{host} untouched")
        else:
            sys.exit(f"unknown expectation {exp!r}")
    if bad:
        sys.exit("; ".join(bad))
    print(", ".join(said))


if __name__ == "__main__":
    main()
