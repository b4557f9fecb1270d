#!/usr/bin/env bash
# Grade one submission as a Slurm job array: each array task grades one shard of the job
# (`--shard i/n`, the same slices on every node), and a last job merges them into one
# scoreboard, results.json, gradescope.json and junit.xml. Submit from the course's copy of
# distlab (the grader):
#
#   jobid=$(sbatch --parsable docs/grading/slurm.sh /path/to/submission)
#   sbatch --dependency=afterany:$jobid docs/grading/slurm.sh --merge
#
# The shard count is the array's size (--array=1-N). GRADE_ARGS passes options to `grade run`
# (e.g. GRADE_ARGS="--lab 3 --seeds 20" sbatch ...). grading/tests/red_team.rs runs every
# array task and the merge on one machine and checks the result.
#SBATCH --job-name=grade
#SBATCH --array=1-4
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=02:00:00
#SBATCH --output=grade-%A-%a.out
set -euo pipefail
GRADE=${GRADE:-cargo run --release -q -p grading --bin grade --}
if [ "${1:-}" = --merge ]; then
    # Exit status 1 means "graded, not a full score".
    $GRADE merge shard-*/results.json --out merged || [ $? -eq 1 ]
    exit 0
fi
submission=${1:?usage: sbatch docs/grading/slurm.sh SUBMISSION}
i=$SLURM_ARRAY_TASK_ID
n=$SLURM_ARRAY_TASK_COUNT
$GRADE run --path "$submission" --shard "$i/$n" --out "shard-$i" ${GRADE_ARGS:-} || [ $? -eq 1 ]
