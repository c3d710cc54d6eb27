#!/usr/bin/env python3
"""Fails if modules import each other in a circle, in any crate or in experiments/.

An edge is a path a module names (`use super::demux::NO_SLOT`, `crate::host::Profile`) to
another module of its crate, up to its `#[cfg(test)]` module. Paths to an ancestor or a
descendant are left out: a parent and the children it declares are one unit (a child's
`use super::Host` is how Rust splits one type's methods over files).
Usage: module_cycles.py REPO"""
import os, re, sys, itertools
root = sys.argv[1]
def modname(path, src):
    rel = os.path.relpath(path, src)[:-3]
    parts = rel.split(os.sep)
    if parts[-1] in ('mod', 'lib', 'main'): parts = parts[:-1]
    return tuple(parts)
found = False
for crate in sorted(os.listdir(os.path.join(root, 'crates'))) + ['../experiments']:
    src = os.path.normpath(os.path.join(root, 'crates', crate, 'src'))
    if not os.path.isdir(src): continue
    mods = {}
    for d, _, files in os.walk(src):
        for f in files:
            if f.endswith('.rs'):
                p = os.path.join(d, f); mods[modname(p, src)] = open(p).read()
    edges = {m: set() for m in mods}
    for m, text in mods.items():
        text = text.split('#[cfg(test)]')[0]
        for path in re.findall(r'\b((?:crate|super|self)(?:::\w+)+)', text):
            parts = path.split('::')
            base = list(m)
            if parts[0] == 'crate': base = []; parts = parts[1:]
            else:
                cur = list(m)
                while parts and parts[0] in ('super', 'self'):
                    if parts[0] == 'super': cur = cur[:-1]
                    parts = parts[1:]
                base = cur
            # longest module prefix
            target = None
            for k in range(len(parts), 0, -1):
                t = tuple(base + parts[:k])
                if t in mods: target = t; break
            if target is None or target == m: continue
            if m[:len(target)] == target: continue  # an ancestor
            if target[:len(m)] == m: continue  # a descendant
            edges[m].add(target)
    # cycles: Tarjan
    index = {}; low = {}; stack = []; on = set(); sccs = []; i = [0]
    def strong(v):
        index[v] = low[v] = i[0]; i[0] += 1; stack.append(v); on.add(v)
        for w in edges[v]:
            if w not in index: strong(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: sccs.append(comp)
    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index: strong(v)
    for comp in sccs:
        found = True
        print(crate, 'cycle:', ', '.join('::'.join(c) or '(root)' for c in sorted(comp)))
if found:
    sys.exit(1)
print('module imports: no circles')
