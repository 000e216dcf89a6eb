"""A GCS address ("host:port") is checked before ray.init joins it: Ray itself retries for minutes."""
from __future__ import annotations

import socket

from ..errors import YolactRuntimeError

CONNECT_TIMEOUT_S = 5.0


def check_reachable(address: str | None) -> None:
    """Raise a one-line YolactRuntimeError when nothing listens at a host:port address.

    None, "auto" and "ray://..." (Ray Client, which fails fast by itself) are left to Ray."""
    if not address or address == "auto" or "://" in address or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            return
    except (OSError, ValueError) as error:
        cause = error.strerror if isinstance(error, OSError) and error.strerror else str(error) or "timed out"
        raise YolactRuntimeError(f"--ray-address {address}: cannot join Ray (nothing answers at {address}: "
                                 f"{cause})") from None
