"""The Python reference for the aggregation figure (bench/aggregation.ts runs it).

Usage: python3 bench/aggregate.py INPUT_FILE RUNS
INPUT_FILE holds one entry per line. Each run parses every line with ipaddress.ip_network and collapses each
family with ipaddress.collapse_addresses; only that is timed (reading the file is not). Prints one JSON line:
{"seconds": [run, ...], "blocks": <collapsed blocks>, "python": "<version>"}.
"""
import ipaddress
import json
import platform
import sys
import time


def aggregate(lines):
    networks = [ipaddress.ip_network(line) for line in lines]
    v4 = [n for n in networks if n.version == 4]
    v6 = [n for n in networks if n.version == 6]
    return list(ipaddress.collapse_addresses(v4)) + list(ipaddress.collapse_addresses(v6))


def main():
    path, runs = sys.argv[1], int(sys.argv[2])
    with open(path, encoding="ascii") as f:
        lines = f.read().split()
    seconds = []
    blocks = 0
    for _ in range(runs):
        start = time.perf_counter()
        blocks = len(aggregate(lines))
        seconds.append(time.perf_counter() - start)
    print(json.dumps({"seconds": seconds, "blocks": blocks, "python": platform.python_version()}))


if __name__ == "__main__":
    main()
