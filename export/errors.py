"""Domain errors of the export pipeline: the CLI turns each into a one-line message and exit status 2."""


class ExportError(Exception):
    """Base class: an expected failure the user can fix (bad input, failed check), never a bug."""


class ConfigError(ExportError, ValueError):
    """A bad setting: the message names the field."""


class DataError(ExportError, ValueError):
    """Data that cannot be used: the message says which file or column and why."""


class ParityError(ExportError):
    """ONNX logits differ from PyTorch beyond the tolerance; the message lists every offending sample."""


class GateError(ExportError):
    """int8 lost more accuracy than allowed: nothing is published."""
