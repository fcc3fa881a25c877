"""Scenario layer: a TOML file becomes one frozen, validated Scenario; imports nothing else of sim."""
