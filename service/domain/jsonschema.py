"""JSON Schema for listings, generated from the marshmallow schemas (never written by hand).

apispec turns marshmallow fields into OpenAPI 3.1 schema objects, which are JSON Schema
2020-12; the components become `$defs` so the document stands alone.
"""

from __future__ import annotations

import json
from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from service.domain.schemas import ListingSchema


def _local_refs(node):
    """Point `#/components/schemas/X` references at `#/$defs/X`."""
    if isinstance(node, dict):
        return {k: (v.replace("#/components/schemas/", "#/$defs/") if k == "$ref" else _local_refs(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_local_refs(v) for v in node]
    return node


@lru_cache(maxsize=1)
def listing_schema_text() -> str:
    """The Listing JSON Schema document, serialised once."""
    spec = APISpec(title="Linkage", version="1", openapi_version="3.1.0", plugins=[MarshmallowPlugin()])
    spec.components.schema("Listing", schema=ListingSchema)
    components = _local_refs(spec.to_dict()["components"]["schemas"])
    listing = components.pop("Listing")
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "/v1/schema/listing.json",
        "title": "Linkage listing",
        "description": "One group meeting, treatment service or helpline, as `linkage index` "
                       "reads it in native JSON and as the API returns it.",
        **listing,
        "$defs": components,
    }
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True)
