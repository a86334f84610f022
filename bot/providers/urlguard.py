"""Calendar addresses people type in chat must point at the internet, not into the bot's own network.

A CalDAV server address or a feed URL is fetched by the bot; without a check, "connect caldav" with
``http://169.254.169.254/`` or ``http://localhost:5432/`` would make the bot probe its own network (SSRF).  The host
is resolved and every address it resolves to must be global.  A self-hosted bot whose calendars live on the same
network sets ``CALENDAR_ALLOW_PRIVATE_HOSTS=1`` (the tests do, for their loopback Radicale).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = ["PrivateAddress", "check_public_url"]


class PrivateAddress(ValueError):
    """The address is not on the public internet (or cannot be found); the message is for the person."""


async def check_public_url(url: str) -> None:
    host = urlsplit(url).hostname
    if not host:
        raise PrivateAddress("That address has no server name in it.")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise PrivateAddress(f"I could not find the server {host}; check the address.") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_global:
            raise PrivateAddress(
                f"{host} is inside a private network, so I will not connect to it. Use the address your calendar "
                "provider gives for the internet."
            )
