"""Constructs of the financial ETL data platform (MWAA, Glue, Redshift Serverless, event trigger)."""
