"""Prints the original Townlet's config model tree as JSON (run with PYTHONPATH=SRC).

Usage: PYTHONPATH=SRC python3 tools/parity/original_spec.py > engine/config/original-spec.json

For every pydantic model reachable from SimulationConfig: its path ("*" = any key of a mapping,
"[]" = any item of a list), its extra-key mode (ignore / allow / forbid) and its field names.
engine/config/compat.ts reads the committed copy; test/unit/config-compat.test.ts checks it
still matches the original when python3 with pydantic is there.
"""
import json
import sys
import typing

from pydantic import BaseModel

from townlet.config.loader import SimulationConfig


def models_in(annotation, suffix=()):
    """(path suffix, model) pairs reachable through Optional/Union/list/dict/tuple."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(suffix, annotation)]
    if origin in (list, tuple, set, frozenset) or origin is getattr(typing, "Sequence", None):
        return [m for a in args if a is not Ellipsis for m in models_in(a, suffix + ("[]",))]
    if origin is dict:
        return models_in(args[1], suffix + ("*",)) if len(args) == 2 else []
    if args:
        return [m for a in args for m in models_in(a, suffix)]
    return []


def mapping_fields(annotation):
    """True when the field is a mapping of free keys (dict[str, X])."""
    origin = typing.get_origin(annotation)
    if origin is dict:
        return True
    return any(mapping_fields(a) for a in typing.get_args(annotation))


out = {}


def walk(model, path):
    key = ".".join(path)
    seen = out.setdefault(key, {"extra": None, "fields": {}, "models": []})
    if model.__name__ in seen["models"]:
        return
    seen["models"].append(model.__name__)
    extra = model.model_config.get("extra") or "ignore"
    # Several models at one path (a union): a key is refused only when every one forbids it.
    order = {"forbid": 0, "ignore": 1, "allow": 2}
    if seen["extra"] is None or order[extra] > order[seen["extra"]]:
        seen["extra"] = extra
    fields = seen["fields"]
    for name, info in model.model_fields.items():
        names = [name] + ([info.alias] if info.alias and info.alias != name else [])
        kind = "mapping" if mapping_fields(info.annotation) else "value"
        for n in names:
            fields[n] = kind
    for name, info in model.model_fields.items():
        for n in [name] + ([info.alias] if info.alias and info.alias != name else []):
            for suffix, sub in models_in(info.annotation):
                walk(sub, path + (n,) + suffix)


walk(SimulationConfig, ())
json.dump(out, sys.stdout, indent=1, sort_keys=True)
