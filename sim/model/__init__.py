"""Model layer: a Scenario and a seed become daily and event columns; no files, no processes."""
