#!/usr/bin/python3
"""A deliberately bad BitTorrent seeder for MicroTorr's tests.

bad_peer.py TORRENT DATA PORT MODE
  MODE corrupt   answers every request, with one byte flipped in each block
  MODE unasked   sends blocks nobody requested as soon as it is unchoked
  MODE stall     unchokes, takes requests, never answers them
  MODE flood     answers requests correctly, but first sends the same
                 `have` message 20 000 times
  MODE hangup    answers the handshake, then closes the connection (as a
                 seed does to a seed)
  MODE slam      closes each connection at once, before any handshake
  (hangup and slam print "accepted SECONDS", monotonic clock, per connection)
Serves connections until killed; prints "ready" when listening.
"""
import hashlib
import socket
import struct
import sys
import threading
import time


def bdecode(data, i=0):
    c = data[i:i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1:end]), end + 1
    if c == b"l":
        i, out = i + 1, []
        while data[i:i + 1] != b"e":
            v, i = bdecode(data, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        i, out = i + 1, {}
        while data[i:i + 1] != b"e":
            k, i = bdecode(data, i)
            start = i
            v, i = bdecode(data, i)
            out[k] = v
            if k == b"info":
                out[b"__info_range"] = (start, i)
        return out, i + 1
    colon = data.index(b":", i)
    n = int(data[i:colon])
    return data[colon + 1:colon + 1 + n], colon + 1 + n


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError
        buf += chunk
    return buf


def serve(conn, info_hash, pieces, piece_len, content, mode):
    try:
        hs = recv_exact(conn, 68)
        if hs[28:48] != info_hash:
            return
        conn.sendall(b"\x13BitTorrent protocol" + bytes(8) + info_hash + b"-BP0001-" + b"x" * 12)
        if mode == "hangup":
            return
        count = len(pieces) // 20
        bitfield = bytearray((count + 7) // 8)
        for i in range(count):
            bitfield[i // 8] |= 0x80 >> (i % 8)
        conn.sendall(struct.pack(">IB", 1 + len(bitfield), 5) + bytes(bitfield))
        conn.sendall(struct.pack(">IB", 1, 1))  # unchoke
        if mode == "flood":
            have = struct.pack(">IBI", 5, 4, 0)
            conn.sendall(have * 20000)
        if mode == "unasked":
            for piece in range(count):
                block = content[piece * piece_len:piece * piece_len + 16384]
                conn.sendall(struct.pack(">IBII", 9 + len(block), 7, piece, 0) + block)
        while True:
            length = struct.unpack(">I", recv_exact(conn, 4))[0]
            if length == 0:
                continue
            body = recv_exact(conn, length)
            if body[0] == 6 and mode != "stall":
                piece, offset, size = struct.unpack(">III", body[1:13])
                start = piece * piece_len + offset
                block = bytearray(content[start:start + size])
                if mode == "corrupt" and block:
                    block[0] ^= 0xFF
                conn.sendall(struct.pack(">IBII", 9 + len(block), 7, piece, offset) + bytes(block))
    except (ConnectionError, OSError):
        pass
    finally:
        conn.close()


def main():
    torrent, data_path, port, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    raw = open(torrent, "rb").read()
    meta, _ = bdecode(raw)
    start, end = meta[b"__info_range"]
    info_hash = hashlib.sha1(raw[start:end]).digest()
    info = meta[b"info"]
    content = open(data_path, "rb").read()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(16)
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        if mode in ("hangup", "slam"):
            print(f"accepted {time.monotonic():.3f}", flush=True)
        if mode == "slam":
            conn.close()
            continue
        threading.Thread(target=serve, args=(conn, info_hash, info[b"pieces"], info[b"piece length"], content, mode),
                         daemon=True).start()


if __name__ == "__main__":
    main()
