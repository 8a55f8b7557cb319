#!/usr/bin/env python3
"""The figures of deploy/soak.sh, read from outside the processes: PostgreSQL (psql), each
process's /metrics and /proc. Three commands share one samples file:

    monitor.py watch WORK_DIR DB_URL RATE     every 5 s a sample; every minute one line
    monitor.py recovered WORK_DIR RATE SINCE  waits until the service is steady again after a
                                              fault that ended at SINCE (Unix seconds); prints
                                              the seconds it took, or fails after 60 s
    monitor.py report WORK_DIR DB_URL         the totals and the verdict; fails on any breach

Steady: the events waiting to be processed are under two seconds of load, and the last 10 s
accepted at least 80% of the target rate."""
import collections, json, pathlib, subprocess, sys, time, urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "lib"))
from totals import deliveries, load_totals  # noqa: E402

SAMPLE_EVERY = 5
RECOVERY_LIMIT = 60
P99_LIMIT = 0.5
GROWTH_LIMIT = 0.20


def psql(db_url, sql):
    out = subprocess.run(["psql", db_url, "-tAqc", sql], capture_output=True, text=True, timeout=20)
    if out.returncode != 0:
        return None
    return out.stdout.strip()


def pids(work):
    found = {}
    for path in (work / "pids").glob("*"):
        try:
            found[path.name] = (int(path.read_text().split()[0]), int(path.read_text().split()[1]))
        except (ValueError, IndexError):
            pass
    return found


def proc_figures(pid):
    try:
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
        rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        fds = len(list(pathlib.Path(f"/proc/{pid}/fd").iterdir()))
        return rss, fds
    except (OSError, StopIteration):
        return None, None


def latency_buckets(port):
    """The webhook latency histogram's cumulative buckets of the process on `port`."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3).read().decode()
    except OSError:
        return None
    buckets = collections.Counter()
    for line in text.splitlines():
        if line.startswith("hookgate_webhook_duration_seconds_bucket"):
            le = line.split('le="')[1].split('"')[0]
            buckets[le] += float(line.rsplit(" ", 1)[1])
    return dict(buckets)


def sample(work, db_url, since, accepted_before):
    now = time.time()
    # Accepted: events received since the previous sample, through the receipt index (`seq`
    # jumps at each day's partition). Waiting: as `hookgate status` counts it, dead-lettered
    # events aside.
    row = psql(db_url, "WITH waiting AS (SELECT e.received_at FROM inbox_unprocessed u "
               "JOIN inbox_events e USING (seq) WHERE e.dead_lettered_at IS NULL) "
               f"SELECT (SELECT count(*) FROM inbox_events WHERE received_at >= to_timestamp({since}) "
               f"AND received_at < to_timestamp({now})), "
               "(SELECT count(*) FROM waiting), "
               "COALESCE((SELECT EXTRACT(EPOCH FROM now() - min(received_at)) FROM waiting), 0), "
               "(SELECT count(*) FROM inbox_processed), "
               "(SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()), "
               "COALESCE((SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits "
               "WHERE inhparent = 'inbox_events'::regclass), 0)")
    figures = {"at": now}
    if row:
        received, backlog, age, processed, connections, inbox = row.split("|")
        figures.update(accepted=accepted_before + int(received), backlog=int(backlog), age=float(age),
                       processed=int(processed), connections=int(connections), inbox=int(inbox))
    for name, (pid, port) in pids(work).items():
        rss, fds = proc_figures(pid)
        figures[name] = {"pid": pid, "rss": rss, "fds": fds}
        if name.startswith("serve"):
            figures[name]["latency"] = latency_buckets(port)
    return figures


def read_lines(path):
    return [line for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def samples(work):
    path = work / "samples.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def le_key(buckets, bound):
    for key in buckets:
        if key != "+Inf" and float(key) == bound:
            return key
    return None


def minute_quantiles(first, last):
    """p50 and p99 of the webhooks answered between two samples, over every receiver."""
    merged_before, merged_after = collections.Counter(), collections.Counter()
    for name, figures in last.items():
        if not name.startswith("serve") or not isinstance(figures, dict):
            continue
        after = figures.get("latency") or {}
        before = (first.get(name) or {}).get("latency") or {}
        if (first.get(name) or {}).get("pid") != figures.get("pid"):
            before = {}  # restarted within the minute: count from its start
        for key, value in after.items():
            then = before.get(key, 0)
            merged_after[key] += value - then if value >= then else value
    if not merged_after:
        return None, None
    return tuple(histogram_quantile(q, merged_after) for q in (0.5, 0.99))


def histogram_quantile(q, buckets):
    total = buckets.get("+Inf", 0)
    if total <= 0:
        return None
    bounds = sorted(float(k) for k in buckets if k != "+Inf")
    rank, lower, seen = q * total, 0.0, 0.0
    for bound in bounds:
        count = buckets[le_key(buckets, bound)]
        if count >= rank:
            width = count - seen
            return lower + (bound - lower) * ((rank - seen) / width if width > 0 else 1.0)
        lower, seen = bound, count
    return float("inf")


def ms(seconds):
    return "-" if seconds is None else ("inf" if seconds == float("inf") else f"{seconds * 1000:.0f}")


def watch(work, db_url, rate):
    out = (work / "samples.jsonl").open("a", buffering=1)
    minute_start, started = None, time.time()
    since, accepted = started, 0
    while True:
        figures = sample(work, db_url, since, accepted)
        since, accepted = figures["at"], figures.get("accepted", accepted)
        out.write(json.dumps(figures) + "\n")
        if minute_start is None:
            minute_start = figures
        elif figures["at"] - minute_start["at"] >= 60:
            print(minute_line(minute_start, figures, started), flush=True)
            minute_start = figures
        time.sleep(SAMPLE_EVERY)


def minute_line(first, last, started):
    p50, p99 = minute_quantiles(first, last)
    procs = " ".join(
        f"{name}:{(f['rss'] or 0) // 1024}MB/{f['fds']}fd"
        for name, f in sorted(last.items()) if isinstance(f, dict) and "rss" in f)
    return (f"minute {round((last['at'] - started) / 60):>3}  "
            f"accepted {last.get('accepted', 0) - first.get('accepted', 0):>6}  "
            f"processed {last.get('processed', 0) - first.get('processed', 0):>6}  "
            f"p50 {ms(p50)} ms  p99 {ms(p99)} ms  "
            f"backlog {last.get('backlog', '-')} (oldest {last.get('age', 0):.0f} s)  "
            f"pg connections {last.get('connections', '-')}  "
            f"inbox {last.get('inbox', 0) // (1024 * 1024)} MB  {procs}")


def steady(history, rate, since):
    recent = [s for s in history if s["at"] >= since and "accepted" in s]
    if len(recent) < 3:
        return False
    # The last 10 s, or the last two samples when they are further apart (a sample takes a
    # moment to gather, so they come a little over 10 s apart under load).
    window = [s for s in recent if s["at"] >= recent[-1]["at"] - 10]
    if len(window) < 2:
        window = recent[-2:]
    span = window[-1]["at"] - window[0]["at"]
    if span < 5:
        return False
    accepted_rate = (window[-1]["accepted"] - window[0]["accepted"]) / span
    return recent[-1]["backlog"] < 2 * rate and accepted_rate >= 0.8 * rate


def recovered(work, rate, since):
    while time.time() - since <= RECOVERY_LIMIT:
        if steady(samples(work), rate, since):
            print(f"{time.time() - since:.0f}")
            return 0
        time.sleep(1)
    print(f"not steady {RECOVERY_LIMIT} s after the fault", file=sys.stderr)
    return 1


def report(work, db_url):
    accepted, lost, applied_twice, failures = load_totals(work)
    delivered = deliveries(work)
    twice = {n for n, count in delivered.items() if count > 1}
    # A worker killed between a subscriber's answer and the delivery's record leaves the
    # notification to be POSTed again, with the same webhook-id (at least once over HTTP): a
    # repeat whose first delivery came in the 2 s before a worker's SIGKILL is that, and shown
    # apart; any other repeat is a failure.
    kills = [float(line.split()[1]) for line in read_lines(work / "killed.log")
             if line.startswith("work")]
    first = {}
    for line in read_lines(work / "notified.log.times"):
        notification, at = line.split()
        first.setdefault(notification, float(at))
    after_kill = {n for n in twice if any(k - 2 <= first.get(n, 0) <= k for k in kills)}
    notified_twice = len(twice - after_kill)
    if after_kill:
        print(f"delivered again after a worker was killed mid-delivery (same webhook-id): {len(after_kill)}")
    written = set((psql(db_url, "SELECT notification_id FROM notification_outbox") or "").split())
    never_delivered = len(written - set(delivered))
    good_dead = int(psql(db_url, "SELECT count(*) FROM inbox_events WHERE dead_lettered_at IS NOT NULL "
                             "AND parse_error IS NULL") or 0)
    unfit_dead = int(psql(db_url, "SELECT count(*) FROM inbox_events WHERE parse_error IS NOT NULL") or 0)
    print(f"accepted {accepted} (and {unfit_dead} unfit, dead-lettered as they should be); "
          f"notifications {len(delivered)}")
    totals = {"lost": lost + never_delivered, "applied twice": applied_twice,
              "notified twice": notified_twice, "dead-lettered good events": good_dead}
    print(", ".join(f"{name} {value}" for name, value in totals.items()))
    failures += [f"{name}: {value}" for name, value in totals.items() if value]

    history = samples(work)
    faults = [tuple(map(float, line.split()[1:3])) for line in read_lines(work / "faults.log")]
    # Memory after the warm-up (minute 5 of a long run, the first minute of a short one)
    # against the end: the highest RSS of the minute after each point, so a dip while the
    # broker was away does not pass for the baseline.
    span = history[-1]["at"] - history[0]["at"] if history else 0
    warm = history[0]["at"] + min(300.0, max(60.0, 0.2 * span)) if history else 0
    killed = {line.split()[0] for line in read_lines(work / "killed.log")}

    def peak(name, start, end):
        values = [s[name]["rss"] for s in history
                  if start <= s["at"] <= end and isinstance(s.get(name), dict) and s[name]["rss"]]
        return max(values) if values else None

    names = sorted(k for k in (history[-1] if history else {}) if isinstance(history[-1][k], dict))
    for name in names:
        if name in killed:
            continue
        start, end = peak(name, warm, warm + 60), peak(name, history[-1]["at"] - 60, history[-1]["at"])
        if start and end:
            growth = (end - start) / start
            print(f"{name}: RSS {start // 1024} MB after warm-up, {end // 1024} MB at the end ({growth:+.0%})")
            if growth > GROWTH_LIMIT:
                failures.append(f"{name} grew {growth:.0%} after warm-up")
    # Each minute's p99, outside the fault windows.
    for first, last in zip(history[::12], history[12::12]):
        if any(start - 5 <= last["at"] and first["at"] <= end + 5 for start, end in faults):
            continue
        _, p99 = minute_quantiles(first, last)
        if p99 is not None and p99 > P99_LIMIT:
            failures.append(f"p99 {ms(p99)} ms in the minute ending {time.strftime('%H:%M:%S', time.gmtime(last['at']))}")
    failures += [line for line in read_lines(work / "recoveries.log") if "not steady" in line]
    for line in failures:
        print(f"FAIL {line}")
    return 1 if failures else 0


if __name__ == "__main__":
    command, work = sys.argv[1], pathlib.Path(sys.argv[2])
    if command == "watch":
        watch(work, sys.argv[3], float(sys.argv[4]))
    elif command == "recovered":
        sys.exit(recovered(work, float(sys.argv[3]), float(sys.argv[4])))
    elif command == "report":
        sys.exit(report(work, sys.argv[3]))
    else:
        sys.exit(__doc__)
