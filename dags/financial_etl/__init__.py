"""Runtime helpers of the `financial_etl_pipeline` DAG: configuration, business date, S3 locations, the
warehouse load and the failure notification. The DAG file only declares; everything here runs in tasks."""
