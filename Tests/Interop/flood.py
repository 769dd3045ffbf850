#!/usr/bin/python3
"""A connection flood for MicroTorr's reliability tests (127.0.0.1 only).

flood.py PORT COUNT SECONDS MODE
    keeps COUNT TCP connections to 127.0.0.1:PORT open for SECONDS,
    opening a new one whenever the server closes one (at most 25 per
    10 ms round). MODE "idle" sends nothing; "garbage" sends 68 random
    bytes on each connection. Prints "holding" once COUNT connections were
    opened, then a JSON report: opened, closed_by_server, refused.
"""
import json
import os
import resource
import selectors
import socket
import sys
import time


def main():
    port, count, seconds, mode = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    selector = selectors.DefaultSelector()
    opened = closed = refused = 0
    holding = False
    deadline = time.time() + seconds
    while time.time() < deadline:
        round_opened = 0
        while len(selector.get_map()) < count and round_opened < 25 and time.time() < deadline:
            round_opened += 1
            sock = socket.socket()
            sock.settimeout(1)
            try:
                sock.connect(("127.0.0.1", port))
                if mode == "garbage":
                    sock.send(os.urandom(68))
            except OSError:
                refused += 1
                sock.close()
                continue
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
            opened += 1
        if not holding and opened >= count:
            holding = True
            print("holding", flush=True)
        for key, _ in selector.select(timeout=0.01):
            try:
                data = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                closed += 1
                selector.unregister(key.fileobj)
                key.fileobj.close()
    for key in list(selector.get_map().values()):
        key.fileobj.close()
    print(json.dumps({"opened": opened, "closed_by_server": closed, "refused": refused}), flush=True)


if __name__ == "__main__":
    main()
