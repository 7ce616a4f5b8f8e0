"""Validates unitaudit's machine outputs against the schemas their consumers read.

    validate.py junit FILE XSD      JUnit XML against Jenkins' junit-10.xsd (xmlschema)
    validate.py sarif FILE SCHEMA   SARIF against the OASIS SARIF 2.1.0 JSON schema (jsonschema,
                                    with its uri and uri-reference formats checked by rfc3987)

Prints a JSON summary of what the file holds; exits 1 with the schema's complaints when it
does not validate.
"""
import json
import sys


def junit(path, xsd):
    import xmlschema
    import xml.etree.ElementTree as ET

    schema = xmlschema.XMLSchema(xsd)
    errors = [str(e) for e in schema.iter_errors(path)]
    if errors:
        print("\n".join(errors[:20]))
        sys.exit(1)
    root = ET.parse(path).getroot()
    suites = root.findall("testsuite")
    print(json.dumps({
        "root": root.tag,
        "suites": [s.get("name") for s in suites],
        "testcases": sum(len(s.findall("testcase")) for s in suites),
        "failures": sum(len(s.findall("testcase/failure")) for s in suites),
        "failedCases": sum(1 for s in suites for c in s.findall("testcase") if c.find("failure") is not None),
        "skipped": sum(len(s.findall("testcase/skipped")) for s in suites),
        "errors": sum(len(s.findall("testcase/error")) for s in suites),
        "declared": {k: root.get(k) for k in ("tests", "failures", "errors")},
        "skipReasons": sorted({c.get("message") for s in suites for c in s.findall("testcase/skipped")}),
    }))


def sarif(path, schema_path):
    import jsonschema

    with open(schema_path) as f:
        schema = json.load(f)
    with open(path) as f:
        log = json.load(f)
    # With the formats checked: codeql-action rejects a uri that is not a URI reference.
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    if "uri-reference" not in validator.format_checker.checkers:
        sys.exit("jsonschema cannot check the uri-reference format: install rfc3987")
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]
    if errors:
        print("\n".join(errors[:20]))
        sys.exit(1)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    print(json.dumps({
        "version": log["version"],
        "rules": [r["id"] for r in rules],
        "results": len(results),
        "ruleIndexOk": all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results),
        "locations": [
            [r["ruleId"], (r["properties"].get("hosts") or [None])[0], loc["physicalLocation"]["artifactLocation"]["uri"],
             loc["physicalLocation"]["region"]["startLine"]]
            for r in results for loc in r.get("locations", [])
        ],
    }))


if __name__ == "__main__":
    kind, path, schema = sys.argv[1:4]
    {"junit": junit, "sarif": sarif}[kind](path, schema)
