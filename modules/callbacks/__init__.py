"""Lightning callbacks a config can add under ``callbacks``."""
