"""Benign scenario kinds: a developer's and an administrator's everyday work."""

from __future__ import annotations

import io
import tarfile

from apt_scenarios.common import Context, Plan, q, script


def build(ctx: Context) -> Plan:
    """Compile a generated C project with make and gcc, run it, rebuild a part."""
    r = ctx.rng
    proj = ctx.work / f"{ctx.word()}-{ctx.token(4)}"
    names = r.sample(["parse", "render", "cache", "queue", "vector", "ledger", "report",
                      "signal", "buffer", "matrix", "codec", "stats"], r.randint(3, 7))
    decls = "".join(f"int {n}_run(int x);\n" for n in names)
    ctx.write(proj / "include/lib.h", f"#ifndef LIB_H\n#define LIB_H\n{decls}#endif\n")
    for i, n in enumerate(names):
        body = " + ".join(f"(x * {r.randint(2, 97)}) % {r.randint(3, 31)}"
                          for _ in range(r.randint(2, 6)))
        ctx.write(proj / f"src/{n}.c", f'#include "lib.h"\nint {n}_run(int x) {{\n'
                  f"    int acc = {i};\n    for (int k = 0; k < {r.randint(10, 500)}; k++) "
                  f"acc += {body} + k;\n    return acc;\n}}\n")
    calls = "".join(f'    printf("{n} %d\\n", {n}_run(argc + {r.randint(1, 9)}));\n'
                    for n in names)
    ctx.write(proj / "src/main.c", f'#include <stdio.h>\n#include "lib.h"\nint main(int argc, '
              f"char **argv) {{\n    (void)argv;\n{calls}    return 0;\n}}\n")
    app = r.choice(["app", "tool", ctx.word()])
    ctx.write(proj / "Makefile", (
        f"CFLAGS ?= -O{r.choice('012')} -Wall -Iinclude\nSRC := $(wildcard src/*.c)\n"
        "OBJ := $(SRC:src/%.c=build/%.o)\n"
        f"build/{app}: $(OBJ)\n\t$(CC) -o $@ $^\n"
        "build/%.o: src/%.c include/lib.h | build\n\t$(CC) $(CFLAGS) -c -o $@ $<\n"
        "build:\n\tmkdir -p build\nclean:\n\trm -rf build\n.PHONY: clean\n"))
    steps = [f"cd {q(proj)}", f"make -s -j{r.choice([1, 2])}",
             f"./build/{app} > run.out", "wc -l run.out > /dev/null"]
    later = [f"touch src/{r.choice(names)}.c && make -s",
             "make -s clean && make -s",
             "grep -c include src/*.c > /dev/null",
             f"./build/{app} x y > run2.out"]
    steps += r.sample(later, r.randint(1, 3))
    return Plan(script(ctx, steps))


def web(ctx: Context) -> Plan:
    """Serve generated pages on loopback; fetch them with curl and Python's urllib."""
    r = ctx.rng
    www = ctx.work / "site"
    pages = [f"{ctx.word()}-{ctx.token(3)}.html" for _ in range(r.randint(4, 10))]
    for p in pages:
        ctx.write(www / p, "<html><body>\n" + "".join(
            f"<div>{line}</div>\n" for line in ctx.text(r.randint(5, 60)).splitlines())
            + "</body></html>\n")
    items = ", ".join(str(r.randint(0, 999)) for _ in range(r.randint(5, 50)))
    ctx.write(www / "data.json", '{"items": [' + items + "]}\n")
    in_trace = r.random() < 0.5  # a local dev server, or a site elsewhere (untraced)
    if in_trace:
        port = ctx.free_port()
        start = (f"python3 -m http.server --bind 127.0.0.1 {port} --directory {q(www)} "
                 f">/dev/null 2>&1 &\nSRV=$!\n"
                 f"for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:{port}/ "
                 f"&& break; sleep 0.05; done\n")
        stop = "kill $SRV; wait $SRV 2>/dev/null; true"
    else:
        port = ctx.start_infra("serve", "--dir", str(www))
        start, stop = "", "true"
    base = f"http://127.0.0.1:{port}"
    fetch = r.sample(pages, r.randint(2, len(pages)))
    steps = ["mkdir -p dl"]
    steps += [f"curl -s -o dl/{p} {base}/{p}" for p in fetch]
    py_pages = r.sample(pages, r.randint(1, 2))
    steps.append("python3 - <<'EOF'\nimport json, urllib.request\n"
                 f"for p in {py_pages!r}:\n"
                 f"    body = urllib.request.urlopen('{base}/' + p, timeout=10).read()\n"
                 "    open('dl/py-' + p, 'wb').write(body)\n"
                 f"d = json.load(urllib.request.urlopen('{base}/data.json', timeout=10))\n"
                 "open('dl/sum.txt', 'w').write(str(sum(d['items'])))\nEOF")
    steps += r.sample([f"grep -l {ctx.word()} dl/*.html > hits.txt", "ls -la dl > list.txt",
                       f"curl -s -I {base}/data.json > head.txt",
                       "cat dl/*.html | wc -c > size.txt"], r.randint(1, 3))
    steps.append(stop)
    return Plan(script(ctx, steps, prelude=start), notes={"server_in_trace": in_trace})


def archive(ctx: Context) -> Plan:
    """tar/gzip/gunzip and a text pipeline (grep, sed, awk, sort, uniq, wc)."""
    r = ctx.rng
    d = f"texts-{ctx.token(3)}"
    files = [f"{ctx.word()}{i}.txt" for i in range(r.randint(3, 7))]
    for f in files:
        ctx.write(ctx.work / d / f, ctx.text(r.randint(100, 1200)))
    w1, w2 = ctx.word(), ctx.word()
    a, b = r.sample(files, 2)
    steps = r.sample([
        f"tar czf {d}.tgz {d} && mkdir -p unpacked && tar xzf {d}.tgz -C unpacked",
        f"gzip -k {d}/{a} && gunzip -c {d}/{a}.gz > {a}.copy",
        f"grep -h -i {w1} {d}/*.txt | wc -l > count.txt",
        f"sed 's/{w1}/{w2}/g' {d}/{b} > {b}.sed",
        f"awk '{{n += NF}} END {{print n}}' {d}/*.txt > words.txt",
        f"cat {d}/*.txt | tr ' ' '\\n' | sort | uniq -c | sort -rn | head -20 > freq.txt",
        f"sort -u {d}/{a} | wc -l > uniq.txt",
        f"tar tzf {d}.tgz > /dev/null 2>&1 || tar cf {d}.tar {d}",
    ], r.randint(4, 7))
    return Plan(script(ctx, steps))


def git(ctx: Context) -> Plan:
    """A local repository: commits, a branch, diff, log, merge."""
    r = ctx.rng
    repo = f"{ctx.word()}-{ctx.token(3)}"
    steps = [f"git init -q -b main {repo}", f"cd {repo}"]
    names = [f"{ctx.word()}.md" for _ in range(r.randint(2, 5))]
    for i in range(r.randint(2, 5)):
        f = r.choice(names)
        line = ctx.text(1).strip()
        steps.append(f"printf '%s\\n' {q(line)} >> {f} && git add -A && "
                     f"git commit -q -m {q(f'{ctx.word()} {i}')}")
    branch = f"feature/{ctx.word()}-{ctx.token(3)}"
    steps += [f"git checkout -q -b {branch}",
              f"printf 'x\\n' >> {names[0]} && git commit -q -am 'feature work'",
              "git checkout -q main"]
    steps += r.sample([f"git diff --stat main {branch} > ../diff.txt",
                       "git log --oneline > ../log.txt", "git status --short > /dev/null",
                       f"git merge -q --no-edit {branch}", "git show --stat HEAD > /dev/null",
                       "git branch -a > /dev/null"], r.randint(2, 5))
    return Plan(script(ctx, steps))


def package(ctx: Context) -> Plan:
    """'Install' a package: unpack, copy, chmod, manifest, checksums, drop the old one."""
    r = ctx.rng
    name = f"{ctx.word()}-{ctx.token(3)}"
    old, new = f"1.{r.randint(0, 8)}.{r.randint(0, 9)}", f"2.{r.randint(0, 8)}.{r.randint(0, 9)}"
    prefix = ctx.home / ".local/opt"
    # the previous version, already installed
    for i in range(r.randint(2, 5)):
        ctx.write(prefix / f"{name}-{old}/lib/part{i}.py", ctx.text(5))
    ctx.write(prefix / f"{name}-{old}/bin/{name}", "#!/bin/sh\necho old\n", mode=0o755)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for i in range(r.randint(3, 8)):
            data = ctx.text(r.randint(5, 40)).encode()
            info = tarfile.TarInfo(f"{name}-{new}/lib/mod{i}.py")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        tool = f"#!/bin/sh\necho {name} {new}\n".encode()
        info = tarfile.TarInfo(f"{name}-{new}/bin/{name}")
        info.size = len(tool)
        tar.addfile(info, io.BytesIO(tool))
    dist = ctx.write(ctx.work / f"dist/{name}-{new}.tar.gz", buf.getvalue())
    dest = prefix / f"{name}-{new}"
    steps = [
        f"mkdir -p staging && tar xzf {q(dist)} -C staging",
        f"mkdir -p {q(dest)} && cp -r staging/{name}-{new}/. {q(dest)}/",
        f"chmod 755 {q(dest)}/bin/{name} && chmod -R go-w {q(dest)}",
        f"find {q(dest)} -type f | sort > {q(dest)}/MANIFEST",
        f"cd {q(dest)} && sha256sum $(cat MANIFEST) > SHA256SUMS 2>/dev/null; cd {q(ctx.work)}",
        f"rm -rf {q(prefix / f'{name}-{old}')}",
        f"ln -sfn {name}-{new} {q(prefix / f'{name}-current')}",
        f"{q(dest)}/bin/{name} > version.txt",
        "rm -rf staging",
    ]
    if r.random() < 0.5:
        steps.insert(4, f"sha256sum {q(dist)} > dist.sha256")
    return Plan(script(ctx, steps))
