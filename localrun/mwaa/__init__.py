"""`python -m localrun mwaa`: the DataPlatform stack's MWAA environment on a laptop, from the synthesized template.

* `platform.py`: the template's AWS resources in moto, with the engines of `localrun` (Glue on local Spark, the
  Redshift Data API on DuckDB, Lambda handlers in-process) and what moto lacks (Lambda and SNS targets of
  EventBridge rules, asynchronous Glue job runs, MWAA's InvokeRestApi);
* `server.py`: that platform behind one HTTP endpoint (moto's server mode), as its own process;
* `airflow.py`: Airflow 3.3.1 configured from the environment's `AirflowConfigurationOptions` (API server and UI,
  scheduler with the LocalExecutor, DAG processor, triggerer; SQLite);
* `runner.py`: starts, watches and stops all of it; `upload.py`: puts a business day into the landing bucket.
"""
