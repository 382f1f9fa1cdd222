"""Prints the median, min and max of a hyperfine --export-json file."""
import json
import statistics
import sys

for result in json.load(open(sys.argv[1]))["results"]:
    times = [t * 1000 for t in result["times"]]
    print(
        f"median {statistics.median(times):.1f} ms over {len(times)} runs "
        f"(min {min(times):.1f}, max {max(times):.1f})"
    )
