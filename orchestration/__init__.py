"""The pipeline as an Airflow DAG (ecommerce_pipeline.py) over the project's own commands."""
