"""Inbox latency: microtorr daemon's inbox vs transmission-daemon's watch-dir.

Run inside a network namespace whose loopback has 10.77.0.1 (inbox.sh).
One tracker and one seeder (microtorr) serve a 64 MiB file; each run starts
a fresh leecher daemon, moves the torrent into its inbox / watch-dir at t0
and polls its own API (microtorr /status, Transmission RPC) every 20 ms for
the first payload byte and for verified completion.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests/Interop"))
from harness import stop_process, wait_for, write_daemon_config  # noqa: E402

ADDRESS = "10.77.0.1"
SIZE = 64 << 20


def start(args, log):
    return subprocess.Popen(args, stdout=open(log, "w"), stderr=subprocess.STDOUT)


def stop(process):
    stop_process(process, 10)


def http_json(url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as reply:
        return json.loads(reply.read())


def run_microtorr(binary, work, torrent, index):
    root = f"{work}/mt{index}"
    status_port = 6890 + index
    config = write_daemon_config(root, port=7000 + index, status_listen=f"127.0.0.1:{status_port}")
    daemon = start([binary, "daemon", "--config", config], f"{root}/log")
    try:
        if not wait_for(lambda: "daemon.started" in open(f"{root}/log").read(), 30):
            raise RuntimeError("microtorr daemon did not start")

        def torrent_state():
            try:
                torrents = http_json(f"http://127.0.0.1:{status_port}/status")["torrents"]
            except OSError:
                return None
            return torrents[0] if torrents else None

        shutil.copy(torrent, f"{root}/drop.tmp")
        t0 = time.time()
        os.rename(f"{root}/drop.tmp", f"{root}/inbox/payload.mtorrent")
        first = wait_for(lambda: (torrent_state() or {}).get("downloaded", 0) > 0 and time.time(), 60)
        done = wait_for(lambda: (torrent_state() or {}).get("state") == "seeding"
                        and os.path.exists(f"{root}/downloads/payload.bin") and time.time(), 120)
        if not first or not done:
            raise RuntimeError("microtorr did not complete: " + open(f"{root}/log").read()[-2000:])
        return first - t0, done - t0
    finally:
        stop(daemon)


def run_transmission(work, torrent, index):
    root = f"{work}/tr{index}"
    for name in ["config", "watch", "downloads"]:
        os.makedirs(f"{root}/{name}")
    rpc_port = 9091 + index
    settings = {
        "download-dir": f"{root}/downloads", "incomplete-dir-enabled": False,
        "watch-dir": f"{root}/watch", "watch-dir-enabled": True, "start-added-torrents": True,
        "rpc-enabled": True, "rpc-bind-address": "127.0.0.1", "rpc-port": rpc_port,
        "rpc-authentication-required": False, "rpc-whitelist-enabled": False,
        "dht-enabled": False, "lpd-enabled": False, "pex-enabled": False, "utp-enabled": False,
        "port-forwarding-enabled": False, "peer-port": 51413 + index, "message-level": 1,
        "speed-limit-down-enabled": False, "speed-limit-up-enabled": False,
    }
    with open(f"{root}/config/settings.json", "w") as file:
        json.dump(settings, file)
    daemon = start(["transmission-daemon", "-f", "-g", f"{root}/config"], f"{root}/log")
    session = {"id": ""}

    def rpc(method, arguments):
        body = json.dumps({"method": method, "arguments": arguments}).encode()
        for _ in range(3):
            try:
                return http_json(f"http://127.0.0.1:{rpc_port}/transmission/rpc", body,
                                 {"X-Transmission-Session-Id": session["id"]})
            except urllib.error.HTTPError as error:
                if error.code != 409:
                    raise
                session["id"] = error.headers["X-Transmission-Session-Id"]
        raise RuntimeError("rpc session")

    try:
        if not wait_for(lambda: _safe(lambda: rpc("session-get", {})), 30, 0.1):
            raise RuntimeError("transmission-daemon did not start")

        def torrent_state():
            torrents = _safe(lambda: rpc("torrent-get", {"fields": ["downloadedEver", "haveValid", "sizeWhenDone"]}))
            torrents = (torrents or {}).get("arguments", {}).get("torrents", [])
            return torrents[0] if torrents else None

        shutil.copy(torrent, f"{root}/drop.tmp")
        t0 = time.time()
        os.rename(f"{root}/drop.tmp", f"{root}/watch/payload.torrent")
        first = wait_for(lambda: (torrent_state() or {}).get("downloadedEver", 0) > 0 and time.time(), 60)
        done = wait_for(lambda: (lambda s: s and s["sizeWhenDone"] > 0 and s["haveValid"] == s["sizeWhenDone"])(torrent_state())
                        and time.time(), 120)
        if not first or not done:
            raise RuntimeError("transmission did not complete: " + open(f"{root}/log").read()[-2000:])
        return first - t0, done - t0
    finally:
        stop(daemon)


def _safe(call):
    try:
        return call()
    except (OSError, ValueError):
        return None


def main():
    binary, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.makedirs(f"{work}/seed")
    with open(f"{work}/seed/payload.bin", "wb") as file:
        file.write(os.urandom(SIZE))
    torrent = f"{work}/payload.torrent"
    subprocess.run([binary, "create", f"{work}/seed/payload.bin", "-t", f"http://{ADDRESS}:6969/announce",
                    "-o", torrent, "-v", "0"], check=True)
    tracker = start([binary, "tracker", "--listen", f"{ADDRESS}:6969", "--interval", "10"], f"{work}/tracker.log")
    seeder = start([binary, "download", torrent, "-s", f"{work}/seed/payload.bin", "-p", "6881", "-v", "0"],
                   f"{work}/seeder.log")
    try:
        time.sleep(2)
        results = {"microtorr": [], "transmission": []}
        for index in range(runs):
            results["transmission"].append(run_transmission(work, torrent, index))
            results["microtorr"].append(run_microtorr(binary, work, torrent, index))
        for name, values in results.items():
            print(f"inbox.{name}.first_byte_s: {statistics.median(v[0] for v in values):.3f}")
            print(f"inbox.{name}.complete_s: {statistics.median(v[1] for v in values):.3f}")
        for index, what in [(0, "first_byte"), (1, "complete")]:
            ours = statistics.median(v[index] for v in results["microtorr"])
            theirs = statistics.median(v[index] for v in results["transmission"])
            print(f"inbox.{what}.transmission_over_microtorr: {theirs / ours:.2f}")
    finally:
        stop(seeder)
        stop(tracker)


if __name__ == "__main__":
    main()
