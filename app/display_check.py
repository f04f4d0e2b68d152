"""Before Qt opens a window on Linux/X11: is there a display, and are the X libraries Qt's xcb plugin needs there?

Without this, a missing library makes Qt abort (exit 134) with a message that names libxcb-cursor0 whatever is
really missing. Here the plugin itself is loaded first, so the dynamic linker names the first missing library, and
the message gives the Debian/Ubuntu package for it.
"""
from __future__ import annotations

import ctypes
import os
import re
import sys
from pathlib import Path

# The Debian/Ubuntu package of each library Qt's xcb platform plugin needs (Qt 6.5+).
PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0", "libxcb-xkb.so.1": "libxcb-xkb1", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0", "libxcb-randr.so.0": "libxcb-randr0", "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shm.so.0": "libxcb-shm0", "libxcb-sync.so.1": "libxcb-sync1", "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinput.so.0": "libxcb-xinput0", "libxcb-glx.so.0": "libxcb-glx0", "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb.so.1": "libxcb1", "libX11.so.6": "libx11-6", "libEGL.so.1": "libegl1", "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0", "libfontconfig.so.1": "libfontconfig1", "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3", "libglib-2.0.so.0": "libglib2.0-0", "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
}
APT_LINE = ("sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 "
            "libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libfontconfig1 libdbus-1-3")
_MISSING = re.compile(r"(lib[\w.+-]+?\.so(?:\.\d+)*): cannot open shared object file")


def missing_library_message(error: str) -> str | None:
    """The user's message for a dynamic-linker error, or None when it names no library."""
    match = _MISSING.search(error)
    if not match:
        return None
    library = match.group(1)
    package = PACKAGES.get(library)
    install = f"sudo apt install {package}" if package else f"install the package that provides {library}"
    return (f"the X11 window needs {library}, which is not installed: {install} (all of them at once: "
            f"{APT_LINE})")


def xcb_plugin() -> Path:
    import PySide6

    return Path(PySide6.__file__).resolve().parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"


def check_display(environ: dict[str, str] | None = None) -> str | None:
    """None when the window can open here, else one line saying why not and what to do."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return None
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if platform and platform != "xcb":
        return None                                  # offscreen, wayland, …: not the X11 plugin
    if not platform and env.get("WAYLAND_DISPLAY"):
        return None                                  # Qt picks its Wayland plugin
    if not env.get("DISPLAY"):
        return ("there is no display to open the window on: DISPLAY is not set (start DQN Studio from a desktop "
                "session, or over ssh with -X; dqn-train trains without a window)")
    plugin = xcb_plugin()
    if not plugin.exists():
        return None                                  # a Qt build without the plugin says so itself
    for target in (str(plugin), "libxcb-cursor.so.0"):       # Qt loads libxcb-cursor itself, at start
        try:
            ctypes.CDLL(target)
        except OSError as exc:
            message = missing_library_message(str(exc)) or missing_library_message(f"{target}: cannot open shared "
                                                                                   "object file")
            return message
    return None
