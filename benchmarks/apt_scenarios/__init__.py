"""Recorded APT benchmark: benign and attack scenario kinds, StreamSpot-like.

Each kind is a function ``plan(ctx) -> Plan`` that writes its inputs into the run's
sandbox (``ctx.work``, a fake ``ctx.home``), starts any out-of-trace servers through
``ctx.start_infra`` (an attacker's host, which in reality is remote, is not traced),
and returns the shell script to record plus the ground truth. Everything is seeded
from ``ctx.rng``; every network address is 127.0.0.1; nothing is written outside the
sandbox. ``benchmarks/apt_record.py`` runs the kinds under strace.

Benign: ``build`` (make/gcc), ``web`` (http.server + curl + urllib), ``archive`` (tar,
gzip, grep, sed, awk, sort, wc), ``git`` (init, commits, branches, diff, log),
``package`` (unpack, copy, chmod, manifest, checksums, remove the old version).
Attacks: ``driveby`` (download, chmod +x, run a payload that archives planted
credentials, sends them to a listener and writes persistence), ``revshell`` (an
implant connects out; the listener drives /bin/sh: id, uname, ls, cat credentials).
"""

from __future__ import annotations

from apt_scenarios.attacks import driveby, revshell
from apt_scenarios.benign import archive, build, git, package, web
from apt_scenarios.common import Context, Plan

#: kind -> (plan function, is attack)
KINDS = {
    "build": (build, False),
    "web": (web, False),
    "archive": (archive, False),
    "git": (git, False),
    "package": (package, False),
    "driveby": (driveby, True),
    "revshell": (revshell, True),
}
BENIGN = tuple(k for k, (_, attack) in KINDS.items() if not attack)
ATTACKS = tuple(k for k, (_, attack) in KINDS.items() if attack)

__all__ = ["ATTACKS", "BENIGN", "KINDS", "Context", "Plan"]
