"""Dock panel, background task and PyTorch installer of the plugin."""
