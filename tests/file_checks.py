"""Helpers for tests that check what a command wrote (or did not write)."""

import os


def snapshot(folder):
    """`{relative path: bytes}` of every file under `folder`."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, folder)] = f.read()
    return files
