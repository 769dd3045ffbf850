#!/usr/bin/python3
"""Drives python3-libtorrent for MicroTorr's interoperability tests.

make TARGET OUT PIECE_SIZE   create a v1-only torrent of TARGET (file or dir)
                             with libtorrent; print its info-hash.
inspect TORRENT DATA_ROOT    load TORRENT with libtorrent and check every
                             piece hash against the data under DATA_ROOT;
                             print a JSON report.
swarm TORRENT SEED_DIR LEECH_DIR [SECONDS]
                             a libtorrent seeder over SEED_DIR and a leecher
                             into LEECH_DIR, finding each other only through
                             the torrent's tracker; print a JSON report once
                             the leecher has every piece on disk.
seed TORRENT DATA_ROOT PORT [announce|progress]
                             seed DATA_ROOT on 127.0.0.1:PORT until killed
                             (prints "ready" once the data is checked); with
                             "announce" it also announces to the torrent's
                             trackers, with "progress" it prints
                             "up SECONDS BYTES" (payload sent) 4 times a second.
leech TORRENT OUT_DIR PEER [SECONDS]
                             download into OUT_DIR from PEER (IP:PORT) only,
                             flush, and print a JSON report with "samples":
                             [seconds, payload bytes received] 4 times a second.
recheck TORRENT DATA_ROOT    add TORRENT to a libtorrent session over the data
                             and let libtorrent itself verify every piece;
                             print {"verified": N, "pieces": M}.
"""
import hashlib
import json
import os
import sys
import time

import libtorrent as lt


def make(target, out, piece_size):
    fs = lt.file_storage()
    lt.add_files(fs, target)
    ct = lt.create_torrent(fs, int(piece_size), flags=lt.create_torrent.v1_only)
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(target)))
    with open(out, "wb") as f:
        f.write(lt.bencode(ct.generate()))
    print(lt.torrent_info(out).info_hashes().v1)


def inspect(torrent, data_root):
    ti = lt.torrent_info(torrent)
    files = ti.files()
    paths = [files.file_path(i) for i in range(ti.num_files())]
    sizes = [files.file_size(i) for i in range(ti.num_files())]

    def stream():
        for path in paths:
            with open(os.path.join(data_root, path), "rb") as f:
                while True:
                    chunk = f.read(1 << 20)
                    if not chunk:
                        break
                    yield chunk

    good = 0
    piece, index, buffer = ti.piece_length(), 0, b""
    for chunk in stream():
        buffer += chunk
        while len(buffer) >= piece and index < ti.num_pieces():
            if hashlib.sha1(buffer[:piece]).digest() == ti.hash_for_piece(index):
                good += 1
            buffer, index = buffer[piece:], index + 1
    if buffer and index < ti.num_pieces():
        if hashlib.sha1(buffer).digest() == ti.hash_for_piece(index):
            good += 1
    print(json.dumps({
        "info_hash": str(ti.info_hashes().v1),
        "name": ti.name(),
        "num_pieces": ti.num_pieces(),
        "piece_length": ti.piece_length(),
        "total_size": ti.total_size(),
        "files": [{"path": p, "length": s} for p, s in zip(paths, sizes)],
        "pieces_verified": good,
        "trackers": [t.url for t in ti.trackers()],
        "private": ti.priv(),
    }))


def recheck(torrent, data_root):
    # Adding a torrent over existing data makes libtorrent check every piece
    # with its own hashing; upload_mode keeps it from downloading anything.
    session = lt.session({
        "listen_interfaces": "127.0.0.1:0", "enable_dht": False, "enable_lsd": False,
        "enable_upnp": False, "enable_natpmp": False,
    })
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent)
    params.save_path = data_root
    params.flags = lt.torrent_flags.upload_mode
    handle = session.add_torrent(params)
    checking = (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)
    deadline = time.time() + 60
    status = handle.status()
    while time.time() < deadline:
        status = handle.status()
        if status.state == lt.torrent_status.seeding:
            break
        if status.state not in checking and status.has_metadata and time.time() > deadline - 55:
            break
        time.sleep(0.05)
    print(json.dumps({"verified": status.num_pieces, "pieces": params.ti.num_pieces()}))


def _peer_session(port=0):
    # Loopback only; no DHT/LSD/UPnP/NAT-PMP, so the tracker or a given
    # peer is the only way peers meet.
    return lt.session({
        "listen_interfaces": f"127.0.0.1:{port}", "enable_dht": False, "enable_lsd": False,
        "enable_upnp": False, "enable_natpmp": False, "enable_outgoing_utp": False,
        "enable_incoming_utp": False, "allow_multiple_connections_per_ip": True,
        # libtorrent re-announces at most every 5 minutes whatever the
        # tracker says; `microtorr tracker` (SPEC: interval 10 s, peer
        # timeout 30 s) forgets it long before (aria2c in the transfer
        # benchmark waited 260 s for the seeder to come back).
        "min_announce_interval": 5,
        "alert_mask": lt.alert.category_t.status_notification | lt.alert.category_t.storage_notification,
    })


def _flush(ses, handle):
    """Every piece verified is not every block written: flush, wait for it."""
    handle.flush_cache()
    deadline = time.time() + 10
    while time.time() < deadline:
        for alert in ses.pop_alerts():
            if isinstance(alert, lt.cache_flushed_alert):
                return True
        time.sleep(0.02)
    return False


def seed(torrent, data_root, port, mode="quiet"):
    session = _peer_session(port)
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent)
    params.save_path = data_root
    handle = session.add_torrent(params)
    if mode != "announce":
        handle.replace_trackers([])
    deadline = time.time() + 120
    while time.time() < deadline and not handle.status().is_seeding:
        time.sleep(0.05)
    print("ready" if handle.status().is_seeding else "not-seeding", flush=True)
    start = time.time()
    while True:
        time.sleep(0.25)
        if mode == "progress":
            # Payload bytes sent so far, for rate measurements.
            print(f"up {time.time() - start:.3f} {handle.status().total_payload_upload}", flush=True)


def leech(torrent, out_dir, peer, seconds="120"):
    session = _peer_session(0)
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(torrent)
    params.save_path = out_dir
    handle = session.add_torrent(params)
    handle.replace_trackers([])
    host, port = peer.rsplit(":", 1)
    handle.connect_peer((host, int(port)))
    start = time.time()
    deadline = start + float(seconds)
    samples = []
    while time.time() < deadline and not handle.status().is_seeding:
        if not handle.status().num_peers:
            handle.connect_peer((host, int(port)))
        time.sleep(0.05)
        if not samples or time.time() - start - samples[-1][0] >= 0.25:
            samples.append((round(time.time() - start, 3), handle.status().total_payload_download))
    finished = handle.status().is_seeding
    elapsed = time.time() - start
    flushed = _flush(session, handle)
    print(json.dumps({"finished": finished, "flushed": flushed, "seconds": round(elapsed, 3), "samples": samples}))


def swarm(torrent, seed_dir, leech_dir, seconds="60"):
    ti = lt.torrent_info(torrent)
    seeder, leecher = _peer_session(), _peer_session()
    seed_params = lt.add_torrent_params()
    seed_params.ti, seed_params.save_path = ti, seed_dir
    seed = seeder.add_torrent(seed_params)
    leech_params = lt.add_torrent_params()
    leech_params.ti, leech_params.save_path = lt.torrent_info(torrent), leech_dir
    leech = leecher.add_torrent(leech_params)
    start = time.time()
    deadline = start + float(seconds)
    while time.time() < deadline and not leech.status().is_seeding:
        time.sleep(0.05)
    finished = leech.status().is_seeding
    elapsed = time.time() - start
    flushed = _flush(leecher, leech)
    print(json.dumps({
        "finished": finished, "flushed": flushed, "seconds": round(elapsed, 3),
        "seeder_trackers_ok": any(t.get("fails", 0) == 0 and t.get("verified", False) for t in seed.trackers()),
        "leecher_peers_seen": leech.status().list_peers,
    }))


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"make": make, "inspect": inspect, "recheck": recheck, "swarm": swarm, "seed": seed, "leech": leech}[command](*args)
