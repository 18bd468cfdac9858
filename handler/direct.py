"""Direct invokes (boto3 `invoke`, no HTTP envelope): `{"texts": [...]}` in, `{"predictions": [...]}` out.

Errors come back as the same JSON bodies the HTTP API sends, never as a Lambda function error with a
stack trace.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from handler.error_mapping import error_body, validation_error
from handler.errors import TooLargeError
from handler.models import PredictRequest
from handler.observability import logger
from handler.service import predict


def invoke(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Validate the event as a predict request and answer it."""
    try:
        request = PredictRequest.model_validate(event)
    except ValidationError as error:
        return validation_error(error.errors(include_input=False))
    try:
        return predict(request).model_dump(exclude_none=True)
    except TooLargeError as error:
        return error_body(413, str(error))
    except Exception:
        logger.exception("unhandled error")
        return error_body(500, "internal error", request_id=getattr(context, "aws_request_id", None))
