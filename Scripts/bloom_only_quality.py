#!/usr/bin/env python3
"""Bloom-only (clkhash schema) quality: `match --threshold auto` against the best fixed Dice threshold.

    Scripts/bloom_only_quality.py DATA_DIR [BLINDMATCH]

DATA_DIR holds watch.csv, bulk.csv and truth.csv (`blindmatch synth` or Scripts/independent_synth.py). Tokenises
them with Scripts/clkhash-six-columns.json into DATA_DIR/clk/, runs `match --threshold 0.70` once with the many-to-one
solver (each bulk row to its best watch-list row at or above 0.70, as `match` does), finds from it the best F1 over
thresholds 0.70-0.95 in steps of 0.01 (a bulk row's best pair at a higher threshold is the same pair, or none), then
runs `match --threshold auto --report` and `evaluate`. Prints the best fixed F1 and the evaluation. Only the pairs at
or above 0.70 are held, a bulk row's best one written, so 20,000 x 200,000 fits in a few GB.
"""
import csv
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
data = sys.argv[1]
binary = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, ".build/release/blindmatch")
work = os.path.join(data, "clk")
os.makedirs(work, exist_ok=True)


def run(*args):
    return subprocess.run([binary, *args], check=True, capture_output=True, text=True).stdout


def path(name):
    return os.path.join(work, name)


if not os.path.exists(path("project.secret")):
    run("keygen", "--output", path("project.secret"))
if not os.path.exists(path("agency.key")):
    run("keygen", "--signing", "--output", path("agency"))
for side in ("watch", "bulk"):
    if not os.path.exists(path(side + ".bmt")):
        run("tokenise", "--schema", os.path.join(root, "Scripts/clkhash-six-columns.json"), "--secret-file",
            path("project.secret"), "--input", os.path.join(data, side + ".csv"), "--output", path(side + ".bmt"),
            "--signing-key", path("agency.key"), "--party", side)
if not os.path.exists(path("best.csv")):
    run("match", path("watch.bmt"), path("bulk.bmt"), "--threshold", "0.70", "--solver", "many-to-one", "--output",
        path("best.csv"))
keys_a = {int(r["row"]): r["record_key"] for r in csv.DictReader(open(path("watch.map.csv")))}
keys_b = {int(r["row"]): r["record_key"] for r in csv.DictReader(open(path("bulk.map.csv")))}
truth = {(r["watch_id"], r["bulk_id"]) for r in csv.DictReader(open(os.path.join(data, "truth.csv")))}
pairs = [(float(r["score"]), (keys_a[int(r["row_a"])], keys_b[int(r["row_b"])]) in truth)
         for r in csv.DictReader(open(path("best.csv")))]
best = (0.0, 0.0)
for step in range(70, 96):
    threshold = step / 100
    reported = [true for score, true in pairs if score >= threshold - 1e-9]
    f1 = 2 * sum(reported) / (len(reported) + len(truth))
    best = max(best, (f1, threshold))
run("match", path("watch.bmt"), path("bulk.bmt"), "--threshold", "auto", "--output", path("auto.csv"), "--report",
    path("auto.json"))
evaluation = run("evaluate", "--matches", path("auto.csv"), "--map-a", path("watch.map.csv"), "--map-b",
                 path("bulk.map.csv"), "--truth", os.path.join(data, "truth.csv"), "--report", path("auto.json"))
print(f"{data}: best fixed F1 {best[0]:.4f} at {best[1]:.2f}")
print(evaluation)
