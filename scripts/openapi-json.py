#!/usr/bin/env python3
"""Writes the JSON form of openapi.yaml that the server embeds and serves at /openapi.json.

openapi.yaml is the document people edit; run this after every change (needs PyYAML). The test
`ContractDocumentTests` fails while the two forms differ.
Usage: python3 scripts/openapi-json.py [--check]
"""
import json
import pathlib
import sys

import yaml

root = pathlib.Path(__file__).resolve().parent.parent
source = root / "openapi.yaml"
target = root / "Sources" / "MercatoHTTP" / "Resources" / "openapi.json"

document = yaml.safe_load(source.read_text(encoding="utf-8"))
text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
if "--check" in sys.argv[1:]:
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        sys.exit(f"{target.relative_to(root)} is out of date: run python3 scripts/openapi-json.py")
else:
    target.write_text(text, encoding="utf-8")
