"""Drop-to-announced latency and many-file start-up of microtorr daemon."""
import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import datetime

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests/Interop"))
from harness import free_port, log_events, stop_process, wait_for, write_daemon_config  # noqa: E402


class Daemon:
    def __init__(self, binary, root, level="info", ports=None):
        self.root = root
        # A restart keeps its ports: a moved tracker would (rightly) rewrite
        # every .mtorrent, which is not what "restart" measures.
        self.status_port, tracker_port, peer_port = ports or (free_port(), free_port(), free_port())
        config = write_daemon_config(
            root, port=peer_port, status_listen=f"127.0.0.1:{self.status_port}",
            tracker_url=f"http://127.0.0.1:{tracker_port}/announce", tracker_listen=f"127.0.0.1:{tracker_port}",
            interfaces=["lo"], level=level)
        self.log_path = f"{root}/log-{time.time()}"
        self.started = time.time()
        self.process = subprocess.Popen([binary, "daemon", "--config", config],
                                         stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT)

    def log(self):
        return open(self.log_path).read()

    def events(self, name):
        return log_events(self.log(), name)

    def status(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.status_port}/status", timeout=30) as reply:
                return json.loads(reply.read())
        except OSError:
            return None

    def peak_rss_mib(self):
        for line in open(f"/proc/{self.process.pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0

    def cpu_seconds(self):
        fields = open(f"/proc/{self.process.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        started = time.time()
        code = stop_process(self.process, 30)
        return code, time.time() - started


def timestamp(event):
    return datetime.fromisoformat(event["ts"].replace("Z", "+00:00")).timestamp()


def drop_to_announced(binary, work, label, size):
    root = f"{work}/drop-{label}"
    daemon = Daemon(binary, root, level="debug")
    try:
        if not wait_for(lambda: daemon.events("daemon.started"), 30):
            raise RuntimeError("daemon did not start")
        source = f"{root}/payload-{label}.bin"
        with open(source, "wb") as file:
            for _ in range(size // (1 << 20) or 1):
                file.write(os.urandom(min(size, 1 << 20)))
        # Page cache warm for both, as for a file just written.
        subprocess.run(["cat", source], stdout=subprocess.DEVNULL, check=True)
        mk_started = time.time()
        subprocess.run(["mktorrent", "-l", "20", "-a", "http://127.0.0.1:1/announce", "-o", f"{root}/mk.torrent", source],
                       stdout=subprocess.DEVNULL, check=True)
        mktorrent = time.time() - mk_started
        dropped = time.time()
        os.rename(source, f"{root}/share/payload-{label}.bin")
        created = wait_for(lambda: daemon.events("torrent.created"), 600)
        if not created:
            raise RuntimeError("no torrent.created")
        info_hash = created[0]["info_hash"]
        announced = wait_for(lambda: [e for e in daemon.events("tracker.announced") if e.get("info_hash") == info_hash], 60)
        if not announced:
            raise RuntimeError("not announced")
        latency = timestamp(announced[0]) - dropped
        print(f"share.drop_to_announced.{label}_s: {latency:.3f}")
        print(f"share.drop_to_torrent_created.{label}_s: {timestamp(created[0]) - dropped:.3f}")
        print(f"share.mktorrent_hash.{label}_s: {mktorrent:.3f}")
        print(f"share.drop_to_announced_over_mktorrent.{label}: {latency / mktorrent:.2f}")
    finally:
        daemon.stop()


def many_files(binary, work, count):
    root = f"{work}/many"
    os.makedirs(f"{root}/share")
    for index in range(count):
        with open(f"{root}/share/file-{index:05d}.txt", "wb") as file:
            file.write(os.urandom(1024 + index % 3072))
    old = time.time() - 60
    for name in os.listdir(f"{root}/share"):
        os.utime(f"{root}/share/{name}", (old, old))
    ports = (free_port(), free_port(), free_port())
    for run in ["first_start", "restart"]:
        daemon = Daemon(binary, root, ports=ports)

        def all_seeding():
            status = daemon.status()
            torrents = (status or {}).get("torrents", [])
            return len(torrents) == count and all(t["state"] == "seeding" for t in torrents)

        if not wait_for(all_seeding, 1800, 0.5):
            raise RuntimeError(f"{run}: not all seeding")
        elapsed = time.time() - daemon.started
        rss = daemon.peak_rss_mib()
        # GET /status with every torrent listed (built on an event loop).
        timings = []
        for _ in range(5):
            started = time.time()
            daemon.status()
            timings.append(time.time() - started)
        status_seconds = sorted(timings)[2]
        # Idle cost of seeding them all (announces every 10 s, timers).
        before = daemon.cpu_seconds()
        time.sleep(10)
        idle_percent = (daemon.cpu_seconds() - before) * 10
        created = len(daemon.events("torrent.created"))
        code, stop_seconds = daemon.stop()
        print(f"share.{count}_files.{run}.seconds: {elapsed:.2f}")
        print(f"share.{count}_files.{run}.peak_rss_mib: {rss:.1f}")
        print(f"share.{count}_files.{run}.hashed: {created}")
        print(f"share.{count}_files.{run}.idle_cpu_percent_of_one_core: {idle_percent:.0f}")
        print(f"share.{count}_files.{run}.status_request_s: {status_seconds:.3f}")
        print(f"share.{count}_files.{run}.sigterm_stop_s: {stop_seconds:.2f}")
        print(f"share.{count}_files.{run}.exit_status: {code}")


def main():
    binary, work, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    drop_to_announced(binary, work, "1MB", 1_000_000)
    drop_to_announced(binary, work, "1GiB", 1 << 30)
    many_files(binary, work, count)


if __name__ == "__main__":
    main()
