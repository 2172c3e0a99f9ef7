"""AWS list prices the cost figures use: us-east-1, on-demand, USD, free tiers ignored.

Each constant names its pricing page and the date of the price. The project cannot reach AWS (no network at
run time), so these are read by a person and written here; `PRICES_AS_OF` is when they were last checked.
Update them together, and the README's Performance section quotes whatever this file says."""

from __future__ import annotations

from dataclasses import dataclass

PRICES_AS_OF = "2026-11-24"
REGION = "us-east-1"


@dataclass(frozen=True)
class Price:
    usd: float
    per: str
    source: str
    note: str = ""


# Step Functions: https://aws.amazon.com/step-functions/pricing/
SFN_STANDARD_TRANSITION = Price(
    0.025 / 1000,
    "state transition (Standard; every retry attempt is one more)",
    "https://aws.amazon.com/step-functions/pricing/",
)
SFN_EXPRESS_REQUEST = Price(
    1.00 / 1_000_000, "Express execution started", "https://aws.amazon.com/step-functions/pricing/"
)
SFN_EXPRESS_GB_SECOND = Price(
    0.06 / 3600,
    "Express GB-second (first 1,000 GB-hours a month; $0.06 per GB-hour)",
    "https://aws.amazon.com/step-functions/pricing/",
    "duration rounded up to 100 ms, memory billed in 64 MB chunks",
)
SFN_EXPRESS_MEMORY_MB = 64  # 50 MB + definition + payload x parallel branches stays within one 64 MB chunk here

# Lambda: https://aws.amazon.com/lambda/pricing/ (the functions are arm64)
LAMBDA_REQUEST = Price(0.20 / 1_000_000, "Lambda request", "https://aws.amazon.com/lambda/pricing/")
LAMBDA_ARM_GB_SECOND = Price(
    0.0000133334,
    "Lambda GB-second, arm64 (first 7.5 billion GB-seconds a month)",
    "https://aws.amazon.com/lambda/pricing/",
    "duration billed per 1 ms",
)

# DynamoDB on-demand: https://aws.amazon.com/dynamodb/pricing/on-demand/ (the 2024-11-01 price, halved from 2023)
DYNAMODB_WRITE_UNIT = Price(
    0.625 / 1_000_000, "write request unit", "https://aws.amazon.com/dynamodb/pricing/on-demand/"
)
DYNAMODB_READ_UNIT = Price(0.125 / 1_000_000, "read request unit", "https://aws.amazon.com/dynamodb/pricing/on-demand/")

# SQS standard queues: https://aws.amazon.com/sqs/pricing/ (each 64 KB chunk of a payload is one request)
SQS_REQUEST = Price(0.40 / 1_000_000, "SQS standard request", "https://aws.amazon.com/sqs/pricing/")

# SNS standard topics: https://aws.amazon.com/sns/pricing/ (deliveries to SQS and Lambda are free)
SNS_PUBLISH = Price(0.50 / 1_000_000, "SNS publish (64 KB chunk)", "https://aws.amazon.com/sns/pricing/")

# Glue Apache Spark jobs (Glue 5.0): https://aws.amazon.com/glue/pricing/ (billed per second, 1-minute minimum)
GLUE_DPU_HOUR = Price(0.44, "Glue DPU-hour, Spark job", "https://aws.amazon.com/glue/pricing/")

ALL = {
    "sfn_standard_transition": SFN_STANDARD_TRANSITION,
    "sfn_express_request": SFN_EXPRESS_REQUEST,
    "sfn_express_gb_second": SFN_EXPRESS_GB_SECOND,
    "lambda_request": LAMBDA_REQUEST,
    "lambda_arm_gb_second": LAMBDA_ARM_GB_SECOND,
    "dynamodb_write_unit": DYNAMODB_WRITE_UNIT,
    "dynamodb_read_unit": DYNAMODB_READ_UNIT,
    "sqs_request": SQS_REQUEST,
    "sns_publish": SNS_PUBLISH,
    "glue_dpu_hour": GLUE_DPU_HOUR,
}
