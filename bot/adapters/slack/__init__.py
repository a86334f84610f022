"""The Slack surface: bolt app on the shared aiohttp server (``app``), pure Block Kit rendering (``blocks``),
Socket Mode (``socket_mode``)."""
