"""A small LAN made of network namespaces, for MicroTorr's multi-host tests.

A bridge and 4 hosts (veth pairs, 10.88.N.1-4/24, each host's end named
eth0), each running `microtorr daemon` on its eth0; host 1 runs the
embedded tracker. Traffic stays inside these namespaces. Everything made is
removed at the end, on failure too (processes by PID, namespaces, bridge).

Usage: lan.py MICROTORR SCENARIO
  swarm   a file shared on host 1 (upload capped) reaches hosts 2-4 through
          their inboxes; they download from each other, not only from host 1
  netem   the same with 20 ms delay and 1 % loss on host 1's link (where the
          kernel has no netem: 1 % loss each way through nftables, no delay)
  cutoff  host 1's link goes down mid-transfer: the others keep trading;
          when it comes back they all complete
Prints one JSON object; exit 0 pass, 1 fail, 77 skipped (with the reason:
no namespaces; no netem and no nftables).
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Interop"))
from harness import log_events, stop_process, wait_for, write_daemon_config  # noqa: E402

SKIP = 77
HOSTS = 4
SIZE = 12_000_000
SEED_KBPS = 1500


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


class Lan:
    def __init__(self, binary):
        self.binary = binary
        self.tag = f"mtl{os.getpid() % 100000}"
        self.bridge = f"{self.tag}br"
        self.subnet = 88
        self.root = tempfile.mkdtemp(prefix="microtorr-lan-")
        os.chmod(self.root, 0o755)
        self.daemons = {}

    def ns(self, host):
        return f"{self.tag}h{host}"

    def address(self, host):
        return f"10.{self.subnet}.0.{host}"

    def veth(self, host):
        return f"{self.tag}v{host}"

    def __enter__(self):
        try:
            sh("ip", "link", "add", self.bridge, "type", "bridge")
        except (subprocess.CalledProcessError, FileNotFoundError) as error:
            print(json.dumps({"skipped": f"cannot make network namespaces here: {getattr(error, 'stderr', error)}"}))
            sys.exit(SKIP)
        sh("ip", "link", "set", self.bridge, "up")
        for host in range(1, HOSTS + 1):
            ns = self.ns(host)
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", self.veth(host), "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "link", "set", self.veth(host), "master", self.bridge, "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.address(host)}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        return self

    def __exit__(self, *exc):
        for process in self.daemons.values():
            if process.poll() is None:
                process.kill()
                process.wait()
        for host in range(1, HOSTS + 1):
            sh("ip", "netns", "del", self.ns(host), check=False)
        sh("ip", "link", "del", self.bridge, check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def directory(self, host):
        return f"{self.root}/h{host}"

    def start(self, host, upload_kbps=0, download_kbps=0):
        home = self.directory(host)
        tracker = self.address(1)
        config = write_daemon_config(
            home, port=6881, status_listen="127.0.0.1:6880", tracker_url=f"http://{tracker}:6969/announce",
            tracker_listen=f"{tracker}:6969" if host == 1 else None, announce_interval_s=2, peer_timeout_s=10,
            interfaces=["eth0"], level="debug", upload_kbps=upload_kbps, download_kbps=download_kbps)
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(host), self.binary, "daemon", "--config", config,
             "--settle-seconds", "0.3"],
            stdout=open(f"{home}/log", "w"), stderr=subprocess.STDOUT)
        self.daemons[host] = process
        if not wait_for(lambda: "daemon.started" in self.log(host), 60):
            raise Failure(f"host {host} did not start: {self.log(host)[-2000:]}")

    def stop(self, host):
        return stop_process(self.daemons[host], 15)

    def log(self, host):
        try:
            return open(f"{self.directory(host)}/log").read()
        except OSError:
            return ""

    def events(self, host, name):
        return log_events(self.log(host), name)

    def status(self, host):
        result = sh("ip", "netns", "exec", self.ns(host), "curl", "-s", "--max-time", "5",
                    "http://127.0.0.1:6880/status", check=False)
        try:
            return json.loads(result.stdout)
        except ValueError:
            return None

    def torrent(self, host, name):
        torrents = (self.status(host) or {}).get("torrents", [])
        return next((t for t in torrents if t["name"] == name), None)


class Failure(Exception):
    pass


def share_and_fetch(lan, name, content):
    """Host 1 shares `content`; its .mtorrent goes into hosts 2-4's inboxes."""
    home = lan.directory(1)
    with open(f"{home}/{name}.tmp", "wb") as file:
        file.write(content)
    os.rename(f"{home}/{name}.tmp", f"{home}/share/{name}")
    torrent = f"{home}/torrents/{name}.mtorrent"
    if not wait_for(lambda: os.path.exists(torrent) and lan.torrent(1, name), 60, 0.1):
        raise Failure("host 1 did not share the file")
    for host in range(2, HOSTS + 1):
        shutil.copy(torrent, f"{lan.directory(host)}/inbox/{name}.mtorrent.tmp")
        os.rename(f"{lan.directory(host)}/inbox/{name}.mtorrent.tmp", f"{lan.directory(host)}/inbox/{name}.mtorrent")


def wait_complete(lan, name, content, timeout):
    digest = hashlib.sha1(content).hexdigest()

    def done():
        return all(os.path.exists(f"{lan.directory(host)}/downloads/{name}") for host in range(2, HOSTS + 1))

    if not wait_for(done, timeout, 0.25):
        progress = {host: (lan.torrent(host, name) or {}).get("progress") for host in range(2, HOSTS + 1)}
        raise Failure(f"not complete after {timeout} s: {progress}")
    for host in range(2, HOSTS + 1):
        with open(f"{lan.directory(host)}/downloads/{name}", "rb") as file:
            if hashlib.sha1(file.read()).hexdigest() != digest:
                raise Failure(f"host {host}: content differs")


def bytes_by_source(lan, host):
    """Payload bytes `host` received per peer address (from the
    `peer.disconnected` events its sessions log when they close)."""
    sources = {}
    for event in lan.events(host, "peer.disconnected"):
        address = event["peer"].rsplit(":", 1)[0]
        sources[address] = sources.get(address, 0) + int(event.get("bytes", 0))
    return sources


def impair_host_1(lan):
    """20 ms delay and 1 % loss on host 1's link with netem; where the
    kernel has no netem, 1 % loss each way with nftables inside host 1's
    namespace (no delay: nothing else in the kernel adds it). Returns what
    was applied."""
    # Both ends of the link: the bridge side shapes what host 1 receives,
    # its own eth0 what it sends (the seeder's data).
    netem = ["netem", "delay", "20ms", "loss", "1%"]
    result = sh("tc", "qdisc", "add", "dev", lan.veth(1), "root", *netem, check=False)
    if result.returncode == 0:
        sh("ip", "netns", "exec", lan.ns(1), "tc", "qdisc", "add", "dev", "eth0", "root", *netem)
        return "netem: 20 ms delay, 1 % loss each way"
    ns = ["ip", "netns", "exec", lan.ns(1), "nft"]
    commands = [["add", "table", "inet", "lossy"]]
    # Only on the link (eth0), not host 1's own loopback traffic.
    for hook, interface in (("input", "iifname"), ("output", "oifname")):
        commands.append(["add", "chain", "inet", "lossy", hook, f"{{ type filter hook {hook} priority 0; }}"])
        commands.append(["add", "rule", "inet", "lossy", hook, interface, "eth0", "meta", "l4proto", "tcp",
                         "numgen", "random", "mod", "100", "<", "1", "counter", "drop"])
    for command in commands:
        nft = sh(*ns, *command, check=False)
        if nft.returncode != 0:
            print(json.dumps({"skipped": f"no netem in this kernel ({result.stderr.strip()}) and no nftables "
                                         f"fallback ({nft.stderr.strip()})"}))
            sys.exit(SKIP)
    return "nftables: 1 % TCP loss each way on host 1 (no netem in this kernel, so no added delay)"


def scenario_swarm(lan, netem=False):
    impairment = impair_host_1(lan) if netem else None
    lan.start(1, upload_kbps=SEED_KBPS)
    for host in range(2, HOSTS + 1):
        lan.start(host)
    content = os.urandom(SIZE)
    started = time.time()
    share_and_fetch(lan, "film.bin", content)
    wait_complete(lan, "film.bin", content, 180)
    elapsed = time.time() - started
    for host in range(1, HOSTS + 1):
        if lan.stop(host) != 0:
            raise Failure(f"host {host} did not exit cleanly")
    sources = {host: bytes_by_source(lan, host) for host in range(2, HOSTS + 1)}
    from_others = {host: sum(b for a, b in s.items() if a != lan.address(1)) for host, s in sources.items()}
    report = {"seconds": round(elapsed, 2), "bytes_by_source": sources, "from_other_leechers": from_others,
              "from_other_leechers_ratio": {host: round(count / SIZE, 2) for host, count in from_others.items()},
              "seeder_sent_ratio": round(sum(s.get(lan.address(1), 0) for s in sources.values()) / SIZE, 2)}
    if impairment:
        report["impairment"] = impairment
        if impairment.startswith("nftables"):
            # Proof the loss was there: packets the rules dropped.
            listed = sh("ip", "netns", "exec", lan.ns(1), "nft", "list", "table", "inet", "lossy").stdout
            report["dropped_packets"] = sum(int(n) for n in re.findall(r"packets (\d+)", listed))
    # Host 1 sends at 1.5 MB/s; alone it would need 3 x 8 s. The others
    # must have traded: each got a real share from hosts other than host 1.
    for host, count in from_others.items():
        if count < SIZE // 10:
            raise Failure(f"host {host} got only {count} bytes from the other leechers: {report}")
    return report


def scenario_cutoff(lan):
    """Phase 1: host 1 drops off when a third of the data has arrived; the
    others stay up and waiting (nothing fails), and complete once it is back.
    Phase 2: host 1 drops off as soon as one of the others has every piece:
    the rest finish from the hosts still there while it is away."""
    lan.start(1, upload_kbps=SEED_KBPS)
    # Host 4 downloads slowly, so it is still missing pieces when another
    # host completes and host 1 goes.
    for host in range(2, HOSTS + 1):
        lan.start(host, download_kbps=700 if host == HOSTS else 0)

    def downloaded(name):
        return sum((lan.torrent(host, name) or {}).get("downloaded", 0) for host in range(2, HOSTS + 1))

    def link(state):
        sh("ip", "-n", lan.ns(1), "link", "set", "eth0", state)

    first = os.urandom(SIZE)
    share_and_fetch(lan, "first.bin", first)
    if not wait_for(lambda: downloaded("first.bin") >= SIZE, 120, 0.2):
        raise Failure("no progress before the cut")
    link("down")
    time.sleep(5)
    states = {host: (lan.torrent(host, "first.bin") or {}).get("state") for host in range(2, HOSTS + 1)}
    if any(state not in ("downloading", "waiting", "seeding") for state in states.values()):
        raise Failure(f"a host gave up while host 1 was away: {states}")
    link("up")
    resumed = time.time()
    wait_complete(lan, "first.bin", first, 180)
    report = {"states_while_host1_away": states, "seconds_to_complete_after_return": round(time.time() - resumed, 2)}

    second = os.urandom(SIZE)
    share_and_fetch(lan, "second.bin", second)
    def states():
        return [(lan.torrent(host, "second.bin") or {}).get("state") for host in range(2, HOSTS + 1)]

    if not wait_for(lambda: "seeding" in states(), 120, 0.05):
        raise Failure("no host completed the second file")
    link("down")
    report["second_file_hosts_incomplete_at_cut"] = sum(state != "seeding" for state in states())
    cut = downloaded("second.bin")
    away = time.time()
    wait_complete(lan, "second.bin", second, 90)
    report["second_file_bytes_traded_after_cut"] = downloaded("second.bin") - cut
    report["second_file_seconds_to_complete_without_host1"] = round(time.time() - away, 2)
    if report["second_file_hosts_incomplete_at_cut"] == 0 or report["second_file_bytes_traded_after_cut"] < SIZE // 10:
        raise Failure(f"nothing was left to trade without host 1: {report}")
    link("up")
    for host in range(1, HOSTS + 1):
        lan.stop(host)
    return report


def main():
    binary, scenario = sys.argv[1], sys.argv[2]
    with Lan(binary) as lan:
        try:
            if scenario == "swarm":
                report = scenario_swarm(lan)
            elif scenario == "netem":
                report = scenario_swarm(lan, netem=True)
            elif scenario == "cutoff":
                report = scenario_cutoff(lan)
            else:
                raise SystemExit(f"unknown scenario {scenario}")
        except Failure as failure:
            logs = {host: lan.log(host)[-1500:] for host in range(1, HOSTS + 1)}
            print(json.dumps({"failed": str(failure), "logs": logs}))
            sys.exit(1)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
