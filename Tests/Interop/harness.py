"""Small helpers shared by the Python harnesses (Tests/LAN, Benchmarks)."""
import socket
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
