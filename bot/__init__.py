"""schedbot: a chat-first scheduler for coaching and mentoring sessions."""

__all__ = ["__version__"]

__version__ = "0.1.0"
