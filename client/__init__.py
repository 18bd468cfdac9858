"""`make invoke`: call the function with boto3 (local emulator or AWS), or the deployed API over HTTPS."""
