"""Airflow DAG: a daily incremental refresh of an idp-corpus dataset, then a full validation.

The build is incremental by default (videos already in the dataset are skipped), so the same
command runs every day over a growing bucket. The work runs on Dataflow through
deploy/dataflow/launch.sh; set its variables (PROJECT, REGION, BUCKET, IMAGE, INPUT, MODEL,
OUTPUT) as Airflow Variables named idp_corpus_<name>, and install idp-corpus on the workers
that run these tasks (or swap the BashOperators for KubernetesPodOperators on the image).

max_active_runs=1 sees Airflow runs, not Dataflow jobs. What keeps a second job out of the
dataset: the job name launch.sh derives from OUTPUT (Dataflow refuses a second active job of a
name), and launch.sh cancelling its job when Airflow kills the task or its execution_timeout
passes (SIGTERM to the task's process group; it finishes within Airflow's
killed_task_cleanup_time, 60 s by default).
"""
from __future__ import annotations

import datetime

from airflow import DAG

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator

# Where the launch script is on the Airflow worker (the path it has in the worker image).
LAUNCH = ("{{ var.value.get('idp_corpus_launch_script', "
          "'/opt/idp-corpus/deploy/dataflow/launch.sh') }}")
SETTINGS = ("PROJECT", "REGION", "BUCKET", "IMAGE", "INPUT", "MODEL", "OUTPUT")
ENV = {name: f"{{{{ var.value.idp_corpus_{name.lower()} }}}}" for name in SETTINGS}

with DAG(
    dag_id="idp_corpus_refresh",
    description="Add new videos of the bucket to the idp-corpus dataset",
    schedule="@daily",
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,  # one refresh takes every video not yet in; no backfill of missed days
    max_active_runs=1,  # two builds into one dataset would race on its index
    default_args={"retries": 1, "retry_delay": datetime.timedelta(minutes=30)},
    tags=["idp-corpus"],
) as dag:
    refresh = BashOperator(
        task_id="refresh",
        # A rerun after a failure completes the dataset: nothing partial is ever indexed.
        bash_command=f"bash {LAUNCH} --max-failure-ratio 0.2",
        env=ENV,
        append_env=True,
        execution_timeout=datetime.timedelta(hours=24),
    )
    validate = BashOperator(
        task_id="validate",
        bash_command="idp-corpus validate \"$OUTPUT\"",
        env=ENV,
        append_env=True,
    )
    refresh >> validate
