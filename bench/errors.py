"""The benchmark's one domain error: the CLI turns it into `error: ...` and exit status 2."""


class BenchError(Exception):
    """A missing artifact, unusable data or a system under test that failed to answer."""
