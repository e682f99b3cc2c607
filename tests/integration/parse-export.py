#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reads an 'iommuctl export' output the way its consumer would and prints the kernel arguments
it carries, one per line. Exits non-zero when the document is not what the consumer expects.

  parse-export.py machineconfig FILE ROLE NAME
  parse-export.py bootc FILE ARCH
"""
import sys
import tomllib

import yaml


def fail(msg):
    print(f'parse-export: {msg}', file=sys.stderr)
    sys.exit(1)


def machineconfig(path, role, name):
    with open(path, encoding='utf-8') as f:
        docs = list(yaml.safe_load_all(f))
    if len(docs) != 1:
        fail(f'expected one YAML document, got {len(docs)}')
    doc = docs[0]
    if doc.get('apiVersion') != 'machineconfiguration.openshift.io/v1':
        fail(f'apiVersion is {doc.get("apiVersion")!r}')
    if doc.get('kind') != 'MachineConfig':
        fail(f'kind is {doc.get("kind")!r}')
    meta = doc.get('metadata') or {}
    if meta.get('name') != name:
        fail(f'metadata.name is {meta.get("name")!r}, expected {name!r}')
    if meta.get('labels') != {'machineconfiguration.openshift.io/role': role}:
        fail(f'metadata.labels is {meta.get("labels")!r}')
    spec = doc.get('spec')
    if set(spec) != {'kernelArguments'}:
        fail(f'spec has {sorted(spec)}')
    args = spec['kernelArguments']
    if not isinstance(args, list) or not all(isinstance(a, str) and a and ' ' not in a for a in args):
        fail(f'kernelArguments must be a list of single tokens: {args!r}')
    return args


def bootc(path, arch):
    with open(path, 'rb') as f:
        doc = tomllib.load(f)
    if set(doc) != {'kargs', 'match-architectures'}:
        fail(f'unexpected keys {sorted(doc)}')
    if doc['match-architectures'] != [arch]:
        fail(f'match-architectures is {doc["match-architectures"]!r}, expected [{arch!r}]')
    args = doc['kargs']
    if not isinstance(args, list) or not all(isinstance(a, str) and a and ' ' not in a for a in args):
        fail(f'kargs must be a list of single tokens: {args!r}')
    return args


def main(argv):
    if len(argv) < 3:
        fail(__doc__)
    if argv[1] == 'machineconfig' and len(argv) == 5:
        args = machineconfig(argv[2], argv[3], argv[4])
    elif argv[1] == 'bootc' and len(argv) == 4:
        args = bootc(argv[2], argv[3])
    else:
        fail(__doc__)
    for a in args:
        print(a)


if __name__ == '__main__':
    main(sys.argv)
