#!/bin/sh
# MWAA startup script: runs on every scheduler, worker and webserver before Airflow starts.
# Deployed to the source bucket by the DataPlatform stack and referenced by its S3 object version.
set -eu

# The DAG polls Glue and the Redshift Data API for hours: let botocore back off adaptively under throttling.
export AWS_RETRY_MODE=adaptive
export AWS_MAX_ATTEMPTS=10

echo "startup.sh: ${MWAA_AIRFLOW_COMPONENT:-unknown} component, AWS retry mode ${AWS_RETRY_MODE}"
