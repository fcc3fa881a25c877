"""Teaching layer: the interactive page, classroom exercises and handouts."""
