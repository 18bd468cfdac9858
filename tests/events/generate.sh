#!/usr/bin/env bash
# Regenerates the API Gateway events in this folder with SAM CLI's own generator. SAM lives in its own venv
# (it pins boto3/pydantic versions that clash with the project's):
#   python3 -m venv .venv-sam && .venv-sam/bin/pip install aws-sam-cli==1.170.0
#   bash tests/events/generate.sh
# Tests load these and change only the method, path or body (see tests/handler/events.py).
set -euo pipefail
cd "$(dirname "$0")"
export SAM_CLI_TELEMETRY=0
sam=../../.venv-sam/bin/sam
body='{"text": "Great blender, crushes ice in seconds."}'
"$sam" local generate-event apigateway aws-proxy --method POST --path predict --resource /predict \
    --body "$body" > rest_v1_post_predict.json
"$sam" local generate-event apigateway aws-proxy --method GET --path health --resource /health \
    --body "" > rest_v1_get_health.json
"$sam" local generate-event apigateway http-api-proxy --method POST --path predict --body "$body" \
    > http_v2_post_predict.json
"$sam" local generate-event apigateway http-api-proxy --method GET --path health --body "" \
    > http_v2_get_health.json
