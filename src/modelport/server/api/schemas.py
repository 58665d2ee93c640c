"""Request and response shapes shared by the routers (field names are the API's camelCase)."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import orjson
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

T = TypeVar("T")


def _text(value: str) -> str:
    # PostgreSQL refuses NUL, and lone surrogates cannot be stored as UTF-8 anywhere.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


SafeStr = Annotated[str, AfterValidator(_text)]
Key = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_text)]
ShortText = Annotated[str, Field(max_length=1000), AfterValidator(_text)]
LongText = Annotated[str, Field(max_length=65536), AfterValidator(_text)]
Label = Annotated[str, Field(max_length=64), AfterValidator(_text)]
# Label values are indexed with their keys: (255 + 256) characters stay under PostgreSQL's btree
# entry limit even in 4-byte UTF-8.
LabelValue = Annotated[str, Field(max_length=256), AfterValidator(_text)]
Labels = Annotated[dict[Key, LabelValue], Field(max_length=1000)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class Input(BaseModel):
    """Request bodies: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    value: list[T]
    next: str | None = None


class FileEntry(Input):
    path: Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_text)]
    sha256: Sha256
    size: Annotated[int, Field(ge=0, le=2**62)]


class ResourceConfiguration(Input):
    cpu: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)] | None = None
    memoryInGB: Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)] | None = None
    gpu: Annotated[int, Field(ge=0, le=1024)] | None = None


MetricValue = (
    StrictBool | Int64 | Finite | Annotated[str, Field(max_length=10000), AfterValidator(_text)]
)


class FastJSON(JSONResponse):
    """JSON rendered by orjson. Hot routes return one of these with plain dicts: FastAPI passes a
    Response through untouched instead of validating and serializing the response model again
    (the model still documents the route in OpenAPI)."""

    def render(self, content: object) -> bytes:
        return orjson.dumps(content)
