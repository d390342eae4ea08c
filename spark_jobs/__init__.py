"""PySpark jobs: Spark staging, the questions in Spark SQL and with the DataFrame API."""
