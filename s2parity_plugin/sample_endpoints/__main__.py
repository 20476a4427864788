"""CLI: ``python -m s2parity_plugin.sample_endpoints serve [--host H] [--port N] [--cdse-port M] [--token-ttl S]
[--faults-sh "latency_s=0.3,rate_limit_burst=2"] [--faults-cdse "…"]``.

The first stdout line is the JSON of ``SampleEndpoints.info`` (flushed); the process runs until SIGINT/SIGTERM and then
shuts both servers down cleanly. Only loopback addresses are accepted unless ``--allow-non-loopback`` is given.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any, Optional

from s2parity_plugin.sample_endpoints.server import SampleEndpoints

_FAULT_KEYS = {
    "latency_s": float,
    "rate_limit_burst": int,
    "retry_after_ms": int,
    "error_rate": float,
    "truncate_rate": float,
    "truncate_mode": str,
    "expire_tokens_after": float,
    "seed": int,
}


def parse_faults(text: Optional[str]) -> dict[str, Any]:
    """``"latency_s=0.3,error_rate=0.1"`` -> ``{"latency_s": 0.3, "error_rate": 0.1}``."""
    out: dict[str, Any] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, _, val = part.partition("=")
        key = key.strip()
        if key not in _FAULT_KEYS:
            raise argparse.ArgumentTypeError(f"unknown fault {key!r}; known: {', '.join(_FAULT_KEYS)}")
        out[key] = _FAULT_KEYS[key](val)
    return out


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m s2parity_plugin.sample_endpoints")
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve", help="serve the sh + cdse sample deployments until interrupted")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="port of 'sh' (cdse: port+1); 0 = free ports")
    serve.add_argument("--cdse-port", type=int, default=None)
    serve.add_argument("--token-ttl", type=float, default=3600.0, help="token lifetime in seconds")
    serve.add_argument("--faults-sh", type=parse_faults, default={})
    serve.add_argument("--faults-cdse", type=parse_faults, default={})
    serve.add_argument("--allow-non-loopback", action="store_true")
    args = parser.parse_args(argv)

    eps = SampleEndpoints(
        host=args.host,
        port=args.port,
        token_ttl_s=args.token_ttl,
        cdse_port=args.cdse_port,
        allow_non_loopback=args.allow_non_loopback,
    )
    eps.start()
    for name, faults in (("sh", args.faults_sh), ("cdse", args.faults_cdse)):
        if faults:
            eps.set_faults(name, **faults)
    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    sys.stdout.write(json.dumps(eps.info) + "\n")
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        eps.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
