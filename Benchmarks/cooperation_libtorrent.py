#!/usr/bin/python3
"""libtorrent's figure for the cooperation benchmark: a seeder capped at
RATE bytes/s (loopback included, through the peer class filter) and two
leechers connected to it and to each other. Prints `name: value` lines.

cooperation_libtorrent.py TORRENT SEED_DIR WORK_DIR RATE
"""
import os
import sys
import time

import libtorrent as lt

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Interop"))
from libtorrent_tool import _peer_session as session  # noqa: E402  (the tests' loopback-only settings)
from harness import wait_for  # noqa: E402


def main():
    torrent, seed_dir, work, rate = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    info = lt.torrent_info(torrent)
    sessions, handles = [], []
    for index, save in enumerate([seed_dir, f"{work}/lt1", f"{work}/lt2"]):
        ses = session(0)
        if index == 0:
            ses.apply_settings({"upload_rate_limit": rate})
            # Without this, libtorrent exempts local peers from its limits.
            flt = lt.ip_filter()
            flt.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
            ses.set_peer_class_filter(flt)
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(torrent)
        params.save_path = save
        handle = ses.add_torrent(params)
        handle.replace_trackers([])
        sessions.append(ses)
        handles.append(handle)
    if not wait_for(lambda: handles[0].status().is_seeding, 120, 0.05):
        sys.exit("the libtorrent seeder did not finish checking its data in 120 s")
    ports = [ses.listen_port() for ses in sessions]
    start = time.time()
    done = {}
    deadline = start + 600
    while time.time() < deadline and len(done) < 2:
        for index in (1, 2):
            handle = handles[index]
            if handle.status().num_peers < 2:
                for other in range(3):
                    if other != index:
                        handle.connect_peer(("127.0.0.1", ports[other]))
            if index not in done and handle.status().is_seeding:
                done[index] = time.time() - start
        time.sleep(0.05)
    sent = handles[0].status().total_payload_upload
    size = info.total_size()
    slowest = max(done.values()) if len(done) == 2 else float("nan")
    ideal = size / rate
    print(f"cooperation.libtorrent.seconds: {slowest:.2f}")
    print(f"cooperation.libtorrent.ratio: {slowest / ideal:.2f}")
    print(f"cooperation.libtorrent.seeder_sent_ratio: {sent / size:.2f}")


if __name__ == "__main__":
    main()
