#!/usr/bin/env bash
# Starts one distributed load run on the cluster kubectl points at: writes run.env (target, shard
# count, a start instant LEAD seconds ahead, a run id), deletes the Jobs of the last run (Jobs are
# immutable), applies the Kustomize base and waits for the merge.
#
# Usage: deploy/kubernetes/run.sh TARGET_URL [SHARDS]    (LEAD=120 NAMESPACE=default)
# SHARDS must equal the load Job's completions and parallelism (load-job.yaml).
set -euo pipefail
cd "$(dirname "$0")"
TARGET="${1:?usage: run.sh TARGET_URL [SHARDS]}"
SHARDS="${2:-4}"
LEAD="${LEAD:-120}"
NAMESPACE="${NAMESPACE:-default}"

completions="$(sed -n 's/^  completions: //p' load-job.yaml)"
if [ "$completions" != "$SHARDS" ]; then
    echo "run.sh: load-job.yaml has completions: $completions, not $SHARDS: set completions and parallelism to $SHARDS" >&2
    exit 2
fi
start="$(date -u -d "+${LEAD} seconds" +%Y-%m-%dT%H:%M:%SZ)"
run_id="run-$(date -u +%Y%m%dT%H%M%SZ)"
cat > run.env <<ENV
SESSIONSPEC_TARGET=$TARGET
SESSIONSPEC_SHARDS=$SHARDS
SESSIONSPEC_START_AT=$start
SESSIONSPEC_RUN_ID=$run_id
ENV
kubectl -n "$NAMESPACE" delete job sessionspec-load sessionspec-merge --ignore-not-found
kubectl -n "$NAMESPACE" apply -k .
echo "run.sh: $SHARDS shards start measuring at $start; reports in /reports/$run_id on the volume"
kubectl -n "$NAMESPACE" wait --for=condition=complete --timeout=15m job/sessionspec-merge \
    || kubectl -n "$NAMESPACE" wait --for=condition=failed --timeout=1s job/sessionspec-merge || true
kubectl -n "$NAMESPACE" logs job/sessionspec-merge
