"""The one way this project starts or joins Ray.

Joining a cluster happens only when asked (``ray.address`` or ``RAY_ADDRESS``);
otherwise a private local Ray is started (``address="local"``). A bare ``ray.init()``
would silently join any cluster someone started on the machine with ``ray start``.
An address is checked before any work: a wrong one otherwise leaves ``ray.init``
retrying for minutes with nothing on the console.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from paraimage.errors import UserError

DEFAULT_GCS_PORT = 6379
REACH_TIMEOUT_S = 5.0


class RayAddressError(UserError, ValueError):
    """The configured Ray address answers nothing."""


def requested_address(configured: str | None) -> str | None:
    return configured or os.environ.get("RAY_ADDRESS") or None


def check_reachable(address: str | None, key: str = "ray.address") -> None:
    """Fail fast, naming ``key``, when ``address`` is a host:port nothing listens on.
    ``auto`` and a Ray client URL (``ray://``) are left to Ray."""
    if not address or address in ("auto", "local") or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host:
        host, port = address, str(DEFAULT_GCS_PORT)
    try:
        with socket.create_connection((host, int(port)), timeout=REACH_TIMEOUT_S):
            return
    except ValueError:
        raise RayAddressError(f"{key}: {address!r} is not host:port") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise RayAddressError(
            f"{key}: nothing answers at {address} ({reason}); start the cluster, fix the "
            "address, or leave it unset for a local Ray"
        ) from None


def connect(address: str | None = None, num_cpus: int | None = None,
            log_to_driver: bool = False) -> bool:
    """Join ``address`` (or ``RAY_ADDRESS``), else start a local Ray; nothing when Ray
    is already up in this process. True when this call started or joined it (the
    caller then shuts it down)."""
    import ray

    if ray.is_initialized():
        return False
    address = requested_address(address)
    kwargs: dict[str, Any] = {"ignore_reinit_error": True, "log_to_driver": log_to_driver}
    if address:
        check_reachable(address)
        kwargs["address"] = address
    else:
        kwargs.update(address="local", num_cpus=num_cpus, include_dashboard=False)
    ray.init(**kwargs)
    return True
