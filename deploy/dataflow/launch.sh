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
# DRY_RUN=true prints the `idp-corpus build` command and submits nothing.
#
# The build is incremental: rerunning with the same OUTPUT processes only videos the dataset
# does not have yet. The job name is fixed per OUTPUT (JOB_NAME overrides it), so Dataflow
# refuses a second active job into the same dataset; stopped with SIGTERM or SIGINT, the
# script cancels its job (or says in one line that it could not).
set -euo pipefail

: "${PROJECT:?set PROJECT to the Google Cloud project id}"
: "${REGION:?set REGION, e.g. us-central1 (one with the GPU type in stock)}"
: "${BUCKET:?set BUCKET to a bucket for temp files and, by default, the output}"
: "${IMAGE:?set IMAGE to the worker container built from deploy/Dockerfile}"
: "${INPUT:?set INPUT to a glob or manifest of videos, e.g. gs://bucket/videos/*.mp4}"
: "${MODEL:?set MODEL to the IDP model (hub id or gs:// folder)}"

OUTPUT="${OUTPUT:-gs://${BUCKET}/idp-corpus}"

# One job name per dataset, the same on every run: Dataflow refuses a second active job of a
# name ("There is already an active job named ..."), so a retry whose launcher was killed, or a
# manual run beside the nightly one, cannot run a second job into the same OUTPUT. Dataflow
# names are lower-case letters, digits and hyphens, starting with a letter.
default_job_name() {
  local slug hash
  slug="$(printf '%s' "${OUTPUT#*://}" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9' '-' \
    | tr -s '-' | sed 's/^-*//' | cut -c1-40 | sed 's/-*$//')"
  hash="$(printf '%s' "${OUTPUT}" | sha256sum | cut -c1-8)"
  printf 'idp-corpus-%s%s' "${slug:+${slug}-}" "${hash}"
}
JOB_NAME="${JOB_NAME:-$(default_job_name)}"
if [[ ! "${JOB_NAME}" =~ ^[a-z]([-a-z0-9]*[a-z0-9])?$ ]]; then
  echo "launch.sh: JOB_NAME '${JOB_NAME}' is not a Dataflow job name (a-z, 0-9, '-')" >&2
  exit 2
fi
TEMP_LOCATION="${TEMP_LOCATION:-gs://${BUCKET}/dataflow/temp}"
STAGING_LOCATION="${STAGING_LOCATION:-gs://${BUCKET}/dataflow/staging}"
# CPU workers: decode and optical flow use one core per SDK process, memory per process is
# about two decoded windows of frames; 4 GB per vCPU (n2-standard) is comfortable up to 4K.
MACHINE_TYPE="${MACHINE_TYPE:-n2-standard-8}"
NUM_WORKERS="${NUM_WORKERS:-2}"
MAX_NUM_WORKERS="${MAX_NUM_WORKERS:-50}"
DISK_SIZE_GB="${DISK_SIZE_GB:-100}"
BATCH_SIZE="${BATCH_SIZE:-64}"

# The caption stage's workers (a Beam accelerator resource hint: Dataflow right fitting gives
# that stage a pool of its own). The GPU decides the machine family: T4, P4, P100 and V100
# attach only to N1 machines, an L4 only to G2. The machine's memory must hold the model while
# it loads: n1-highmem-8 has 52 GB (n1-standard-8: 30 GB), g2-standard-8 32 GB; a larger
# model wants g2-standard-16 or more. GPU_HINT, when set, replaces the three.
GPU_TYPE="${GPU_TYPE:-nvidia-tesla-t4}"
GPU_COUNT="${GPU_COUNT:-1}"
gpu_family() {
  case "$1" in
    nvidia-tesla-t4 | nvidia-tesla-p4 | nvidia-tesla-p100 | nvidia-tesla-v100) echo n1 ;;
    nvidia-l4) echo g2 ;;
    nvidia-tesla-a100 | nvidia-a100-80gb) echo a2 ;;
    nvidia-h100-80gb | nvidia-h100-mega-80gb) echo a3 ;;
    *) echo "" ;;
  esac
}
case "$(gpu_family "${GPU_TYPE}")" in
  n1) default_gpu_machine=n1-highmem-8 ;;
  g2) default_gpu_machine=g2-standard-8 ;;
  *) default_gpu_machine="" ;;
esac
GPU_MACHINE_TYPE="${GPU_MACHINE_TYPE:-${default_gpu_machine}}"
GPU_HINT="${GPU_HINT-type:${GPU_TYPE};count:${GPU_COUNT};machine_type:${GPU_MACHINE_TYPE};install-nvidia-driver}"
hint_field() {
  local part
  local -a parts
  IFS=';' read -ra parts <<< "${GPU_HINT}"
  for part in "${parts[@]}"; do
    if [[ "${part}" == "$1:"* ]]; then
      printf '%s' "${part#*:}"
      return
    fi
  done
}
# GPU_HINT='' runs captioning without a GPU hint (e.g. with --no-caption).
if [[ -n "${GPU_HINT}" ]]; then
  hint_gpu="$(hint_field type)"
  hint_machine="$(hint_field machine_type)"
  family="$(gpu_family "${hint_gpu}")"
  if [[ -z "${family}" || "${hint_machine%%-*}" != "${family}" ]]; then
    echo "launch.sh: GPU hint '${GPU_HINT}' needs machine_type:${family:-<family>}-... for" \
      "${hint_gpu:-its GPU type} (T4/P4/P100/V100: n1-*, L4: g2-*, A100: a2-*, H100: a3-*;" \
      "set GPU_MACHINE_TYPE)" >&2
    exit 2
  fi
fi

SERVICE_ACCOUNT="${SERVICE_ACCOUNT:-}"
SUBNETWORK="${SUBNETWORK:-}"
# true: workers get no public IP (needs Private Google Access on the subnetwork, and the model
# must come from gs://, not the Hugging Face hub).
NO_PUBLIC_IPS="${NO_PUBLIC_IPS:-false}"
# How long a stopped launcher may spend cancelling its job: under the pod's grace period
# (deploy/schedule/cronjob.yaml: 90 s) and Airflow's killed_task_cleanup_time (60 s).
CANCEL_TIMEOUT_S="${CANCEL_TIMEOUT_S:-45}"
PYTHON="${PYTHON:-python3}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

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

if [[ "${DRY_RUN:-false}" == "true" ]]; then  # print the command, submit nothing
  printf '%q ' idp-corpus build "${args[@]}" "$@"
  printf '\n'
  exit 0
fi

echo "launching Dataflow job ${JOB_NAME}: ${INPUT} -> ${OUTPUT}" >&2
# The launcher waits for the job, so its exit status is the job's. Stopped (Kubernetes deletes
# the pod: SIGTERM to this script only; Airflow kills or times out its task: SIGTERM to the
# process group), this script stops the launcher and cancels the job, or says in one line that
# it did not: a job left running would run beside the retry's.
launcher=""
# shellcheck disable=SC2317  # invoked by the traps below
stop() {
  trap - TERM INT
  echo "launch.sh: got SIG$1: stopping the launcher, cancelling Dataflow job ${JOB_NAME}" >&2
  if [[ -n "${launcher}" ]]; then
    kill -TERM "${launcher}" 2>/dev/null || true
    wait "${launcher}" 2>/dev/null || true
  fi
  local status=0
  timeout "${CANCEL_TIMEOUT_S}" "${PYTHON}" "${HERE}/cancel_job.py" --project "${PROJECT}" \
    --region "${REGION}" --job-name "${JOB_NAME}" || status=$?
  local reason=""
  case "${status}" in
    0 | 1) ;;  # cancel_job.py printed its own line
    124) reason="no answer within ${CANCEL_TIMEOUT_S} s" ;;
    *) reason="${PYTHON} ${HERE}/cancel_job.py exited with ${status}" ;;
  esac
  if [[ -n "${reason}" ]]; then
    echo "did NOT cancel Dataflow job ${JOB_NAME} (${reason}); cancel it with: gcloud" \
      "dataflow jobs list --project ${PROJECT} --region ${REGION} --status active" \
      "--filter name=${JOB_NAME}, then gcloud dataflow jobs cancel JOB_ID" >&2
  fi
  exit "$2"
}
trap 'stop TERM 143' TERM
trap 'stop INT 130' INT

idp-corpus build "${args[@]}" "$@" &
launcher=$!
status=0
wait "${launcher}" || status=$?
exit "${status}"
