"""AWS CDK app for the sentiment API: container-image Lambda behind API Gateway, with alarms."""
