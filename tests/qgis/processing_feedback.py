"""A Processing feedback that keeps what algorithms report, for assertions."""

from __future__ import annotations

from qgis.core import QgsProcessingFeedback


class RecordingFeedback(QgsProcessingFeedback):
    """Keeps reported errors and progress. Errors raised in ``prepareAlgorithm`` reach the user only through
    ``reportError`` (Processing then raises its generic "There were errors executing the algorithm.")."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[str] = []
        self.progress: list[float] = []
        self.progressChanged.connect(self.progress.append)

    def reportError(self, error: str, fatalError: bool = False) -> None:  # noqa: N802, N803
        self.errors.append(error)
        super().reportError(error, fatalError)
