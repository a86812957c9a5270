#!/usr/bin/env python3
"""An independent test-data generator for Blindmatch, written apart from `blindmatch synth`.

Its names and postcodes come from Faker's en_GB provider (another name source than ours), and its error model is its
own: the watch-list record and each bulk record are corrupted independently from the true person. Use it to check
figures that were tuned on `blindmatch synth` data.

    pip install -r Scripts/requirements-evaluate.txt    # Faker pinned: its names depend on its version
    python3 Scripts/independent_synth.py --watch 2000 --bulk 50000 --seed 1 --output DIR

With the pinned Faker the same arguments give the same bytes. Scripts/independent_synth.sha256 holds the digests of
2,000 x 50,000 seeds 1-3 and 20,000 x 200,000 seed 7 (`ind1`-`ind3`, `ind20k`: the sets of the Bloom-only figures
since the matches' peak constraint in docs/decision-model.md); `.ci/run` checks seed 1. Figures from before then used
a Faker version nobody recorded.

Writes DIR/watch.csv, DIR/bulk.csv (id,given_name,surname,dob,sex,postcode,nino) and DIR/truth.csv (watch_id,bulk_id).
"""
import argparse
import csv
import datetime
import os
import random
import string

from faker import Faker

NICKNAMES = {
    "William": ["Bill", "Will"], "Robert": ["Bob", "Rob"], "Elizabeth": ["Liz", "Beth"], "James": ["Jim", "Jimmy"],
    "Margaret": ["Maggie", "Peggy"], "Richard": ["Rick", "Dick"], "Thomas": ["Tom"], "Catherine": ["Kate", "Cathy"],
    "Jennifer": ["Jenny"], "Michael": ["Mike"], "Daniel": ["Dan", "Danny"], "Samuel": ["Sam"], "Rebecca": ["Becky"],
    "Christopher": ["Chris"], "Jonathan": ["Jon"], "Alexander": ["Alex"], "Victoria": ["Vicky"], "Joseph": ["Joe"],
}
NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"
ERRORS = {
    # rate per record, the same on both sides unless a side is named
    "given_typo": 0.10, "surname_typo": 0.10, "nickname": 0.05, "initial": 0.02, "swap": 0.03, "upper": 0.15,
    "pad": 0.05, "dob_day": 0.03, "dob_year": 0.02, "dob_swap": 0.03, "dob_missing": 0.02, "sex_missing": 0.02,
    "moved": 0.20, "postcode_missing": 1 / 12, "married": 0.10,
    "watch_nino_missing": 0.45, "bulk_nino_missing": 0.05, "watch_nino_typo": 0.01, "bulk_nino_typo": 0.02,
}


def typo(rng, text):
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if len(letters) < 2:
        return text
    i = rng.choice(letters)
    op = rng.randrange(4)
    if op == 0:
        return text[:i] + rng.choice(string.ascii_lowercase) + text[i + 1:]
    if op == 1:
        return text[:i] + text[i + 1:]
    if op == 2:
        return text[:i] + rng.choice(string.ascii_lowercase) + text[i:]
    j = i + 1 if i + 1 < len(text) else i - 1
    chars = list(text)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def make_person(fake, rng, number):
    sex = rng.choice("MF")
    given = fake.first_name_male() if sex == "M" else fake.first_name_female()
    dob = datetime.date(1935, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 72))
    nino = rng.choice(NINO_FIRST) + rng.choice(NINO_SECOND) + "%06d" % rng.randrange(10**6) + rng.choice("ABCD")
    married = fake.last_name() if sex == "F" and rng.random() < 0.5 else None
    return {"given": given, "surname": fake.last_name(), "dob": dob, "sex": sex, "postcode": fake.postcode(),
            "nino": nino, "married": married, "number": number}


def corrupt(fake, rng, person, side):
    e = ERRORS
    given, surname = person["given"], person["surname"]
    if given in NICKNAMES and rng.random() < e["nickname"]:
        given = rng.choice(NICKNAMES[given])
    elif rng.random() < e["initial"]:
        given = given[0]
    if person["married"] and rng.random() < e["married"]:
        surname = person["married"]
    if rng.random() < e["given_typo"]:
        given = typo(rng, given)
    if rng.random() < e["surname_typo"]:
        surname = typo(rng, surname)
    if rng.random() < e["swap"]:
        given, surname = surname, given
    if rng.random() < e["upper"]:
        given, surname = given.upper(), surname.upper()
    if rng.random() < e["pad"]:
        given, surname = " " + given, surname + "  "
    dob = person["dob"]
    if rng.random() < e["dob_day"]:
        dob += datetime.timedelta(days=rng.choice([-1, 1]))
    if rng.random() < e["dob_year"]:
        try:
            dob = dob.replace(year=dob.year + rng.choice([-1, 1]))
        except ValueError:
            dob = dob.replace(day=28, year=dob.year + 1)
    if dob.day <= 12 and rng.random() < e["dob_swap"]:
        dob = dob.replace(month=dob.day, day=dob.month)
    dob_text = "" if rng.random() < e["dob_missing"] else (
        dob.isoformat() if rng.random() < 0.5 else dob.strftime("%d/%m/%Y"))
    sex = "" if rng.random() < e["sex_missing"] else person["sex"]
    postcode = person["postcode"]
    if rng.random() < e["moved"]:
        postcode = fake.postcode()
    if rng.random() < e["postcode_missing"]:
        postcode = ""
    nino = person["nino"]
    if rng.random() < e[side + "_nino_typo"]:
        k = 2 + rng.randrange(6)
        nino = nino[:k] + str((int(nino[k]) + 1 + rng.randrange(9)) % 10) + nino[k + 1:]
    if rng.random() < e[side + "_nino_missing"]:
        nino = ""
    return [given, surname, dob_text, sex, postcode, nino]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watch", type=int, default=2000)
    parser.add_argument("--bulk", type=int, default=50000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    fake = Faker("en_GB")
    Faker.seed(args.seed)
    os.makedirs(args.output, exist_ok=True)
    watch_people = [make_person(fake, rng, n) for n in range(args.watch)]
    bulk_sources = []
    for person in watch_people:
        if rng.random() < 0.85:
            bulk_sources += [person] * (2 if rng.random() < 0.1 else 1)
        if rng.random() < 0.10:  # a namesake: same names, everything else their own
            other = make_person(fake, rng, -1)
            other["given"], other["surname"], other["sex"] = person["given"], person["surname"], person["sex"]
            bulk_sources.append(other)
    while len(bulk_sources) < args.bulk:
        bulk_sources.append(make_person(fake, rng, -1))
    bulk_sources = bulk_sources[:args.bulk]
    rng.shuffle(bulk_sources)
    header = ["id", "given_name", "surname", "dob", "sex", "postcode", "nino"]
    with open(os.path.join(args.output, "watch.csv"), "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for n, person in enumerate(watch_people):
            writer.writerow(["W%06d" % (n + 1)] + corrupt(fake, rng, person, "watch"))
    truth = []
    with open(os.path.join(args.output, "bulk.csv"), "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for n, person in enumerate(bulk_sources):
            writer.writerow(["B%08d" % (n + 1)] + corrupt(fake, rng, person, "bulk"))
            if person["number"] >= 0:
                truth.append(("W%06d" % (person["number"] + 1), "B%08d" % (n + 1)))
    with open(os.path.join(args.output, "truth.csv"), "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["watch_id", "bulk_id"])
        writer.writerows(sorted(truth))


if __name__ == "__main__":
    main()
