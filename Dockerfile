# The Lambda container image: the torch-free handler, its pinned runtime requirements and the int8 model.
# No architecture-specific step: pip picks the wheels of the platform being built (x86_64 or arm64).
# Off AWS, `make image` passes BASE_IMAGE=localhost/lambda-python-standin:<python> (see image/base/).
ARG BASE_IMAGE=public.ecr.aws/lambda/python:3.12
FROM ${BASE_IMAGE}

# Requirements first, so their layer is reused when only the model or the handler changes. Installed into
# LAMBDA_TASK_ROOT (first on the runtime's sys.path) so the pins win over anything the base ships.
# runtime.lock is the complete pinned closure: --no-deps installs exactly it, nothing resolved at build time.
COPY requirements/runtime.lock /tmp/runtime.lock
RUN pip install --no-cache-dir --no-deps --root-user-action=ignore --target "${LAMBDA_TASK_ROOT}" -r /tmp/runtime.lock \
    && rm /tmp/runtime.lock

ENV MODEL_DIR=/var/task/model \
    TOKENIZERS_PARALLELISM=false
COPY build/model/ ${LAMBDA_TASK_ROOT}/model/
COPY handler/ ${LAMBDA_TASK_ROOT}/handler/

CMD ["handler.app.lambda_handler"]
