#!/usr/bin/env bash
# Run `idp-corpus build` on the Flink cluster of deploy/flink/docker-compose.yaml (or any Flink
# cluster with a Beam Flink job server and a Python worker pool beside each taskmanager).
#
#   deploy/flink/run.sh --input 's3://videos/*.mp4' --output s3://corpus/v1 --model s3://models/idp
#
# The launcher talks to MinIO on localhost; the workers reach it as minio:9000 (set in the
# compose file). Arguments are passed on to `idp-corpus build`.
set -euo pipefail

JOB_ENDPOINT="${JOB_ENDPOINT:-localhost:8099}"
ARTIFACT_ENDPOINT="${ARTIFACT_ENDPOINT:-localhost:8098}"
# Where each taskmanager finds its SDK worker pool, as seen from the taskmanager.
WORKER_POOL="${WORKER_POOL:-localhost:50000}"
PARALLELISM="${PARALLELISM:-4}"

export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://localhost:9000}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-${MINIO_ROOT_USER:-idp-corpus}}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-${MINIO_ROOT_PASSWORD:-idp-corpus-secret}}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"

exec idp-corpus build "$@" \
  --runner PortableRunner \
  --job_endpoint "${JOB_ENDPOINT}" \
  --artifact_endpoint "${ARTIFACT_ENDPOINT}" \
  --environment_type EXTERNAL \
  --environment_config "${WORKER_POOL}" \
  --parallelism "${PARALLELISM}"
