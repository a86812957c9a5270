#!/usr/bin/env python3
"""Makes Protocol/vectors/clkhash-extra.json with clkhash 0.18.3 itself, covering what shared/vectors does not:
doubleHash without prevent_singularity, filters that are not a power of two long, two XOR folds, SHA-512 HKDF with
no salt or info, other key sizes, trigrams, unigrams, bitsPerFeature smaller than the token count, enum and
integer formats with bounds, missing-value replacement, day-first dates, fractional numeric comparisons and
non-ASCII text. The vectors have the same shape as clkhash-kat.json.

    python3 -m venv /tmp/ck && /tmp/ck/bin/pip install clkhash==0.18.3
    /tmp/ck/bin/python Protocol/reference/clkhash_vectors.py      # from the repository root
"""
import base64
import json
import os

from clkhash import clk, schema as clkschema

SALT = "SCbL2zHNnmsckfzchsNkZY9XoHk96P/G5nUBrM7ybymlEFsMV6PAeDZCNp3rfNUPCtLDMOGQHG4pCQpfhiHCyA=="
INFO = "c2NoZW1hX2V4YW1wbGU="


def feature(identifier, fmt, comparison, strategy, hash_, missing=None):
    hashing = {"comparison": comparison, "strategy": strategy, "hash": hash_}
    if missing is not None:
        hashing["missingValue"] = missing
    return {"identifier": identifier, "format": fmt, "hashing": hashing}


STRING = {"type": "string", "encoding": "utf-8"}
RECORDS = [
    ["0", "Robert", "Smith", "15/03/1980", "M", "44", "12.5"],
    ["1", "Bob", "Smyth", "15/03/1980", "M", "45", "12.7"],
    ["2", "Zoë", "Ñúñez-O'Brien", "01/12/2001", "F", "N/A", "0"],
    ["3", "李", "王", "29/02/2000", "X", "7", "-3.25"],
    ["4", "", "", "31/12/1999", "", "N/A", "99.99"],
]


def case(l, kdf, features, extra=None):
    config = {"l": l, "kdf": kdf}
    config.update(extra or {})
    return {"version": 3, "clkConfig": config, "features": [{"identifier": "INDEX", "ignored": True}] + features}


CASES = {
    "doubleHash_plain_l1000_trigrams": case(1000, {"type": "HKDF", "hash": "SHA256", "salt": SALT, "info": INFO, "keySize": 64}, [
        feature("given", STRING, {"type": "ngram", "n": 3}, {"bitsPerToken": 7}, {"type": "doubleHash"}),
        feature("surname", dict(STRING, minLength=0, maxLength=40), {"type": "ngram", "n": 2}, {"bitsPerFeature": 5}, {"type": "doubleHash"}),
        feature("dob", {"type": "date", "format": "%d/%m/%Y"}, {"type": "ngram", "n": 1, "positional": True}, {"bitsPerToken": 3}, {"type": "doubleHash", "prevent_singularity": False}),
        feature("sex", {"type": "enum", "values": ["M", "F", "X", ""]}, {"type": "exact"}, {"bitsPerToken": 20}, {"type": "doubleHash", "prevent_singularity": True}),
        feature("age", {"type": "integer", "minimum": 0, "maximum": 130}, {"type": "numeric", "thresholdDistance": 3, "resolution": 2}, {"bitsPerToken": 4}, {"type": "doubleHash"}, {"sentinel": "N/A", "replaceWith": ""}),
        feature("score", STRING, {"type": "ngram", "n": 1}, {"bitsPerFeature": 50}, {"type": "doubleHash"}),
    ]),
    "blake_l2048_xor_folds2_sha512_nosalt": case(2048, {"type": "HKDF", "hash": "SHA512", "keySize": 32}, [
        feature("given", STRING, {"type": "ngram", "n": 2}, {"bitsPerFeature": 300}, {"type": "blakeHash"}),
        feature("surname", STRING, {"type": "ngram", "n": 2, "positional": True}, {"bitsPerToken": 40}, {"type": "blakeHash"}),
        feature("dob", {"type": "date", "format": "%d/%m/%Y"}, {"type": "exact"}, {"bitsPerToken": 70}, {"type": "blakeHash"}),
        feature("sex", {"type": "enum", "values": ["M", "F", "X", ""]}, {"type": "exact"}, {"bitsPerToken": 10}, {"type": "blakeHash"}),
        feature("age", {"type": "integer"}, {"type": "numeric", "thresholdDistance": 5, "resolution": 3}, {"bitsPerToken": 8}, {"type": "blakeHash"}, {"sentinel": "N/A", "replaceWith": ""}),
        feature("score", STRING, {"type": "numeric", "thresholdDistance": 0.5, "resolution": 3, "fractional_precision": 2}, {"bitsPerToken": 5}, {"type": "blakeHash"}),
    ], {"xor_folds": 2}),
}


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    out = {}
    for name, schema_dict in CASES.items():
        schema = clkschema.from_json_dict(schema_dict)
        secret = "correct horse battery staple"
        filters = clk.generate_clks(RECORDS, schema, secret, validate=True, max_workers=1)
        out[name] = {"schema": schema_dict, "records": RECORDS, "secret": secret,
                     "clks_b64": [base64.b64encode(f.tobytes()).decode() for f in filters],
                     "popcounts": [f.count() for f in filters]}
    with open(os.path.join(root, "vectors", "clkhash-extra.json"), "w") as handle:
        json.dump(out, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
    print("wrote clkhash-extra.json")


if __name__ == "__main__":
    main()
