"""How message values become bytes and back. A decode error sends the message to the DLQ."""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class Codec(Protocol[T]):
    def decode(self, raw: bytes) -> T: ...

    def encode(self, value: T) -> bytes: ...


class JsonModelCodec(Generic[M]):
    """A pydantic contract as UTF-8 JSON; validation errors surface as decode errors."""

    def __init__(self, model: type[M]):
        self.model = model

    def decode(self, raw: bytes) -> M:
        if raw is None:
            raise ValueError("message has no value")
        return self.model.model_validate_json(raw)

    def encode(self, value: M) -> bytes:
        return value.model_dump_json().encode()


class BytesCodec:
    """Values pass through untouched (benchmarks, relays)."""

    def decode(self, raw: bytes) -> bytes:
        if raw is None:
            raise ValueError("message has no value")
        return raw

    def encode(self, value: bytes) -> bytes:
        return value
