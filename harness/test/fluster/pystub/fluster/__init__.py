"""Minimal stand-in for Fluster's package, for testing the workbench plugin without Fluster."""
