"""Small helpers of the bench scripts.

stats.py ready          < lines "ready_ms=12.3 rss_at_ready=9000 kB"
stats.py ratio RESULT-LINE PGBENCH-TPS
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


if __name__ == "__main__":
    if sys.argv[1] == "ready":
        ready()
    else:
        ratio(sys.argv[2], sys.argv[3])
