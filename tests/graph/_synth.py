"""Synthetic provenance graphs shaped like recorded Linux runs, for fast tests.

Benign runs: a shell runs a build (make -> cc per source file: read .c and headers,
write .o; ld links), a fetch (curl connects to a loopback server and writes a page) and
text processing (grep, sort over text files). An attack run adds a drive-by download:
curl fetches a payload, the shell chmods and runs it; the payload reads credential
files, tar archives them, and the payload connects to a listener and sends the archive.
Names, counts and timings are randomised from the seed.
"""

from __future__ import annotations

import numpy as np

from riskscope.graph.schema import GraphBuilder, ProvenanceGraph


def _t(state):
    state[0] += int(state[1].integers(1_000, 2_000_000))
    return state[0]


def run_graph(seed: int, *, attack: bool = False, name: str | None = None
              ) -> tuple[ProvenanceGraph, np.ndarray]:
    """One run's graph and its node labels (True: part of the attack)."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder(source="synthetic", name=name or f"{'attack' if attack else 'benign'}-{seed}")
    clock = [1_700_000_000_000_000_000 + seed * 10**12, rng]
    bad: set[int] = set()
    pid = [1000 + int(rng.integers(0, 5000))]

    def proc(exe, parent=None, cmd=None):
        pid[0] += int(rng.integers(1, 30))
        p = b.node(f"{pid[0]}@{clock[0]}", "process", exe, cmdline=cmd or exe, pid=pid[0])
        if parent is not None:
            b.edge(parent, p, "start", _t(clock))
        b.edge(p, b.node(exe, "file", exe), "exec", _t(clock))
        for lib in ("/lib/x86_64-linux-gnu/libc.so.6", "/etc/ld.so.cache"):
            b.edge(p, b.node(lib, "file", lib), "open", _t(clock))
            b.edge(p, b.node(lib, "file", lib), "read", _t(clock))
        return p

    def file(path):
        return b.node(path, "file", path)

    home = f"/home/u{int(rng.integers(0, 9))}"
    sh = proc("/usr/bin/bash", cmd="bash run.sh")
    # build
    make = proc("/usr/bin/make", sh, "make -j2")
    proj = f"{home}/proj{int(rng.integers(0, 100))}"
    objs = []
    for k in range(int(rng.integers(3, 9))):
        cc = proc("/usr/bin/cc", make, f"cc -c src{k}.c")
        for _ in range(int(rng.integers(2, 5))):
            b.edge(cc, file(f"{proj}/src{k}.c"), "read", _t(clock))
        b.edge(cc, file("/usr/include/stdio.h"), "read", _t(clock))
        o = file(f"{proj}/src{k}.o")
        b.edge(cc, o, "create", _t(clock))
        b.edge(cc, o, "write", _t(clock))
        b.edge(cc, cc, "exit", _t(clock))
        objs.append(o)
    ld = proc("/usr/bin/ld", make, "ld -o app")
    for o in objs:
        b.edge(ld, o, "read", _t(clock))
    b.edge(ld, file(f"{proj}/app"), "write", _t(clock))
    b.edge(ld, file(f"{proj}/app"), "chmod", _t(clock))
    # fetch
    for _ in range(int(rng.integers(1, 4))):
        curl = proc("/usr/bin/curl", sh, "curl -s http://127.0.0.1:8000/index.html")
        flow = b.node(f"127.0.0.1:8000#{clock[0]}", "netflow", "127.0.0.1:8000")
        b.edge(curl, flow, "connect", _t(clock))
        b.edge(curl, flow, "send", _t(clock))
        b.edge(curl, flow, "recv", _t(clock))
        b.edge(curl, file(f"{home}/page{int(rng.integers(0, 50))}.html"), "write", _t(clock))
    # text processing
    for tool in ("/usr/bin/grep", "/usr/bin/sort"):
        p = proc(tool, sh, f"{tool.rsplit('/', 1)[1]} -n x notes.txt")
        b.edge(p, file(f"{home}/notes.txt"), "read", _t(clock))
        b.edge(p, file(f"{home}/out-{tool[-4:]}.txt"), "write", _t(clock))
    if attack:
        curl = proc("/usr/bin/curl", sh, "curl -s -o /tmp/upd.sh http://127.0.0.1:8000/u")
        flow = b.node(f"127.0.0.1:8000#a{clock[0]}", "netflow", "127.0.0.1:8000")
        b.edge(curl, flow, "connect", _t(clock))
        b.edge(curl, flow, "recv", _t(clock))
        payload_path = f"/tmp/.upd{int(rng.integers(0, 1000))}.sh"
        pf = file(payload_path)
        b.edge(curl, pf, "write", _t(clock))
        b.edge(sh, pf, "chmod", _t(clock))
        pay = proc(payload_path, sh, payload_path)
        bad |= {curl, pf, pay}
        creds = [file(f"{home}/.ssh/id_rsa"), file(f"{home}/.aws/credentials"),
                 file(f"{home}/.netrc")]
        for c in creds:
            b.edge(pay, c, "read", _t(clock))
        tar = proc("/usr/bin/tar", pay, "tar czf /tmp/.c.tgz")
        arch = file("/tmp/.c.tgz")
        for c in creds:
            b.edge(tar, c, "read", _t(clock))
        b.edge(tar, arch, "write", _t(clock))
        b.edge(pay, arch, "read", _t(clock))
        out = b.node(f"127.0.0.1:4444#{clock[0]}", "netflow", "127.0.0.1:4444")
        b.edge(pay, out, "connect", _t(clock))
        b.edge(pay, out, "send", _t(clock))
        auto = file(f"{home}/.config/autostart/upd.desktop")
        b.edge(pay, auto, "write", _t(clock))
        bad |= {tar, arch, out, auto, *creds}
    g = b.build()
    labels = np.zeros(g.n_nodes, bool)
    labels[list(bad)] = True
    return g, labels
