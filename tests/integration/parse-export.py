#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reads an 'iommuctl export' output the way its consumer would and prints the kernel arguments
it carries, one per line. Exits non-zero when the document is not what the consumer expects.

  parse-export.py machineconfig FILE ROLE NAME
  parse-export.py bootc FILE ARCH
  parse-export.py butane FILE REMOVED-FILE
  parse-export.py talos FILE REMOVED-FILE

  parse-export.py batch MANIFEST

butane and talos write the arguments they remove (should_not_exist, Talos' "-TOKEN") to
REMOVED-FILE, one per line. batch reads lines "FORMAT FILE REMOVED-FILE OUT-FILE" (butane or
talos) and writes each file's arguments to OUT-FILE, or "FAIL: why" there: one interpreter for
all, since starting Python with PyYAML costs about as much as the parsing of every file.
"""
import re
import sys
import tomllib

import yaml


class ParseError(Exception):
    pass


def fail(msg):
    raise ParseError(msg)


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


def tokens(what, args):
    if not isinstance(args, list) or not all(isinstance(a, str) and a and ' ' not in a for a in args):
        fail(f'{what} must be a list of single tokens: {args!r}')
    return args


def one_document(path):
    with open(path, encoding='utf-8') as f:
        docs = list(yaml.safe_load_all(f))
    if len(docs) != 1 or not isinstance(docs[0], dict):
        fail(f'expected one YAML mapping, got {docs!r}')
    return docs[0]


# Butane's fcos spec (docs/config-fcos-v1_6.md): variant and version are required strings,
# kernel_arguments holds should_exist and should_not_exist, lists of strings; Ignition refuses a
# config that lists one argument in both.
def butane(path):
    doc = one_document(path)
    if set(doc) != {'variant', 'version', 'kernel_arguments'}:
        fail(f'unexpected top-level keys {sorted(doc)}')
    if doc['variant'] != 'fcos':
        fail(f'variant is {doc["variant"]!r}')
    if not isinstance(doc['version'], str) or not re.fullmatch(r'1\.[3-9]\.0', doc['version']):
        fail(f'version {doc["version"]!r} is not a stable fcos spec with kernel_arguments (1.3.0 on)')
    ka = doc['kernel_arguments']
    if not isinstance(ka, dict) or not set(ka) <= {'should_exist', 'should_not_exist'} or 'should_exist' not in ka:
        fail(f'kernel_arguments is {ka!r}')
    add = tokens('should_exist', ka['should_exist'])
    remove = tokens('should_not_exist', ka.get('should_not_exist', []))
    if set(add) & set(remove):
        fail(f'in both lists: {sorted(set(add) & set(remove))}')
    return add, remove


# Image Factory's schematic (pkg/schematic/schematic.go, decoded with KnownFields): customization
# with extraKernelArgs, a list of strings; Talos reads "-TOKEN" as removing TOKEN.
def talos(path):
    doc = one_document(path)
    if set(doc) != {'customization'} or not isinstance(doc['customization'], dict):
        fail(f'unexpected schematic {doc!r}')
    if set(doc['customization']) != {'extraKernelArgs'}:
        fail(f'customization has {sorted(doc["customization"])}')
    args = tokens('extraKernelArgs', doc['customization']['extraKernelArgs'])
    add = [a for a in args if not a.startswith('-')]
    remove = [a[1:] for a in args if a.startswith('-')]
    if not all(remove) or set(add) & set(remove):
        fail(f'bad removals: {remove!r}')
    return add, remove


def batch(manifest):
    with open(manifest, encoding='utf-8') as f:
        for line in f:
            fmt, path, removed_path, out_path = line.split()
            with open(out_path, 'w', encoding='utf-8') as out:
                try:
                    args, removed = (butane if fmt == 'butane' else talos)(path)
                except (ParseError, yaml.YAMLError, OSError) as e:
                    out.write(f'FAIL: {e}\n')
                    continue
                out.writelines(f'{a}\n' for a in args)
            with open(removed_path, 'w', encoding='utf-8') as r:
                r.writelines(f'{a}\n' for a in removed)


def main(argv):
    if len(argv) == 3 and argv[1] == 'batch':
        batch(argv[2])
        return
    if len(argv) < 3:
        fail(__doc__)
    if argv[1] == 'machineconfig' and len(argv) == 5:
        args = machineconfig(argv[2], argv[3], argv[4])
    elif argv[1] == 'bootc' and len(argv) == 4:
        args = bootc(argv[2], argv[3])
    elif argv[1] in ('butane', 'talos') and len(argv) == 4:
        args, removed = (butane if argv[1] == 'butane' else talos)(argv[2])
        with open(argv[3], 'w', encoding='utf-8') as f:
            f.writelines(f'{a}\n' for a in removed)
    else:
        fail(__doc__)
    for a in args:
        print(a)


if __name__ == '__main__':
    try:
        main(sys.argv)
    except ParseError as e:
        print(f'parse-export: {e}', file=sys.stderr)
        sys.exit(1)
