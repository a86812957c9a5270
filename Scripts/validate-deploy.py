#!/usr/bin/env python3
"""Checks deploy/kubernetes/ offline, beyond what the Kubernetes schemas check.

    Scripts/validate-deploy.py BLINDMATCH_BINARY

1. Every manifest validates, strictly, against the schemas of the oldest and the newest Kubernetes version named
   below (kubernetes-validate, pinned in Scripts/requirements-deploy.txt; its schemas are in the package: offline).
2. Each overlay (a directory whose kustomization.yaml names ../base) is put together as kustomize would for
   `resources` (this script needs no kustomize): every file it names exists, no object appears twice, and every
   ConfigMap, PersistentVolumeClaim, ServiceAccount and Service a pod or an ingress refers to is in the overlay; the
   Secrets are the ones the README tells the platform team to make (SECRETS below), and nothing else.
3. Every Service's and PodDisruptionBudget's selector selects a pod template of the overlay; every NetworkPolicy
   selects at least one pod template, or all.
4. The arguments of every Blindmatch container are options its subcommand accepts: `blindmatch SUBCOMMAND --help`
   of the binary given, so a renamed flag fails here rather than in a cluster.
"""
import pathlib
import re
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent / "deploy" / "kubernetes"
KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]
SECRETS = {"blindmatch-database", "blindmatch-checkpoint-key", "blindmatch-tls"}
failures = []


def fail(message):
    failures.append(message)
    print("FAIL", message, file=sys.stderr)


def documents(path):
    with open(path) as handle:
        return [document for document in yaml.safe_load_all(handle) if document]


def overlay(directory):
    """The objects of a kustomization, its resources followed recursively, each with the file it came from."""
    kustomization = documents(directory / "kustomization.yaml")[0]
    objects = []
    for resource in kustomization.get("resources", []):
        path = (directory / resource).resolve()
        if path.is_dir():
            objects += overlay(path)
        elif path.is_file():
            objects += [(path, document) for document in documents(path)]
        else:
            fail(f"{directory / 'kustomization.yaml'}: resource {resource} does not exist")
    return objects


def pod_templates(objects):
    for path, document in objects:
        if document["kind"] in ("Deployment", "StatefulSet"):
            yield path, document, document["spec"]["template"]


def selects(selector, labels):
    return all(labels.get(key) == value for key, value in (selector or {}).items())


def check_overlay(directory, binary):
    objects = overlay(directory)
    names = {}
    for path, document in objects:
        key = (document["kind"], document["metadata"]["name"])
        if key in names:
            fail(f"{directory.name}: {key[0]} {key[1]} is in {names[key]} and {path}")
        names[key] = path
    have = {kind: {name for (k, name) in names if k == kind} for kind in ("ConfigMap", "PersistentVolumeClaim",
                                                                         "ServiceAccount", "Service")}
    templates = list(pod_templates(objects))
    for path, owner, template in templates:
        spec = template["spec"]
        where = f"{directory.name}: {owner['kind']} {owner['metadata']['name']} ({path.name})"
        account = spec.get("serviceAccountName")
        if account and account not in have["ServiceAccount"]:
            fail(f"{where}: service account {account} is not in the overlay")
        for volume in spec.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                claim = volume["persistentVolumeClaim"]["claimName"]
                if claim not in have["PersistentVolumeClaim"]:
                    fail(f"{where}: volume {volume['name']} claims {claim}, which is not in the overlay")
            if "secret" in volume and volume["secret"]["secretName"] not in SECRETS:
                fail(f"{where}: secret {volume['secret']['secretName']} is not one the README has made")
        for container in spec.get("initContainers", []) + spec.get("containers", []):
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {}).get("configMapKeyRef")
                if reference and reference["name"] not in have["ConfigMap"]:
                    fail(f"{where}: {variable['name']} reads ConfigMap {reference['name']}, not in the overlay")
                reference = variable.get("valueFrom", {}).get("secretKeyRef")
                if reference and reference["name"] not in SECRETS:
                    fail(f"{where}: {variable['name']} reads secret {reference['name']}, not one the README has made")
            mounts = {mount["name"] for mount in container.get("volumeMounts", [])}
            volumes = {volume["name"] for volume in spec.get("volumes", [])}
            volumes |= {claim["metadata"]["name"] for claim in owner["spec"].get("volumeClaimTemplates", [])}
            for missing in mounts - volumes:
                fail(f"{where}: container {container['name']} mounts {missing}, which is not a volume of the pod")
            if "blindmatch" in container.get("image", "") and container.get("args"):
                check_arguments(where, container["args"], binary)
    for path, document in objects:
        kind = document["kind"]
        spec = document.get("spec", {})
        if kind == "Service" and spec.get("selector"):
            if not any(selects(spec["selector"], t["metadata"]["labels"]) for _, _, t in templates):
                fail(f"{directory.name}: Service {document['metadata']['name']} selects no pod")
        if kind == "PodDisruptionBudget":
            selector = spec["selector"]["matchLabels"]
            if not any(selects(selector, t["metadata"]["labels"]) for _, _, t in templates):
                fail(f"{directory.name}: PodDisruptionBudget {document['metadata']['name']} selects no pod")
        if kind == "NetworkPolicy":
            selector = spec["podSelector"].get("matchLabels")
            if selector and not any(selects(selector, t["metadata"]["labels"]) for _, _, t in templates):
                fail(f"{directory.name}: NetworkPolicy {document['metadata']['name']} selects no pod")
        if kind == "Ingress":
            for rule in spec.get("rules", []):
                for item in rule["http"]["paths"]:
                    service = item["backend"]["service"]["name"]
                    if service not in have["Service"]:
                        fail(f"{directory.name}: Ingress routes to Service {service}, not in the overlay")
            for tls in spec.get("tls", []):
                if tls["secretName"] not in SECRETS:
                    fail(f"{directory.name}: Ingress's TLS secret {tls['secretName']} is not one the README has made")
    print(f"{directory.name}: {len(objects)} objects, {len(templates)} pod templates checked")


help_texts = {}


def check_arguments(where, arguments, binary):
    subcommand = arguments[0]
    if subcommand not in help_texts:
        result = subprocess.run([binary, subcommand, "--help"], capture_output=True, text=True)
        if result.returncode != 0:
            fail(f"{where}: `blindmatch {subcommand} --help` failed: {result.stderr.strip()[:200]}")
            help_texts[subcommand] = ""
            return
        help_texts[subcommand] = result.stdout
    accepted = set(re.findall(r"(--[a-z0-9][a-z0-9-]*)", help_texts[subcommand]))
    for argument in arguments[1:]:
        if not argument.startswith("--"):
            fail(f"{where}: argument {argument!r} of `{subcommand}` is not an option")
            continue
        option = argument.split("=", 1)[0]
        if option not in accepted:
            fail(f"{where}: `blindmatch {subcommand}` has no option {option}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: validate-deploy.py BLINDMATCH_BINARY")
    binary = sys.argv[1]
    manifests = sorted(path for path in ROOT.rglob("*.yaml") if path.name != "kustomization.yaml")
    for version in KUBERNETES_VERSIONS:
        result = subprocess.run(
            ["kubernetes-validate", "--strict", "--quiet", "-k", version] + [str(path) for path in manifests],
            capture_output=True, text=True)
        if result.returncode != 0 or "ERROR" in result.stdout + result.stderr:
            fail(f"the manifests do not validate against Kubernetes {version}:\n{result.stdout}{result.stderr}")
        else:
            print(f"{len(manifests)} manifest files validate against Kubernetes {version} (strict)")
    overlays = [path.parent for path in ROOT.glob("*/kustomization.yaml") if path.parent.name != "base"]
    if not overlays:
        fail("no overlay found")
    for directory in sorted(overlays):
        check_overlay(directory, binary)
    if failures:
        sys.exit(f"{len(failures)} problems in deploy/kubernetes")
    print("deploy/kubernetes: all checks passed")


main()
