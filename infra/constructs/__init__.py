"""One construct per concern: the function, the REST API, the alarms and dashboard."""
