"""Request bodies checked against their msgspec struct: every bad field named by its path, in words."""

from __future__ import annotations

import datetime
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi
from litestar import Request
from litestar.exceptions import ClientException, ValidationException

T = TypeVar("T")
# Where the fast path (service/fast_path.py) leaves an error of a page for the route to raise.
FAST_PATH_ERROR = "fast_path_error"
# Extra bounds known only at start (MAX_PAGE_SIZE): (struct, field name) -> {"le": ...}.
Bounds = Mapping[tuple[type, str], Mapping[str, int]]
_KINDS = {
    mi.StrType: "a string",
    mi.IntType: "an integer",
    mi.FloatType: "a number",
    mi.BoolType: "true or false",
    mi.DateType: "a date (YYYY-MM-DD)",
    mi.StructType: "an object",
    mi.ListType: "an array",
    mi.NoneType: "null",
}
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


class _Checker:
    """One walk over a decoded JSON value and the msgspec type it should have."""

    def __init__(self, bounds: Bounds) -> None:
        self.bounds = bounds
        self.errors: list[dict[str, Any]] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append({"key": path or "body", "message": message, "source": "body"})

    def check(self, info: mi.Type, value: Any, path: str, extra: Mapping[str, Any] | None = None) -> Any:
        """Record what is wrong with value at path; return it as msgspec should get it (1.0 -> 1)."""
        if isinstance(info, mi.Metadata):
            return self.check(info.type, value, path, {**(info.extra_json_schema or {}), **(extra or {})})
        if isinstance(info, mi.UnionType):
            return self.check_union(info, value, path, extra)
        if not _kind_matches(info, value):
            self.fail(path, f"must be {_describe_kind(info)}, got {_json_kind(value)}")
            return value
        if isinstance(info, mi.LiteralType):
            if value not in info.values:
                allowed = ", ".join(_in_order(info.values))
                self.fail(path, f"must be one of: {allowed}; got {_shown(value)}")
            return value
        if isinstance(info, mi.IntType | mi.FloatType):
            return self.check_number(info, value, path, extra)
        if isinstance(info, mi.StrType):
            self.check_string(info, value, path, extra)
        elif isinstance(info, mi.DateType):
            try:
                msgspec.convert(value, datetime.date)
            except msgspec.ValidationError:
                self.fail(path, f"must be a date (YYYY-MM-DD), got {_shown(value)}")
        elif isinstance(info, mi.ListType):
            return self.check_list(info, value, path)
        elif isinstance(info, mi.StructType):
            return self.check_struct(info, value, path)
        return value

    def check_union(self, info: mi.UnionType, value: Any, path: str, extra: Mapping[str, Any] | None) -> Any:
        candidates = [member for member in info.types if _kind_matches(member, value)]
        if not candidates:
            kinds = " or ".join(dict.fromkeys(_describe_kind(member) for member in info.types))
            self.fail(path, f"must be {kinds}, got {_json_kind(value)}")
            return value
        first_errors: list[dict[str, Any]] | None = None
        for member in candidates:
            trial = _Checker(self.bounds)
            checked = trial.check(member, value, path, extra)
            if not trial.errors:
                return checked
            first_errors = first_errors or trial.errors
        others = [member for member in info.types if not isinstance(member, mi.NoneType)]
        if len(others) > 1 and any(isinstance(member, mi.LiteralType) for member in candidates):
            # A value of one kind that is not one of the names: say every form the field takes.
            kinds = " or ".join(_describe_kind(member) for member in others)
            self.fail(path, f"must be {kinds}; got {_shown(value)}")
            return value
        self.errors.extend(first_errors or [])
        return value

    def check_number(self, info: mi.IntType | mi.FloatType, value: Any, path: str, extra: Any) -> Any:
        if isinstance(info, mi.IntType) and isinstance(value, float):
            value = int(value)  # an integral float, as JSON Schema's "integer" allows
        low = info.ge if info.ge is not None else info.gt
        high = (extra or {}).get("maximum", info.le if info.le is not None else info.lt)
        too_low = low is not None and (value < low or (info.gt is not None and value <= info.gt))
        too_high = high is not None and (value > high or (info.lt is not None and value >= info.lt))
        if too_low or too_high:
            if low is not None and high is not None:
                self.fail(path, f"must be between {low} and {high}, got {value}")
            elif low is not None:
                self.fail(path, f"must be >= {low}, got {value}")
            else:
                self.fail(path, f"must be <= {high}, got {value}")
        return value

    def check_string(self, info: mi.StrType, value: str, path: str, extra: Mapping[str, Any] | None) -> None:
        short = info.min_length is not None and len(value) < info.min_length
        long = info.max_length is not None and len(value) > info.max_length
        if short or long:
            if info.min_length and info.max_length:
                self.fail(path, f"must be {info.min_length} to {info.max_length} characters long")
            elif info.max_length is not None:
                self.fail(path, f"must be at most {info.max_length} characters long")
            else:
                self.fail(path, "must not be empty")
        elif info.pattern is not None and not re.search(info.pattern, value):
            described = (extra or {}).get("description") or "a valid value"
            self.fail(path, f"must be {described[0].lower()}{described[1:].rstrip('.')}; got {_shown(value)}")

    def check_list(self, info: mi.ListType, value: list[Any], path: str) -> list[Any]:
        if info.max_length is not None and len(value) > info.max_length:
            self.fail(path, f"must hold at most {info.max_length} items, got {len(value)}")
        if info.min_length is not None and len(value) < info.min_length:
            self.fail(path, f"must hold at least {info.min_length} items, got {len(value)}")
        return [self.check(info.item_type, item, f"{path}[{index}]") for index, item in enumerate(value)]

    def check_struct(self, info: mi.StructType, value: dict[str, Any], path: str) -> dict[str, Any]:
        fields = {field.encode_name: field for field in info.fields}
        prefix = f"{path}." if path else ""
        checked: dict[str, Any] = {}
        for key, item in value.items():
            field = fields.get(key)
            if field is None:
                if info.forbid_unknown_fields:
                    allowed = ", ".join(fields)
                    self.fail(f"{prefix}{key}", f"unknown field; the fields are: {allowed}")
                continue
            bounds = self.bounds.get((info.cls, field.name))
            checked[key] = self.check(
                field.type, item, f"{prefix}{key}", bounds and {"maximum": bounds["le"]}
            )
        for key, field in fields.items():
            if field.required and key not in value:
                self.fail(f"{prefix}{key}", "is required")
        return checked


def _kind_matches(info: mi.Type, value: Any) -> bool:
    if isinstance(info, mi.Metadata):
        return _kind_matches(info.type, value)
    if isinstance(info, mi.NoneType):
        return value is None
    if isinstance(info, mi.BoolType):
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if isinstance(info, mi.IntType):
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(info, mi.FloatType):
        return isinstance(value, int | float)
    if isinstance(info, mi.LiteralType):
        return any(type(allowed) is type(value) for allowed in info.values)
    if isinstance(info, mi.StrType | mi.DateType):
        return isinstance(value, str)
    if isinstance(info, mi.StructType):
        return isinstance(value, dict)
    if isinstance(info, mi.ListType):
        return isinstance(value, list)
    return True


def _describe_kind(info: mi.Type) -> str:
    if isinstance(info, mi.Metadata):
        return _describe_kind(info.type)
    if isinstance(info, mi.LiteralType):
        return "one of: " + ", ".join(_in_order(info.values))
    if isinstance(info, mi.IntType | mi.FloatType) and info.ge is not None and info.le is not None:
        return f"{_KINDS[type(info)]} between {info.ge} and {info.le}"
    return _KINDS.get(type(info), "a valid value")


def _in_order(values: tuple[Any, ...]) -> list[str]:
    """Allowed values, lower-case spellings first (m, f, male, female before M, F, ...)."""
    return sorted((str(value) for value in values), key=lambda text: text != text.lower())


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {_shown(value)}"
    return "an array" if isinstance(value, list) else "an object"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 66 else text[:63] + "...'"


def decode(type_: type[T], body: bytes, bounds: Bounds | None = None) -> T:
    """The body as type_, else a ValidationException listing every bad field (400 if it is not JSON)."""
    if not body.strip():
        raise ValidationException(
            "the request body is empty",
            extra=[{"key": "body", "message": "is empty; send a JSON object", "source": "body"}],
        )
    try:
        raw = msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise ClientException(f"the request body is not valid JSON: {error}") from None
    except RecursionError:  # msgspec's decoder recurses once per level of arrays and objects
        raise ClientException("the request body is nested too deeply") from None
    checker = _Checker(bounds or {})
    checked = checker.check(mi.type_info(type_), raw, "")
    if checker.errors:
        raise ValidationException(_summary(checker.errors), extra=checker.errors)
    try:
        return msgspec.convert(checked, type_, strict=True)
    except msgspec.ValidationError as error:  # a rule across fields (__post_init__), or one missed above
        match = _AT.match(str(error))
        assert match is not None
        path = (match.group("path") or "").lstrip(".")
        problem = [{"key": path or "body", "message": match.group("message"), "source": "body"}]
        raise ValidationException(_summary(problem), extra=problem) from None


def _summary(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{error['key']}: {error['message']}" for error in errors)


def body_check(
    type_: type[Any], bounds: Callable[[Request[Any, Any, Any]], Bounds] | None = None
) -> Callable[[Request[Any, Any, Any]], Awaitable[None]]:
    """A before_request hook: the route's body checked whole (every bad field named) before the
    handler's own decoding, which then only sees valid bodies; or the error the fast path met
    computing the page of this request (service/fast_path.py) raised, to be answered as the
    handler's own."""

    decoder = msgspec.json.Decoder(type_)

    async def check(request: Request[Any, Any, Any]) -> None:
        error = request.scope["state"].pop(FAST_PATH_ERROR, None)
        if error is not None:
            raise error
        body = await request.body()
        limits = bounds(request) if bounds else None
        # Valid bodies, nearly all of them, take msgspec's own decoder (no per-field walk in Python);
        # only a body it refuses, or one past a bound known at start, is walked to name every field.
        try:
            decoded = decoder.decode(body)
        except (msgspec.DecodeError, RecursionError):
            decoded = None
        if decoded is None or (limits and not _within(decoded, limits)):
            decoded = decode(type_, body, limits)
        request.state.body = decoded

    return check


def _within(value: Any, bounds: Bounds) -> bool:
    """Whether a decoded struct (and the structs in it) keeps the upper bounds known at start."""
    if not isinstance(value, msgspec.Struct):
        return True
    for name in value.__struct_fields__:
        item = getattr(value, name)
        limit = bounds.get((type(value), name))
        if limit is not None and isinstance(item, int | float) and item > limit["le"]:
            return False
        if isinstance(item, msgspec.Struct) and not _within(item, bounds):
            return False
    return True
