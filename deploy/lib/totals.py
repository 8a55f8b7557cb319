"""What deploy/cluster-test.sh and deploy/soak.sh count after a run: the load generators'
end-to-end figures (`load-*.json` of `hookgate bench --verify --json`) and the deliveries the
sink logged (`notified.log`, one notification id a line)."""
import collections
import json


def load_totals(work):
    """`(accepted, lost, applied twice, problems)` over every load generator's output."""
    accepted = lost = applied_twice = 0
    problems = []
    for path in sorted(work.glob("load-*.json")):
        text = path.read_text().strip()
        if not text:
            problems.append(f"{path.name}: the load generator printed nothing; see {path.with_suffix('.err').name}")
            continue
        run = json.loads(text)
        accepted += run["load"]["accepted"]
        lost += run["endToEnd"]["lost"]
        applied_twice += run["endToEnd"]["appliedTwice"]
    return accepted, lost, applied_twice, problems


def deliveries(work):
    """How many times the sink got each notification id."""
    return collections.Counter((work / "notified.log").read_text().split())
