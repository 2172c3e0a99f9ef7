"""Order-processing domain shared by every Lambda function: models, rules, ports, services and adapters.

`models`, `rules`, `ports` and `services` know nothing of Lambda or boto3; `adapters` implement the ports on
AWS (DynamoDB, SNS, Step Functions) and `observability` holds the Powertools logger, tracer and metrics.
"""
