#!/bin/sh
# Behaves like the AWS Lambda base image's entrypoint: outside Lambda (no AWS_LAMBDA_RUNTIME_API) the Runtime
# Interface Emulator serves the invoke API on :8080 and runs the runtime client; inside Lambda the runtime
# client talks to the real Runtime API directly.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
  exec /usr/local/bin/aws-lambda-rie python3 -m awslambdaric "$@"
fi
exec python3 -m awslambdaric "$@"
