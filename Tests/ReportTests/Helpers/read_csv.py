"""Reads a CSV file with Python's csv module and prints its rows as JSON (a test helper)."""
import csv
import json
import sys

with open(sys.argv[1], newline="", encoding="utf-8") as handle:
    rows = list(csv.reader(handle))
json.dump(rows, sys.stdout)
