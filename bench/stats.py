"""Small helpers of the bench scripts.

stats.py ready          < lines "ready_ms=12.3 rss_at_ready=9000 kB"
stats.py ratio RESULT-LINE PGBENCH-TPS
stats.py overhead SERVICE-RESULT-LINE DIRECT-RESULT-LINE
stats.py reload         < the service's /metrics
"""
import re
import statistics
import sys


def ready():
    runs = [dict(field.split("=", 1) for field in line.split()[:2]) for line in sys.stdin if "ready_ms=" in line]
    ms = [float(run["ready_ms"]) for run in runs]
    rss = runs[0]["rss_at_ready"]
    print(f"  median {statistics.median(ms):.1f} ms over {len(ms)} starts "
          f"(min {min(ms):.1f}, max {max(ms):.1f}); RSS at ready {rss} kB")


def ratio(result, tps):
    rps = float(re.search(r"rps=([0-9.]+)", result).group(1))
    print(f"{100 * rps / float(tps):.0f}%")


def overhead(service, direct):
    field = lambda line, name: float(re.search(name + r"=([0-9.]+)", line).group(1))
    for name in ("p50_ms", "p99_ms"):
        print(f"  overhead {name}: {field(service, name) - field(direct, name):.2f} ms")


def reload():
    text = sys.stdin.read()
    total = float(re.search(r"^asset_reload_duration_seconds_sum (\S+)", text, re.M).group(1))
    count = float(re.search(r"^asset_reload_duration_seconds_count (\S+)", text, re.M).group(1))
    print(f"  {int(count)} reloads, mean {1000 * total / count:.2f} ms each")


if __name__ == "__main__":
    if sys.argv[1] == "ready":
        ready()
    elif sys.argv[1] == "overhead":
        overhead(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "reload":
        reload()
    else:
        ratio(sys.argv[2], sys.argv[3])
