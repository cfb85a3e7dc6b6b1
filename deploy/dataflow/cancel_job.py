"""Cancel the active Dataflow job of a given name, and say in one line what happened.

deploy/dataflow/launch.sh runs this when it is stopped (Kubernetes deletes the launcher pod,
Airflow kills or times out its task): without it the job outlives its launcher and the retry
launches a second job into the same dataset.

    python deploy/dataflow/cancel_job.py --project P --region R --job-name NAME

Exit status 0 when the job was cancelled or no active job has that name, 1 when it could not
tell or could not cancel. Uses the Dataflow client apache-beam[gcp] installs (the one Beam's
runner submits with) and the launcher's own credentials.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Callable, Iterable, Optional

ACTIVE_LOOKUPS = 3  # a job submitted just before the signal may take a moment to be listed
LOOKUP_PAUSE_S = 5.0
CALL_TIMEOUT_S = 20.0


def manual_cancel(project: str, region: str, name: str) -> str:
    return (f"find it with `gcloud dataflow jobs list --project {project} --region {region} "
            f"--status active --filter name={name}` and cancel it with `gcloud dataflow jobs "
            f"cancel JOB_ID --project {project} --region {region}`")


def find_active(list_active: Callable[[], Iterable], name: str, lookups: int = ACTIVE_LOOKUPS,
                pause_s: float = LOOKUP_PAUSE_S) -> Optional[object]:
    """The active job named `name` (Dataflow allows one at a time), or None after `lookups`."""
    for attempt in range(lookups):
        for job in list_active():
            if job.name == name:
                return job
        if attempt + 1 < lookups:
            time.sleep(pause_s)
    return None


def cancel(project: str, region: str, name: str) -> str:
    """Cancels the job; returns the line to print. Raises on anything it could not do."""
    from google.cloud import dataflow  # apache-beam[gcp]'s Dataflow client, as the runner uses

    jobs = dataflow.JobsV1Beta3Client()

    def list_active():
        return jobs.list_jobs(
            request=dataflow.ListJobsRequest(
                project_id=project, location=region,
                filter=dataflow.ListJobsRequest.Filter.ACTIVE),
            timeout=CALL_TIMEOUT_S)

    job = find_active(list_active, name)
    if job is None:
        return f"no active Dataflow job named {name} in {region}: nothing to cancel"
    jobs.update_job(
        request=dataflow.UpdateJobRequest(
            project_id=project, location=region, job_id=job.id,
            job=dataflow.Job(requested_state=dataflow.JobState.JOB_STATE_CANCELLED)),
        timeout=CALL_TIMEOUT_S)
    return f"cancelled Dataflow job {name} ({job.id}) in {region}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--job-name", required=True)
    args = parser.parse_args(argv)
    try:
        line = cancel(args.project, args.region, args.job_name)
    except Exception as error:  # noqa: BLE001 - whatever stopped it, the one line must say so
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        print(f"did NOT cancel Dataflow job {args.job_name} ({reason}); "
              f"{manual_cancel(args.project, args.region, args.job_name)}", file=sys.stderr)
        return 1
    print(line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
