#!/usr/bin/env bash
# One deltaflow batch split over a Slurm job array: task K of N processes shard K/N of the files.
#   sbatch Examples/cluster/slurm-array.sh            (edit the paths below first)
# Every task lists the same input directory and takes the files whose path hashes to its index,
# so the tasks cover each file exactly once without talking to each other. They share one cache
# directory, so the exemplar is encoded once (the first task to need it; the others wait for it
# and reuse it). A task that is preempted or hits its time limit gets SIGTERM first (--signal
# below): it finishes the photos in progress and exits; requeued, --resume skips what it finished.
#SBATCH --job-name=deltaflow
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=02:00:00
#SBATCH --signal=B:TERM@120
#SBATCH --requeue
#SBATCH --output=deltaflow-%A_%a.log
set -euo pipefail

# Shared storage every node sees (NFS, Lustre, …).
WORKFLOW=${WORKFLOW:-/shared/deltaflow/exemplar-color.yaml}
INPUT=${INPUT:-/shared/photos/shoot-2026-11}
OUTPUT=${OUTPUT:-/shared/photos/shoot-2026-11-graded}
CACHE=${CACHE:-/shared/deltaflow/cache}
DELTAFLOW=${DELTAFLOW:-deltaflow}
# What the workflow may do beyond image processing (exec, plugins, writes; README's "Running a
# workflow someone else wrote"): a batch job cannot answer a question, so name it here, for a
# workflow you have read. Or run 'deltaflow allow WORKFLOW' once on a node that shares $HOME.
ALLOW=${ALLOW:-}

# exec: deltaflow itself receives Slurm's SIGTERM (the batch shell would not pass it on).
exec "$DELTAFLOW" run "$WORKFLOW" \
    --set input="$INPUT" --set output="$OUTPUT" \
    --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" \
    --cache-dir "$CACHE" --resume \
    --jobs "${SLURM_CPUS_PER_TASK:-2}" --log-format json ${ALLOW:+--allow "$ALLOW"}
