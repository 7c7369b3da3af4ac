#!/usr/bin/env bash
# Reshard (or convert) one checkpoint with a Slurm job array: array task i of N runs
#   ckpt reshard SOURCE --out OUT --rank i --ranks N [options]
# and writes only its part (the target ranks r with r mod N = i); a second job, started when every task has succeeded
# (--dependency=afterok), runs `ckpt finalize OUT`, which writes the DCP .metadata and commits the output.
# SOURCE and OUT may be local paths on a shared file system or s3:// / az:// URLs (the tasks inherit the AWS_* and
# AZURE_STORAGE_CONNECTION_STRING variables of the shell that submits). See docs/cluster.md.
#
# Submit from a login node (the script submits itself as the array):
#   scripts/cluster/slurm-reshard.sh s3://ckpts/run-7/step-2000 s3://ckpts/run-7/step-2000-tp8 --world-size 8
# Environment:
#   CKPT_TASKS      array size N (default 4); more tasks than target ranks leaves some idle
#   CKPT_VERB       reshard (default) or convert
#   CKPT            the command that runs ckpt (default: ckpt)
#   CKPT_WAIT=1     wait until the finalize job has ended and exit with its status (sbatch --wait)
#   CKPT_SBATCH     extra sbatch options for both jobs, e.g. "--partition=cpu --cpus-per-task=8 --time=02:00:00"
#SBATCH --job-name=ckpt-part
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 SOURCE OUT [ckpt ${CKPT_VERB:-reshard} options]" >&2
  exit 2
fi
source_path="$1"; out="$2"; shift 2
ckpt="${CKPT:-ckpt}"
verb="${CKPT_VERB:-reshard}"

if [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then
  # One array task: its part only. SLURM_ARRAY_TASK_COUNT is the array's size (--array=0-N-1).
  # shellcheck disable=SC2086  # CKPT may be a command with arguments ("dotnet /opt/ckpt/ckpt.dll")
  exec $ckpt "$verb" "$source_path" --out "$out" --rank "$SLURM_ARRAY_TASK_ID" --ranks "$SLURM_ARRAY_TASK_COUNT" "$@"
fi

tasks="${CKPT_TASKS:-4}"
# shellcheck disable=SC2086
array=$(sbatch --parsable ${CKPT_SBATCH:-} --array="0-$((tasks - 1))" --job-name="ckpt-$verb" "$0" "$source_path" "$out" "$@")
array="${array%%;*}"
echo "submitted the $tasks-task array $array: ckpt $verb $source_path --out $out --rank i --ranks $tasks $*"
wait_flag=(); [ "${CKPT_WAIT:-0}" = 1 ] && wait_flag=(--wait)
# The finalize job runs only once every task succeeded; a failed task leaves its part missing, and finalize would
# name it. Rerun that task alone (sbatch --array=i ...), then finalize.
printf -v finalize '%q ' finalize "$out"
# Replacing an earlier output: the tasks were given --overwrite, so finalize is too.
for arg in "$@"; do [ "$arg" = --overwrite ] && finalize+=" --overwrite"; done
# shellcheck disable=SC2086
final=$(sbatch --parsable ${CKPT_SBATCH:-} "${wait_flag[@]}" --dependency="afterok:$array" --kill-on-invalid-dep=yes \
  --job-name=ckpt-finalize --cpus-per-task=1 --wrap="$ckpt $finalize")
echo "submitted finalize job ${final%%;*} (after $array): ckpt finalize $out"
