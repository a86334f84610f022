from tests.integration.handlers.chatworld import world

__all__ = ["world"]
