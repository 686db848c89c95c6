"""Out-of-trace loopback servers for the scenarios (the remote side of a real attack).

Each binds 127.0.0.1 on a free port, writes the port to ``--port-file`` and serves:

``serve --dir D``                        static HTTP files from D until killed
``sink --out F``                          accept one connection, save all bytes to F
``c2 --commands F --out F2``              accept one connection (a reverse shell), send
                                          each line of F, collect the output into F2,
                                          then send ``exit``

Standard library only; every socket has a timeout, so nothing waits forever.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import socket
import time
from pathlib import Path

TIMEOUT_S = 20.0


def _listen() -> socket.socket:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    s.settimeout(TIMEOUT_S)
    return s


def _announce(port: int, port_file: Path) -> None:
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(port))
    os.replace(tmp, port_file)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def serve(directory: Path, port_file: Path) -> None:
    handler = functools.partial(_Quiet, directory=str(directory))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
        _announce(httpd.server_address[1], port_file)
        httpd.serve_forever()


def sink(out: Path, port_file: Path) -> None:
    with _listen() as s:
        _announce(s.getsockname()[1], port_file)
        conn, _ = s.accept()
        conn.settimeout(TIMEOUT_S)
        data = bytearray()
        with conn:
            try:
                while chunk := conn.recv(65536):
                    data += chunk
                    # an HTTP client waits for a reply that never comes: stop when idle
                    conn.settimeout(0.5)
            except TimeoutError:
                pass
        out.write_bytes(bytes(data))


def c2(commands: Path, out: Path, port_file: Path) -> None:
    with _listen() as s:
        _announce(s.getsockname()[1], port_file)
        conn, _ = s.accept()
        conn.settimeout(0.3)
        transcript = []
        with conn:
            for line in [*commands.read_text().splitlines(), "exit"]:
                conn.sendall(line.encode() + b"\n")
                transcript.append(f"$ {line}")
                deadline = time.monotonic() + 2.0
                while time.monotonic() < deadline:
                    try:
                        chunk = conn.recv(65536)
                    except TimeoutError:
                        break
                    if not chunk:
                        break
                    transcript.append(chunk.decode("utf-8", "replace"))
        out.write_text("\n".join(transcript))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("role", choices=("serve", "sink", "c2"))
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--commands", type=Path)
    ap.add_argument("--port-file", type=Path, required=True)
    a = ap.parse_args()
    if a.role == "serve":
        serve(a.dir, a.port_file)
    elif a.role == "sink":
        sink(a.out, a.port_file)
    else:
        c2(a.commands, a.out, a.port_file)


if __name__ == "__main__":
    main()
