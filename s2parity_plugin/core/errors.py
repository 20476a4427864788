"""Errors S2 Parity shows to users. Every message says what is wrong and what to change."""


class S2ParityError(Exception):
    """Base of every user-facing S2 Parity error (shown as-is in the dock, Processing log and CLI)."""


class InputError(S2ParityError, ValueError):
    """Bad input from the user (AOI, dates, rasters, parameters)."""


class GridMismatchError(InputError):
    """Two rasters that must share a grid (CRS, geotransform, size) do not."""


class AoiError(InputError):
    """The AOI is empty, not a polygon, invalid or too large for the chosen limits."""


class DateRangeError(InputError):
    """The date range is reversed, malformed or in the future."""


class PresetError(InputError):
    """Unknown preset/band, or a custom evalscript that cannot be used."""


class EndpointConfigError(InputError):
    """Unknown endpoint profile, missing base/token URL for ``custom``, or missing credentials."""


class FetchError(S2ParityError):
    """A download from one endpoint failed; ``endpoint_id`` names which side."""

    def __init__(self, message: str, endpoint_id: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.endpoint_id = endpoint_id
        self.status = status


class CredentialsError(FetchError):
    """HTTP 401 / invalid_client: the client id or secret is wrong (or the token expired and could not be renewed)."""


class AccessDeniedError(FetchError):
    """HTTP 403: the credentials are valid but the account may not use this collection/API."""


class QuotaExceededError(FetchError):
    """HTTP 429 that did not clear within the retry budget, or processing units / requests exhausted."""


class RequestRejectedError(FetchError):
    """HTTP 400-class answer other than 401/403/429 (usually an evalscript or parameter problem)."""


class ServerError(FetchError):
    """HTTP 5xx that persisted through every retry."""


class NetworkError(FetchError):
    """The endpoint could not be reached (DNS, connection refused, proxy, timeout)."""


class NoAcquisitionsError(FetchError):
    """The catalog of one or both endpoints lists no Sentinel-2 L2A acquisition in the date range over the AOI."""


class OutputFolderError(S2ParityError):
    """The output folder cannot be created or written."""


class FetchCancelled(S2ParityError):  # noqa: N818 - reads naturally: ``except FetchCancelled``
    """The user cancelled the fetch; nothing was left on disk."""
