# Sourced by the fault-test scripts: the processes a run starts, and how they are stopped.
# A script appends each background pid to PIDS, and each hookgate pid to HOOKGATE_PIDS too,
# and defines log().

PIDS=()
HOOKGATE_PIDS=()
KEEP_LOGS=""
STOP_FAILED=""

# SIGTERM, then SIGKILL for a process still there after 30 s, so a stuck shutdown cannot hang
# the run. A hookgate process that needed the SIGKILL or exited non-zero (it does when a task
# did not stop within its budget) fails the test, with every log kept.
stop_processes() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 30); do
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 1
  done
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      log "process $pid did not stop within 30 s of SIGTERM; killed"
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  for pid in "${HOOKGATE_PIDS[@]}"; do
    status=0
    wait "$pid" 2>/dev/null || status=$?
    if [ "$status" -ne 0 ]; then
      log "hookgate process $pid ended with status $status on SIGTERM"
      STOP_FAILED=yes
      KEEP_LOGS=yes
    fi
  done
  wait 2>/dev/null || true
  PIDS=()
  HOOKGATE_PIDS=()
}
