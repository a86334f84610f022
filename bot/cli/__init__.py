"""Subcommands of the `schedbot` command line."""
