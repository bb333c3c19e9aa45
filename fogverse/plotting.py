"""The one way a Siaga command gets matplotlib: files only (the Agg backend, no display), and one
clear error when the optional ``plot`` extra is not installed."""

from __future__ import annotations

INSTALL_HINT = 'pip install -e ".[plot]"'


class PlottingUnavailable(RuntimeError):
    """matplotlib is not installed."""


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend, or :class:`PlottingUnavailable` saying how to get it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlottingUnavailable(f"plotting needs matplotlib: {INSTALL_HINT}") from None
    return plt
