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
