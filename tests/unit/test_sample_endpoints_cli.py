"""``python -m s2parity_plugin.sample_endpoints serve``: first stdout line is the info JSON, clean SIGINT/SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import sample_endpoints_support as sup

from s2parity_plugin.sample_endpoints.__main__ import parse_faults
from s2parity_plugin.sample_endpoints.server import SampleEndpoints

REPO = Path(__file__).resolve().parents[2]


def start(*args: str) -> tuple[subprocess.Popen, dict]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "s2parity_plugin.sample_endpoints", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        err = proc.stderr.read()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        raise RuntimeError(f"no info line; stderr: {err}")
    return proc, json.loads(line)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_and_stops_cleanly(sig):
    proc, info = start("--token-ttl", "60", "--faults-sh", "latency_s=0.2")
    try:
        assert set(info) == {"sh", "cdse"}
        for dep in ("sh", "cdse"):
            d = info[dep]
            assert d["base_url"].startswith("http://127.0.0.1:")
            t0 = time.monotonic()
            r = sup.token_response(info, dep)
            assert r.status_code == 200 and r.json()["expires_in"] == 60
            if dep == "sh":
                assert time.monotonic() - t0 >= 0.2  # --faults-sh applied
    finally:
        proc.send_signal(sig)
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("server did not stop on signal")
        proc.stdout.close()
        proc.stderr.close()
    assert rc == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(info["sh"]["base_url"] + "/", timeout=2)


def _free_port_pair() -> int:
    """A port P with P and P + 1 both free on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    pytest.skip("no free port pair found")


def test_cli_fixed_port_pair():
    port = _free_port_pair()
    proc, info = start("--port", str(port))
    try:
        assert info["sh"]["base_url"].endswith(f":{port}") and info["cdse"]["base_url"].endswith(f":{port + 1}")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        proc.stdout.close()
        proc.stderr.close()


def test_parse_faults_and_loopback_only():
    assert parse_faults("latency_s=0.3,rate_limit_burst=2,truncate_mode=chunked") == {
        "latency_s": 0.3,
        "rate_limit_burst": 2,
        "truncate_mode": "chunked",
    }
    with pytest.raises(Exception, match="unknown fault"):
        parse_faults("nope=1")
    with pytest.raises(ValueError, match="loopback"):
        SampleEndpoints(host="0.0.0.0")
