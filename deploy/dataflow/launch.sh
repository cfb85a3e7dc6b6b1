#!/usr/bin/env bash
# Launch an idp-corpus build on Google Cloud Dataflow.
#
# Decode, sample, filter and write run on CPU workers; only the caption stage asks for a GPU
# (a Beam accelerator resource hint on RunInference), so Dataflow's right fitting gives it a
# GPU worker pool of its own. Do not add worker_accelerator to --dataflow_service_options:
# right fitting and worker_accelerator do not mix.
#
# Required:  PROJECT REGION BUCKET IMAGE INPUT MODEL
# Optional:  see the defaults below. Extra arguments are passed on to `idp-corpus build`
#            (e.g. --no-caption, --samples-per-shard 2000, --config run.yaml).
#
#   PROJECT=my-proj REGION=us-central1 BUCKET=my-bucket \
#   IMAGE=us-central1-docker.pkg.dev/my-proj/idp/idp-corpus:2026-01 \
#   INPUT='gs://my-bucket/videos/*.mp4' MODEL=gs://my-bucket/models/idp \
#   deploy/dataflow/launch.sh
#
# The build is incremental: rerunning with the same OUTPUT processes only videos the dataset
# does not have yet. Never run two builds into the same OUTPUT at once.
set -euo pipefail

: "${PROJECT:?set PROJECT to the Google Cloud project id}"
: "${REGION:?set REGION, e.g. us-central1 (one with the GPU type in stock)}"
: "${BUCKET:?set BUCKET to a bucket for temp files and, by default, the output}"
: "${IMAGE:?set IMAGE to the worker container built from deploy/Dockerfile}"
: "${INPUT:?set INPUT to a glob or manifest of videos, e.g. gs://bucket/videos/*.mp4}"
: "${MODEL:?set MODEL to the IDP model (hub id or gs:// folder)}"

OUTPUT="${OUTPUT:-gs://${BUCKET}/idp-corpus}"
JOB_NAME="${JOB_NAME:-idp-corpus-$(date -u +%Y%m%d-%H%M%S)}"
TEMP_LOCATION="${TEMP_LOCATION:-gs://${BUCKET}/dataflow/temp}"
STAGING_LOCATION="${STAGING_LOCATION:-gs://${BUCKET}/dataflow/staging}"
# CPU workers: decode and optical flow use one core per SDK process, memory per process is
# about two decoded windows of frames; 4 GB per vCPU (n2-standard) is comfortable up to 4K.
MACHINE_TYPE="${MACHINE_TYPE:-n2-standard-8}"
NUM_WORKERS="${NUM_WORKERS:-2}"
MAX_NUM_WORKERS="${MAX_NUM_WORKERS:-50}"
DISK_SIZE_GB="${DISK_SIZE_GB:-100}"
BATCH_SIZE="${BATCH_SIZE:-64}"
# The caption stage's accelerator (Beam resource hint): GPU type and count per caption worker.
GPU_HINT="${GPU_HINT:-type:nvidia-tesla-t4;count:1;install-nvidia-driver}"
SERVICE_ACCOUNT="${SERVICE_ACCOUNT:-}"
SUBNETWORK="${SUBNETWORK:-}"
# true: workers get no public IP (needs Private Google Access on the subnetwork, and the model
# must come from gs://, not the Hugging Face hub).
NO_PUBLIC_IPS="${NO_PUBLIC_IPS:-false}"

args=(
  --input "${INPUT}"
  --output "${OUTPUT}"
  --model "${MODEL}"
  --batch-size "${BATCH_SIZE}"
  --accelerator "${GPU_HINT}"
  --runner DataflowRunner
  --project "${PROJECT}"
  --region "${REGION}"
  --job_name "${JOB_NAME}"
  --temp_location "${TEMP_LOCATION}"
  --staging_location "${STAGING_LOCATION}"
  # The SDK, the project and its dependencies come from the container: nothing is staged or
  # pip-installed when workers start.
  --sdk_container_image "${IMAGE}"
  --sdk_location container
  --experiments use_runner_v2
  --machine_type "${MACHINE_TYPE}"
  --num_workers "${NUM_WORKERS}"
  --max_num_workers "${MAX_NUM_WORKERS}"
  --autoscaling_algorithm THROUGHPUT_BASED
  --disk_size_gb "${DISK_SIZE_GB}"
  --labels app=idp-corpus
)
if [[ -n "${SERVICE_ACCOUNT}" ]]; then
  args+=(--service_account_email "${SERVICE_ACCOUNT}")
fi
if [[ -n "${SUBNETWORK}" ]]; then
  args+=(--subnetwork "${SUBNETWORK}")
fi
if [[ "${NO_PUBLIC_IPS}" == "true" ]]; then
  args+=(--no_use_public_ips)
fi

echo "launching ${JOB_NAME}: ${INPUT} -> ${OUTPUT}" >&2
exec idp-corpus build "${args[@]}" "$@"
