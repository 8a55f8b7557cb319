# Sourced by the fault-test scripts: the processes a run starts, how the script waits for
# them, and how they are stopped. A script appends each background pid to PIDS, and each
# hookgate pid to HOOKGATE_PIDS too, defines log(), and writes each process's log in
# $WORK_DIR as <name>-<port>.log.

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

# Waits up to a minute for the hookgate process on port $1 to be ready; otherwise shows the end
# of its log and stops the script, keeping the logs.
wait_ready() {
  for _ in $(seq 1 60); do
    curl -fs "http://127.0.0.1:$1/readyz" >/dev/null && return 0
    sleep 1
  done
  log "the process on port $1 did not become ready; its log:"
  tail -n 20 "$WORK_DIR"/*-"$1".log >&2 || true
  KEEP_LOGS=yes
  exit 1
}

# The settings every run shares, exported: one subscriber, `sink`, on every notification, and
# JSON logs; then starts that subscriber (deploy/cluster/sink.py on port $1), which appends each
# notification id it receives to $WORK_DIR/notified.log.
start_sink() {
  cat >"$WORK_DIR/hookgate.toml" <<EOF
[[subscribers]]
name = "sink"
url = "http://127.0.0.1:$1/"
secret = "whsec_TWZLUTlyOEdLWXFyVHdqVVBEOElMUFpJbzJMYUxhU3c="
patterns = ["#"]
EOF
  export HOOKGATE_CONFIG="$WORK_DIR/hookgate.toml"
  export HOOKGATE_LOG_FORMAT=json
  export RUST_LOG="${RUST_LOG:-warn}"
  rm -f "$WORK_DIR/notified.log"
  python3 deploy/cluster/sink.py "$1" "$WORK_DIR/notified.log" &
  PIDS+=($!)
}
