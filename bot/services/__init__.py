"""Surface-neutral services: booking and, later, polls."""
