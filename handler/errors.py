"""Domain errors of the handler. They carry no HTTP knowledge: app.py maps them to status codes."""


class SentimentError(Exception):
    """Base class, so callers (and export/) can catch every error the handler raises on purpose."""


class ArtifactError(SentimentError):
    """The model directory is missing a file or breaks the artifact contract (see manifest.json)."""


class PayloadTooLargeError(SentimentError):
    """The request body is bigger than the configured limit; raised before the body is parsed."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"request body is {size} bytes; the limit is {limit} bytes")
        self.size = size
        self.limit = limit
