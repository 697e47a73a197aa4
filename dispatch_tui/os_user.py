"""Who runs this process: the operating system's answer, never the environment.

`getpass.getuser()` trusts LOGNAME and USER, so anyone could claim to be a
shift lead by setting a variable; the real uid cannot be set that way.
"""

from __future__ import annotations

import os
import pwd


def current_login() -> str:
    """The login name of the real uid; its number if the system has no name for it."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
