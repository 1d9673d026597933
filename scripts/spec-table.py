#!/usr/bin/env python3
"""Prints the README's spec table (spec -> source document -> cases) from specs/*.json.

Usage: python3 scripts/spec-table.py > /tmp/table.md   (then paste between the markers in README.md)
A test (`spec_load::readme_lists_every_case`) fails when README.md misses a case of a spec.
"""
import glob
import json
import os

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
print("| spec | source document | must cases | should cases |")
print("|---|---|---|---|")
for path in sorted(glob.glob(os.path.join(root, "specs", "*.json"))):
    spec = json.load(open(path))
    must = [c["id"] for c in spec["cases"] if c["level"] == "must"]
    should = [c["id"] for c in spec["cases"] if c["level"] == "should"]
    fmt = lambda ids: ", ".join(f"`{i}`" for i in ids)
    print(f"| [`{spec['name']}`](specs/{spec['name']}.json) — {spec['title']} | `{spec['source']}` "
          f"| {len(must)}: {fmt(must)} | {len(should)}: {fmt(should)} |")
