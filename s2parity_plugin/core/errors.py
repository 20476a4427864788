"""Errors S2 Parity shows to users. Every message says what is wrong and what to change."""


class S2ParityError(Exception):
    """Base of every user-facing S2 Parity error (shown as-is in the dock, Processing log and CLI)."""


class InputError(S2ParityError, ValueError):
    """Bad input from the user (AOI, dates, rasters, parameters)."""


class GridMismatchError(InputError):
    """Two rasters that must share a grid (CRS, geotransform, size) do not."""
