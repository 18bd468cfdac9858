"""Domain errors of the handler. They carry no HTTP knowledge: app.py maps them to status codes."""


class SentimentError(Exception):
    """Base class, so callers (and export/) can catch every error the handler raises on purpose."""


class ArtifactError(SentimentError):
    """The model directory is missing a file or breaks the artifact contract (see manifest.json)."""


class TooLargeError(SentimentError):
    """The request asks for more than one request may (answered 413): `size` against `limit`, in `unit`."""

    unit = "units"

    def __init__(self, message: str, size: int, limit: int) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


class PayloadTooLargeError(TooLargeError):
    """The request body is bigger than the configured limit; raised before the body is parsed."""

    unit = "bytes"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"request body is {size} bytes; the limit is {limit} bytes", size, limit)


class WindowBudgetError(TooLargeError):
    """The texts need more token windows than one request may run (SENTIMENT_MAX_REQUEST_WINDOWS): raised
    after tokenizing, before the model runs, since a request's time is its windows' time."""

    unit = "windows"

    def __init__(self, windows: int, limit: int, longest: int) -> None:
        super().__init__(
            f"the texts need {windows} token windows in all (the longest text {longest}); one request runs "
            f"at most {limit}: send them in several requests (each prediction's `windows` says what a text "
            "costs)",
            windows,
            limit,
        )


class ExplanationBudgetError(TooLargeError):
    """The texts and their explanations need more token windows than one request may run: an explanation
    runs copies of its text (handler/explain.py), so they count too, before any of them runs."""

    unit = "windows"

    def __init__(self, windows: int, explanations: int, limit: int, costliest: int) -> None:
        super().__init__(
            f"explaining the texts needs {windows} token windows in all ({explanations} of them for the "
            f"explanations; the costliest text {costliest}); one request runs at most {limit}: explain fewer "
            "or shorter texts per request (a text of n words runs about 2 x sqrt(2n) copies of itself)",
            windows,
            limit,
        )
