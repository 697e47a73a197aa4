"""A fresh secret written to its file once, however many processes start at once.

The audit key and the public web's form secret are both random bytes kept as hex
in a file only their owner may read. The file is written in full beside its
place and then linked into it, so that no reader ever sees half a secret and,
when two processes race, the first link wins and both use that secret.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path


def write_new_secret(path: Path, size: int, prefix: str) -> bool:
    """Write `size` random bytes as hex to `path` (mode 0600; its folder 0700 if
    made here), unless another process wrote one first: whether ours is the one.
    OSError when the folder or the file cannot be made."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix)
    try:
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (secrets.token_hex(size) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        Path(tmp).unlink(missing_ok=True)
