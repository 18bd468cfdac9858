# The Lambda container image: the torch-free handler, its pinned runtime requirements and the int8 model.
# No architecture-specific step: pip picks the wheels of the platform being built (x86_64 or arm64).
# Off AWS, `make image` passes BASE_IMAGE=localhost/lambda-python-standin:<python> (see image/base/).
# The AWS base is pinned by digest, the multi-arch index of public.ecr.aws/lambda/python:3.12 (x86_64 and
# arm64): the tag moves with every AWS rebuild, the digest does not. To take a newer base, look its digest up
# (`docker buildx imagetools inspect public.ecr.aws/lambda/python:3.12`, the "Digest:" line, or
# `crane digest public.ecr.aws/lambda/python:3.12`), put it here, rebuild and run `make image-test`; or pass
# one for a single build with `--build-arg BASE_IMAGE=public.ecr.aws/lambda/python:3.12@sha256:<digest>`.
ARG BASE_IMAGE=public.ecr.aws/lambda/python:3.12@sha256:e6f5e8e6607c461c49488f2e02204960e64054034dca27653bb998c78a194597
FROM ${BASE_IMAGE}

# Requirements first, so their layer is reused when only the model or the handler changes. Installed into
# LAMBDA_TASK_ROOT (first on the runtime's sys.path) so the pins win over anything the base ships.
# runtime.lock is the complete pinned closure: --no-deps installs exactly it, nothing resolved at build time,
# and --require-hashes installs only the wheels whose sha256 it lists (requirements/lock.py writes them).
# image/trim.py then drops, in the same layer, what the handler never loads (ORT's C API library and tools,
# test suites, lazily loaded numpy subpackages, headers, stubs: about 67 MB); bytecode stays, since /var/task
# is read-only on Lambda.
COPY requirements/runtime.lock image/trim.py /tmp/
RUN pip install --no-cache-dir --no-deps --require-hashes --only-binary=:all: --root-user-action=ignore \
        --target "${LAMBDA_TASK_ROOT}" -r /tmp/runtime.lock \
    && python3 /tmp/trim.py "${LAMBDA_TASK_ROOT}" \
    && rm /tmp/runtime.lock /tmp/trim.py

ENV MODEL_DIR=/var/task/model \
    TOKENIZERS_PARALLELISM=false
COPY build/model/ ${LAMBDA_TASK_ROOT}/model/
COPY handler/ ${LAMBDA_TASK_ROOT}/handler/

CMD ["handler.app.lambda_handler"]
