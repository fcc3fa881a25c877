"""Scenario analysis of militia attacks on coalition forces and Iraqi policy levers."""

__version__ = "0.1.0"
