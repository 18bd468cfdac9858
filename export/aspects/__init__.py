"""The aspect model: a token classifier tagging aspect terms with their sentiment (`make model-aspects`)."""
