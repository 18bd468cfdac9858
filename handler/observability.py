"""Powertools logger, tracer and metrics singletons, shared by every handler module.

Service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE
(set by the CDK stack and by `make serve`); where they are unset, the stack's defaults (handler/settings.py)
stand in, since Powertools refuses to flush metrics without a namespace and every request would then fail.

Tracing: the function runs with X-Ray active tracing, so Lambda records every invocation's segments
(initialization, invocation, overhead) with no SDK in the function. Powertools' Tracer adds subsegments
(`## lambda_handler`, `## tokenize`, `## inference`) through the AWS X-Ray SDK, which is in maintenance mode
and costs about 300 ms of cold start to import (it brings botocore) and 37 MB of image. So subsegments are
opt-in (SENTIMENT_TRACE_SUBSEGMENTS=true, with aws-xray-sdk added to the image); by default the Tracer has a
provider that records nothing, the SDK is never imported and the handler is not wrapped (each warm request
would pay for the wrapper all the same: `capture_lambda_handler`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.shared.functions import strtobool
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from handler.settings import METRICS_NAMESPACE, SERVICE_NAME

TRACE_SUBSEGMENTS_ENV = "SENTIMENT_TRACE_SUBSEGMENTS"


class _NoSegment(BaseSegment):
    """What a subsegment is when none is recorded: every call does nothing."""

    def close(self, end_time: int | None = None) -> None: ...
    def add_subsegment(self, subsegment: Any) -> None: ...
    def remove_subsegment(self, subsegment: Any) -> None: ...
    def put_annotation(self, key: str, value: Any) -> None: ...
    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...
    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None: ...


class _NoSubsegment(AbstractContextManager[BaseSegment]):
    """`in_subsegment` when none is recorded: one object, entered twice a request. A generator-based
    context manager, built anew each time, cost 20 us more of a warm request (its code is cold in the CPU
    caches after each model run; bench/README.md)."""

    segment = _NoSegment()

    def __enter__(self) -> BaseSegment:
        return self.segment

    def __exit__(self, *exc_info: object) -> None:
        return None


_NO_SUBSEGMENT = _NoSubsegment()


class LambdaSegmentsOnly(BaseProvider):
    """A Tracer provider that adds nothing to the segments Lambda's active tracing records."""

    def in_subsegment(  # type: ignore[override]  # callers only enter it: any segment context will do
        self, name: str | None = None, **kwargs: Any
    ) -> AbstractContextManager[BaseSegment]:
        return _NO_SUBSEGMENT

    @asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AsyncIterator[BaseSegment]:
        yield _NoSegment()

    def put_annotation(self, key: str, value: Any) -> None: ...
    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...
    def patch(self, modules: Sequence[str]) -> None: ...
    def patch_all(self) -> None: ...


def make_tracer() -> Tracer:
    """Powertools' X-Ray Tracer when SENTIMENT_TRACE_SUBSEGMENTS is true, else one that imports no SDK.

    Raises:
        ValueError: SENTIMENT_TRACE_SUBSEGMENTS is not a boolean word.
        ModuleNotFoundError: subsegments asked for, but aws-xray-sdk is not installed.
    """
    if strtobool(os.environ.get(TRACE_SUBSEGMENTS_ENV, "false")):
        try:
            import aws_xray_sdk  # noqa: F401  (Tracer imports it lazily: fail here, with the fix)
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                f"{TRACE_SUBSEGMENTS_ENV}=true needs aws-xray-sdk: add it to requirements/runtime.lock"
            ) from exc
        return Tracer()
    return Tracer(provider=LambdaSegmentsOnly(), disabled=False, auto_patch=False)


_SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE_NAME
_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or METRICS_NAMESPACE
logger = Logger(service=_SERVICE)
tracer = make_tracer()
metrics = Metrics(namespace=_NAMESPACE, service=_SERVICE)

Handler = TypeVar("Handler", bound=Callable[..., Any])


def capture_lambda_handler(handler: Handler) -> Handler:
    """Powertools' `## lambda_handler` subsegment around `handler` when subsegments are recorded; else
    `handler` itself: a subsegment that nothing records only costs (about 80 us of every warm request,
    bench/README.md), and Lambda's own segments time the invocation."""
    if isinstance(tracer.provider, LambdaSegmentsOnly):
        return handler
    return tracer.capture_lambda_handler(capture_response=False)(handler)


# /health, /model and the docs emit no metrics by design; Powertools would warn on every such request.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
