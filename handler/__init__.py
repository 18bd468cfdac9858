"""Lambda function: a torch-free sentiment classifier (onnxruntime + tokenizers) behind Powertools routes."""
