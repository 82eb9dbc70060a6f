"""One name, one schema: django-ninja names OpenAPI components after the Schema class, so two
classes with the same name in different apps silently share one component, and an operation
then documents (and the fuzzer sends) the other app's body."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ninja import Schema


def _subclasses(cls: type) -> Iterator[type]:
    sub: type
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_no_two_api_schemas_share_a_class_name() -> None:
    import minsheng.urls  # noqa: F401  (imports every router, hence every schema)

    where: dict[str, set[str]] = defaultdict(set)
    for schema in _subclasses(Schema):
        if schema.__module__.split(".")[0] in {"ninja", "pydantic"}:
            continue
        where[schema.__name__].add(schema.__module__)
    clashes = {name: sorted(mods) for name, mods in where.items() if len(mods) > 1}
    assert clashes == {}, f"rename one of each: {clashes}"
