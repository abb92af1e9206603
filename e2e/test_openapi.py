"""openapi.yaml is a valid OpenAPI 3.1 document and names every public JSON and snippet route."""
import yaml
from openapi_spec_validator import validate

from conftest import ROOT


def test_openapi_is_valid_and_complete():
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    validate(spec)
    for path in ("/api/v1/inquiries", "/api/v1/requests", "/api/v1/events", "/api/v1/consent-config",
                 "/api/v1/identifier-state", "/snippet.js", "/snippet/{file}", "/snippet.css"):
        assert path in spec["paths"], path


def test_published_policy_matches_its_schema(servers):
    """/privacy.json, with the law's items (R-LAW-1, R-LAW-2), is what components.schemas.Policy documents."""
    import json
    import urllib.request

    from jsonschema import Draft202012Validator

    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    schema = dict(spec["components"]["schemas"]["Policy"])
    schema["$defs"] = spec["components"]["schemas"]
    text = json.dumps(schema).replace("#/components/schemas/", "#/$defs/")
    validator = Draft202012Validator(json.loads(text))
    with urllib.request.urlopen(servers["notice"].base + "/privacy.json") as response:
        published = json.load(response)
    errors = [f"{list(error.path)}: {error.message}" for error in validator.iter_errors(published)]
    assert not errors, errors
    for key in ("security_measures", "complaints", "marketing_mail"):
        assert key in published, key
    assert published["requests"]["fee"] == 0 and "agents" in published["requests"]
    assert {vendor["country"] for vendor in published["vendors"]} == {"US", "JP"}
