"""Small helpers shared by the Python harnesses (Tests/LAN, Benchmarks)."""
import json
import os
import signal
import socket
import subprocess
import time


def wait_for(condition, timeout, step=0.02):
    """Polls `condition` until it returns something true (returned) or
    `timeout` seconds pass (None): every wait is bounded."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return None


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_daemon_config(root, *, port, status_listen, tracker_url=None, tracker_listen=None, interfaces=None,
                        level="info", upload_kbps=0, download_kbps=0, announce_interval_s=None, peer_timeout_s=None):
    """Makes ROOT/{share,inbox,downloads,torrents,state} and writes
    ROOT/microtorr.yaml for `microtorr daemon`: the embedded tracker runs
    when `tracker_listen` is given. Returns the file's path."""
    for name in ["share", "inbox", "downloads", "torrents", "state"]:
        os.makedirs(f"{root}/{name}", exist_ok=True)
    lines = [f"{name}_dir: {root}/{folder}" for name, folder in
             [("share", "share"), ("inbox", "inbox"), ("download", "downloads"), ("torrent", "torrents"), ("state", "state")]]
    lines.append("tracker:")
    if tracker_url:
        lines.append(f"  url: {tracker_url}")
    lines += ["  embedded:", f"    enabled: {'true' if tracker_listen else 'false'}"]
    if tracker_listen:
        lines.append(f"    listen: {tracker_listen}")
        if announce_interval_s:
            lines.append(f"    announce_interval_s: {announce_interval_s}")
        if peer_timeout_s:
            lines.append(f"    peer_timeout_s: {peer_timeout_s}")
    lines.append("network:")
    if interfaces:
        lines.append(f"  interfaces: [{', '.join(interfaces)}]")
    lines += [f"  port: {port}", "limits:", f"  upload_kbps: {upload_kbps}", f"  download_kbps: {download_kbps}",
              "logging:", f"  level: {level}", "status:", f"  listen: {status_listen}"]
    path = f"{root}/microtorr.yaml"
    with open(path, "w") as config:
        config.write("\n".join(lines) + "\n")
    return path


def stop_process(process, timeout):
    """SIGTERM, up to `timeout` seconds, then SIGKILL; the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def log_events(text, name):
    """The JSON log lines of `text` whose event is `name`, parsed."""
    return [json.loads(line) for line in text.splitlines() if f'"event":"{name}"' in line]
