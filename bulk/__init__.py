"""Bulk scoring: a file on this machine (`make score`), or an S3 prefix on AWS through the stack's Step
Functions Distributed Map (`make bulk`, `make bulk-status`), with the serving code (handler/rows.py).
Torch-free, like the handler: it needs the runtime requirements plus requirements/bulk.txt."""
