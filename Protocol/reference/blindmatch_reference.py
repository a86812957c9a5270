#!/usr/bin/env python3
"""An independent reference for Blindmatch's keyed constructions (SPEC §4.1, §4.3, §5), written from SPEC.md
in plain Python (hmac, hashlib) without reading the Swift code's logic. It writes the known-answer vectors
Protocol/vectors/key-derivation.json, match-keys.json and bloom-native.json, which the Swift implementation must
reproduce byte for byte (`swift test`, `blindmatch vectors`).

Inputs here are already-normalised values (normalisation has its own vectors, normalisation.json).
Run from the repository root:  python3 Protocol/reference/blindmatch_reference.py
"""
import hashlib
import hmac
import json
import os

SALT = b"blindmatch/v1"


def hkdf_sha256(ikm, salt, info, length):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def derive(secret, label, length=32):
    return hkdf_sha256(secret, SALT, label.encode(), length)


def key_id(secret):
    return derive(secret, "blindmatch/v1/key-id", 16).hex()


def soundex(name):
    letters = [c for c in name.lower() if "a" <= c <= "z"]
    if not letters:
        return None
    codes = {}
    for group, digit in (("bfpv", "1"), ("cgjkqsxz", "2"), ("dt", "3"), ("l", "4"), ("mn", "5"), ("r", "6")):
        for c in group:
            codes[c] = digit
    out = letters[0].upper()
    previous = codes.get(letters[0], "")
    for c in letters[1:]:
        digit = codes.get(c, "")
        if digit and digit != previous:
            out += digit
            if len(out) == 4:
                break
        if c not in "hw":
            previous = digit
    return (out + "000")[:4]


def load_nicknames():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "nicknames.json")
    table = {}
    for group in json.load(open(path, encoding="utf-8"))["groups"]:
        for name in group:
            table.setdefault(name, group[0])
    return table


NICKNAMES = load_nicknames()


def transform(value, how):
    if value is None or value == "":
        return None
    if how == "value":
        return value
    if how == "initial":
        return value[0]
    if how == "first":
        return value.split(" ")[0]
    if how == "canonical":
        first = value.split(" ")[0]
        return NICKNAMES.get(first, first)
    if how == "soundex":
        return soundex(value)
    if how == "year":
        return value[:4] if len(value.encode()) >= 4 else None
    raise ValueError(how)


def match_key_message(values, key):
    pieces = []
    for part in key["parts"]:
        piece = transform(values.get(part["field"]), part.get("transform", "value"))
        if piece is None:
            return None
        pieces.append(piece.encode())
    if key.get("anyOrder"):
        pieces.sort()
    message = b""
    for data in pieces:
        message += len(data).to_bytes(2, "big") + data
    return message


def match_key_token(secret, key, values, kind="match-key"):
    message = match_key_message(values, key)
    if message is None:
        return None, None
    mac_key = derive(secret, f"blindmatch/v1/{kind}/" + key["name"])
    digest = hmac.new(mac_key, message, hashlib.sha256).digest()
    bits = key.get("bucketBits")
    if bits is not None:
        # SPEC 4.5.1: keep the first `bits` bits of the HMAC (the rest of the last byte cleared) and hash that bucket
        # again under the same key.
        size = (bits + 7) // 8
        bucket = bytearray(digest[:size])
        bucket[-1] &= (0xFF << (8 * size - bits)) & 0xFF
        digest = hmac.new(mac_key, bytes(bucket), hashlib.sha256).digest()
    return digest[:16].hex(), message.hex()


class KeyStream:
    def __init__(self, key):
        self.key, self.counter, self.block, self.used = key, 0, b"", 32

    def next(self):
        if self.used == 32:
            self.block = hmac.new(self.key, self.counter.to_bytes(8, "big"), hashlib.sha256).digest()
            self.counter += 1
            self.used = 0
        value = int.from_bytes(self.block[self.used:self.used + 4], "little")
        self.used += 4
        return value

    def uniform(self, bound):
        limit = 0xFFFFFFFF - 0xFFFFFFFF % bound
        while True:
            value = self.next()
            if value < limit:
                return value % bound


def tokens_of(value, spec):
    if spec["type"] == "exact":
        return [value]
    n, positional = spec["n"], spec.get("positional", False)
    word = (" " * (n - 1) + value + " " * (n - 1)) if n > 1 else value
    grams = [word[i:i + n] for i in range(len(word) - n + 1)]
    if positional:
        grams = [f"{i + 1} {g}" for i, g in enumerate(grams)]
    return grams


def bits_for(field, index, count):
    if "bitsPerToken" in field:
        return field["bitsPerToken"]
    k, rest = divmod(field["bitsPerFeature"], count)
    return k + 1 if index < rest else k


def native_bloom(secret, schema, values, bloom=None, prefix="blindmatch/v1/"):
    """The first filter (schema["bloom"]) or, with `bloom` and `prefix` = "blindmatch/v1/filter/N/", the extra
    filter named N (SPEC 5.6): the same algorithm under its own settings and its own labels."""
    bloom = bloom if bloom is not None else schema["bloom"]
    hardening = bloom.get("hardening", {})
    folds = hardening.get("xorFolds", 0)
    base = bloom["bits"]
    hash_bits = base << folds
    bits = [0] * hash_bits
    kinds = {f["name"]: f["kind"] for f in schema["fields"]}
    token_count = 0
    salt = b""
    if "salt" in hardening:
        piece = transform(values.get(hardening["salt"]["field"]), hardening["salt"].get("transform", "value"))
        if piece is not None:
            salt = b"\x00" + piece.encode()
    for field in bloom["fields"]:
        value = values.get(field["field"])
        if not value:
            continue
        if kinds[field["field"]] == "date":
            value = value.replace("-", "")
        label = (prefix + "bloom-group/" + field["keyGroup"]) if "keyGroup" in field else (
            prefix + "bloom-field/" + field["field"])
        key = derive(secret, label)
        grams = tokens_of(value, field["tokens"])
        token_count += len(grams)
        for index, gram in enumerate(grams):
            k = bits_for(field, index, len(grams))
            data = gram.encode() + salt
            positions, block = [], 0
            while len(positions) < k:
                digest = hmac.new(key, bytes([block]) + data, hashlib.sha256).digest()
                words = [int.from_bytes(digest[2 * w:2 * w + 2], "little") for w in range(16)]
                positions += [w % hash_bits for w in words[:k - len(positions)]]
                block += 1
            for p in positions:
                bits[p] = 1
    if token_count == 0:
        # SPEC §5 step 5: a record with no token has the all-zero filter; no hardening step applies.
        return bytes((2 * base if hardening.get("balance") else base) // 8)
    length = hash_bits
    for _ in range(folds):
        length //= 2
        bits = [bits[i] ^ bits[i + length] for i in range(length)]
    if "diffusion" in hardening:
        taps = hardening["diffusion"]["taps"]
        stream = KeyStream(derive(secret, prefix + "bloom-diffusion"))
        table = []
        for _ in range(base):
            chosen = []
            while len(chosen) < taps:
                candidate = stream.uniform(base)
                if candidate not in chosen:
                    chosen.append(candidate)
            table.append(chosen)
        bits = [sum(bits[t] for t in table[o]) % 2 for o in range(base)]
    if hardening.get("balance"):
        stream = KeyStream(derive(secret, prefix + "bloom-balance"))
        permutation = list(range(2 * base))
        for i in range(2 * base - 1, 0, -1):
            j = stream.uniform(i + 1)
            permutation[i], permutation[j] = permutation[j], permutation[i]
        doubled = bits + [1 - b for b in bits]
        bits = [doubled[permutation[i]] for i in range(2 * base)]
    if "randomisedResponse" in hardening:
        p = hardening["randomisedResponse"]["flipProbability"]
        threshold = round(p * 65536)
        filter_bytes = to_bytes(bits)
        key = derive(secret, prefix + "bloom-randomised-response")
        out, block = list(bits), 0
        for start in range(0, len(bits), 16):
            digest = hmac.new(key, filter_bytes + block.to_bytes(4, "big"), hashlib.sha256).digest()
            for w in range(16):
                if start + w < len(bits) and int.from_bytes(digest[2 * w:2 * w + 2], "little") < threshold:
                    out[start + w] ^= 1
            block += 1
        bits = out
    return to_bytes(bits)


def to_bytes(bits):
    out = bytearray(len(bits) // 8)
    for i, b in enumerate(bits):
        if b:
            out[i // 8] |= 0x80 >> (i % 8)
    return bytes(out)


SECRET = bytes(range(32))
PEOPLE = [
    ("typical record", {"given_name": "robert", "surname": "smith", "dob": "1980-03-15", "sex": "m",
                        "postcode": "SW1A 1AA", "nino": "AB123456"}),
    ("nickname, same person", {"given_name": "bob", "surname": "smith", "dob": "1980-03-15", "sex": "m",
                               "postcode": "SW1A 1AA", "nino": ""}),
    ("two-word surname, no NINO", {"given_name": "zoe", "surname": "obrien jones", "dob": "2001-12-01",
                                   "sex": "f", "postcode": "M1 1AE", "nino": ""}),
    ("missing date of birth", {"given_name": "anna", "surname": "kowalski", "dob": "", "sex": "f",
                               "postcode": "EH1 2NG", "nino": "CE987654"}),
    ("missing sex and postcode", {"given_name": "li", "surname": "wu", "dob": "1975-07-04", "sex": "",
                                  "postcode": "", "nino": ""}),
    ("names swapped, middle name", {"given_name": "smith", "surname": "robert james", "dob": "1980-03-15",
                                    "sex": "m", "postcode": "SW1A 1AA", "nino": ""}),
    ("middle name and short form", {"given_name": "liz ann", "surname": "taylor", "dob": "1961-02-28",
                                    "sex": "f", "postcode": "CF10 1AA", "nino": "JK000001"}),
    # name-dob's message is 2 + 21 + 2 + 18 + 2 + 10 = 55 bytes: the largest that fits one padded block.
    ("55-byte name-dob message", {"given_name": "abcdefghijklmnopqr", "surname": "stuvwxyzabcdefghijklm",
                                  "dob": "1990-01-01", "sex": "m", "postcode": "E1 6AN", "nino": ""}),
    # One byte more: 56 bytes, the smallest message that needs a second inner block.
    ("56-byte name-dob message", {"given_name": "abcdefghijklmnopqrs", "surname": "stuvwxyzabcdefghijklm",
                                  "dob": "1990-01-01", "sex": "m", "postcode": "E1 6AN", "nino": ""}),
]


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    schema = json.load(open(os.path.join(root, "examples", "uk-watchlist.json")))
    # The same schema with a second record-level filter (SPEC 5.6): its labels and filters are in the vectors too.
    with_extra = json.load(open(os.path.join(root, "examples", "uk-watchlist-names-dob.json")))

    labels = ["blindmatch/v1/key-id"] + ["blindmatch/v1/match-key/" + k["name"] for k in schema["matchKeys"]]
    labels += ["blindmatch/v1/blocking-key/" + k["name"] for k in schema.get("blockingKeys", [])]
    labels += ["blindmatch/v1/bloom-group/" + g for g in sorted({f["keyGroup"] for f in schema["bloom"]["fields"] if "keyGroup" in f})]
    labels += ["blindmatch/v1/bloom-field/" + f["field"] for f in schema["bloom"]["fields"]]
    labels += ["blindmatch/v1/bloom-balance", "blindmatch/v1/bloom-diffusion",
               "blindmatch/v1/bloom-randomised-response"]
    for extra in with_extra.get("extraFilters", []):
        # SPEC 4.1: an extra filter's labels carry its name, so its keys differ from the first filter's.
        prefix = "blindmatch/v1/filter/" + extra["name"] + "/"
        labels += [prefix + "bloom-group/" + g for g in sorted({f["keyGroup"] for f in extra["fields"] if "keyGroup" in f})]
        labels += [prefix + "bloom-field/" + f["field"] for f in extra["fields"] if "keyGroup" not in f]
        labels += [prefix + "bloom-balance", prefix + "bloom-diffusion", prefix + "bloom-randomised-response"]
    tests, tc = [], 1
    for secret, comment in ((SECRET, "secret 00..1f"), (b"correct horse battery staple", "imported clkhash secret")):
        for label in labels:
            length = 16 if label.endswith("key-id") else 32
            tests.append({"tcId": tc, "comment": comment, "secretHex": secret.hex(), "label": label,
                          "length": length, "expected": derive(secret, label, length).hex()})
            tc += 1
    key_derivation = {
        "algorithm": "blindmatch key derivation (SPEC §4.1)", "version": 1,
        "notes": "HKDF-SHA256(IKM = secret, salt = 'blindmatch/v1', info = label, L = length). The key id (SPEC §1.3) "
                 "is the 16-byte output for label blindmatch/v1/key-id, in hex. Made by Protocol/reference/blindmatch_reference.py.",
        "testGroups": [{"keyIDs": {SECRET.hex(): key_id(SECRET),
                                   b"correct horse battery staple".hex(): key_id(b"correct horse battery staple")},
                        "tests": tests}]}

    tests, tc = [], 1
    for comment, values in PEOPLE:
        expected, messages = {}, {}
        for key in schema["matchKeys"]:
            token, message = match_key_token(SECRET, key, values)
            expected[key["name"]] = token
            messages[key["name"]] = message
        for key in schema.get("blockingKeys", []):
            token, message = match_key_token(SECRET, key, values, kind="blocking-key")
            expected[key["name"]] = token
            messages[key["name"]] = message
        tests.append({"tcId": tc, "comment": comment, "values": values, "expected": expected, "messages": messages})
        tc += 1
    match_keys = {
        "algorithm": "blindmatch match-key tokens (SPEC §4.2, §4.3)", "version": 1,
        "notes": "values are normalised; expected is the first 16 bytes of HMAC-SHA256(K_key, message) in hex, or null "
                 "when a part is missing; messages are the HMAC inputs in hex. Made by Protocol/reference/blindmatch_reference.py.",
        "testGroups": [{"secretHex": SECRET.hex(), "schema": schema, "tests": tests}]}

    variants = [
        ("example schema, no hardening", {"xorFolds": 0, "balance": False}),
        ("one XOR fold", {"xorFolds": 1}),
        ("names share a key group", "keyGroup"),
        ("salted with the year of birth", {"salt": {"field": "dob", "transform": "year"}}),
        ("balanced", {"balance": True}),
        ("diffusion, 3 taps", {"diffusion": {"taps": 3}}),
        ("randomised response p = 0.05", {"randomisedResponse": {"flipProbability": 0.05}}),
        ("everything", {"xorFolds": 1, "salt": {"field": "dob", "transform": "year"}, "diffusion": {"taps": 4},
                        "balance": True, "randomisedResponse": {"flipProbability": 0.02}}),
        # The example schema before issue 15 encoded sex as an exact token and the date of birth as positional
        # digits; both tokenisers stay covered here, unhardened.
        ("exact and positional tokens, no hardening", "exactAndPositional"),
    ]
    groups, tc = [], 1
    for comment, hardening in variants:
        variant = json.loads(json.dumps(with_extra))
        if hardening == "exactAndPositional":
            variant["bloom"]["hardening"] = {"xorFolds": 0, "balance": False}
            for field in variant["bloom"]["fields"]:
                if field["field"] == "dob":
                    field["tokens"] = {"type": "ngram", "n": 1, "positional": True}
            variant["bloom"]["fields"].insert(3, {"field": "sex", "tokens": {"type": "exact"}, "bitsPerToken": 10})
        elif hardening == "keyGroup":
            for field in variant["bloom"]["fields"]:
                if field["field"] in ("given_name", "surname"):
                    field["keyGroup"] = "names"
                else:
                    field.pop("keyGroup", None)
        else:
            variant["bloom"]["hardening"] = hardening
        tests = []
        for person, values in PEOPLE:
            bloom = native_bloom(SECRET, variant, values)
            test = {"tcId": tc, "comment": person, "values": values, "expected": bloom.hex(),
                    "popcount": sum(bin(b).count("1") for b in bloom)}
            if variant.get("extraFilters"):
                test["expectedExtra"] = {
                    extra["name"]: native_bloom(SECRET, variant, values, extra,
                                                "blindmatch/v1/filter/" + extra["name"] + "/").hex()
                    for extra in variant["extraFilters"]}
            tests.append(test)
            tc += 1
        groups.append({"comment": comment, "secretHex": SECRET.hex(), "schema": variant, "tests": tests})
    bloom_native = {
        "algorithm": "blindmatch native Bloom filters (SPEC §5)", "version": 1,
        "notes": "values are normalised; expected is the finished filter in hex (bit 0 = most significant bit of byte 0); "
                 "expectedExtra holds each extra filter (SPEC 5.6) by name, made under its own labels "
                 "blindmatch/v1/filter/<name>/... and its own hardening. Made by Protocol/reference/blindmatch_reference.py.",
        "testGroups": groups}

    for name, document in (("key-derivation.json", key_derivation), ("match-keys.json", match_keys),
                           ("bloom-native.json", bloom_native)):
        with open(os.path.join(root, "vectors", name), "w") as handle:
            json.dump(document, handle, indent=1, ensure_ascii=False)
            handle.write("\n")
        print("wrote", name)


if __name__ == "__main__":
    main()
