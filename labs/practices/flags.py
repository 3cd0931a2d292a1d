"""AWS AppConfig feature flags: the ``AWS.AppConfig.FeatureFlags`` document, checked and evaluated.

The local emulator stores feature-flag profiles and hosted configuration versions but has no
data plane (FACTS.md): no environment, no deployment, no ``appconfigdata``, no AppConfig Agent.
This module is that missing piece, as the AppConfig user guide documents it:

* :func:`validate_document` checks a document against the ``AWS.AppConfig.FeatureFlags`` JSON
  schema ("Understanding the type reference for AWS.AppConfig.FeatureFlags",
  https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-type-reference-feature-flags.html)
  **and** the constraints each flag declares for its attributes, which is what AppConfig does
  on ``CreateHostedConfigurationVersion`` — and what the emulator does not do (it stores any
  bytes). An error names the JSON path, e.g.
  ``flags.checkout.attributes.limit.constraints.maximum``.
* :func:`evaluate` returns one flag as the AppConfig Agent returns it for a request context:
  ``{"enabled": ...}`` plus the attribute values when the flag is enabled ("The attributes of a
  feature flag are only included in the GetLatestConfiguration response if that flag is
  enabled"), and ``"_variant"`` for a multi-variant flag ("Retrieving basic and multi-variant
  feature flags",
  https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-integration-retrieving-feature-flags.html).
* :func:`select_variant` picks a variant from an ordered list of ``(name, rule)``: the first
  whose rule matches, else the default (the last, without a rule).
  :func:`assign_variants` does the same for a whole frame of contexts at once.

The rule language and the ``split`` hash are in :mod:`labs.practices.rules`; read its module
docstring for the choices made where the guide is silent, and for why the bucket of a given id
differs from AWS's while the split's semantics are the same.

Document shape (schema version ``"1"``)::

    {"version": "1",
     "flags": {"recommendations": {
         "name": "Recommendations",
         "attributes": {"limit": {"constraints": {
             "type": "number", "minimum": 1, "maximum": 20, "required": True}}}}},
     "values": {"recommendations": {"enabled": True, "limit": 5}}}

A basic flag's value holds ``enabled`` and its attribute values side by side (the schema's
``flagValue``); a multi-variant flag's value holds ``_variants``, an ordered list of
``{"name", "enabled", "rule", "attributeValues"}`` whose last entry is the default variant,
without a rule ("Understanding multi-variant feature flag concepts and common use cases":
otherwise AppConfig answers ``BadRequestException``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from labs.errors import InputError
from labs.practices.rules import (
    Rule,
    RuleError,
    bucket,
    buckets,
    in_split,
    parse_rule,
    rule_mask,
    rule_matches,
)

__all__ = [
    "SCHEMA_URL",
    "FlagDocumentError",
    "RuleError",
    "assign_variants",
    "bucket",
    "buckets",
    "evaluate",
    "evaluate_all",
    "in_split",
    "load_document",
    "parse_rule",
    "rule_mask",
    "rule_matches",
    "select_variant",
    "validate_document",
    "variants_of",
]

SCHEMA_URL = (
    "https://docs.aws.amazon.com/appconfig/latest/userguide/"
    "appconfig-type-reference-feature-flags.html"
)
_KEY = re.compile(r"^[a-z][a-zA-Z\d_-]{0,63}$")
_NAME = re.compile(r"^[^\n]{1,64}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAX_ATTRIBUTES = 25
_MAX_VARIANTS = 32
_MAX_STRING = 1024
_MAX_ENUM = 100
_CONSTRAINT_KEYS = {
    "number": ("type", "required", "minimum", "maximum"),
    "string": ("type", "required", "pattern", "enum"),
    "array": ("type", "required", "elements"),
    "boolean": ("type", "required"),
}


class FlagDocumentError(InputError):
    """A feature-flag document that AppConfig would refuse; ``where`` is the JSON path."""


def _fail(path: str, what: str, hint: str | None = None) -> FlagDocumentError:
    return FlagDocumentError(what, where=path, hint=hint or f"The schema: {SCHEMA_URL}")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _is_number(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and not (isinstance(value, float) and not math.isfinite(value))
    )


def _is_integer(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int)


def _object(value: Any, path: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(path, f"{what} must be a JSON object, got {_json_type(value)}.")
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _only(obj: Mapping[str, Any], allowed: Sequence[str], path: str, what: str) -> None:
    for key in obj:
        if key not in allowed:
            raise _fail(
                _join(path, key),
                f"{what} has no property {key!r} (the schema forbids additional properties).",
                f"Allowed here: {', '.join(allowed)}.",
            )


def _key_ok(key: Any, path: str, what: str) -> None:
    if not isinstance(key, str) or not _KEY.match(key):
        raise _fail(
            _join(path, str(key)),
            f"{key!r} is not a valid {what} key: it must match ^[a-z][a-zA-Z\\d_-]{{0,63}}$ "
            "(a lowercase letter first, then letters, digits, '_' or '-'; at most 64).",
            "e.g. 'checkout', 'newCheckout', 'new_checkout'.",
        )


def _text(value: Any, path: str, what: str, max_length: int) -> None:
    if not isinstance(value, str):
        raise _fail(path, f"{what} must be a string, got {_json_type(value)}.")
    if len(value) > max_length:
        raise _fail(path, f"{what} has {len(value)} characters; at most {max_length} allowed.")


def _name(value: Any, path: str, what: str) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise _fail(path, f"{what} must be 1 to 64 characters on one line, got {value!r}.")


def load_document(document: Any) -> dict[str, Any]:
    """Return a feature-flag document as a dict, from a dict, JSON text or JSON bytes.

    Raises:
        FlagDocumentError: The text is not JSON (the message names line and column).
    """
    if isinstance(document, bytes | bytearray):
        document = bytes(document).decode("utf-8")
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            raise FlagDocumentError(
                f"The document is not valid JSON: {exc.msg}.",
                where=f"line {exc.lineno}, column {exc.colno}",
                hint="Build the document as a Python dict and json.dumps() it.",
            ) from None
    if not isinstance(document, Mapping):
        raise _fail(
            "(document)", f"A feature-flag document is a JSON object, got {_json_type(document)}."
        )
    return dict(document)


def validate_document(document: Any) -> dict[str, Any]:
    """Check a feature-flag document as AppConfig does on upload; return it as a dict.

    Two layers, as ``CreateHostedConfigurationVersion`` applies them: the
    ``AWS.AppConfig.FeatureFlags`` JSON schema (:data:`SCHEMA_URL`: version ``"1"``; flag and
    attribute keys ``^[a-z][a-zA-Z\\d_-]{0,63}$``; at most 25 attributes; constraints of type
    ``number`` (integer ``minimum``/``maximum``), ``string`` (``pattern`` *or* ``enum``),
    ``array`` (``elements``), ``boolean``; no unknown properties), then "each feature flag
    attribute in your data satisfies the constraints you defined for those attributes" —
    type, ``required``, ``minimum``/``maximum``, ``pattern`` (searched, as JSON Schema does),
    ``enum``, and ``elements`` for every array element. Beyond the schema, it checks what the
    guide states elsewhere: ``enabled`` is a reserved attribute name; values belong to defined
    flags; a multi-variant flag has at most 32 variants with unique names, ends with its default
    variant, which has no rule, and every other variant's rule parses.

    Args:
        document: A dict, or its JSON text or bytes.

    Returns:
        The document as a dict (parsed when text was given).

    Raises:
        FlagDocumentError: The first problem found; ``where`` is its JSON path, e.g.
            ``flags.checkout.attributes.limit.constraints.maximum``.
        labs.practices.rules.RuleError: A variant rule does not parse; ``where`` is the rule's
            JSON path plus the character offset.
    """
    doc = load_document(document)
    _only(doc, ("version", "flags", "values"), "", "The document")
    if "version" not in doc:
        raise _fail("version", 'The document needs "version": "1".')
    if doc["version"] != "1":
        raise _fail(
            "version",
            f'The schema version must be the string "1", got {doc["version"]!r}.',
            'Write "version": "1" (a string, not a number).',
        )
    flags = _object(doc.get("flags", {}), "flags", "flags")
    attributes_of: dict[str, Mapping[str, Any]] = {}
    for key, definition in flags.items():
        _key_ok(key, "flags", "flag")
        attributes_of[key] = _check_flag(key, definition)
    values = _object(doc.get("values", {}), "values", "values")
    for key, value in values.items():
        _key_ok(key, "values", "flag")
        if key not in flags:
            raise _fail(
                _join("values", key),
                f"There is a value for flag {key!r}, but no flag {key!r} is defined in flags.",
                f"Define it under flags first; defined: {', '.join(flags) or 'none'}.",
            )
        _check_value(key, value, attributes_of[key])
    return doc


def _check_flag(key: str, definition: Any) -> Mapping[str, Any]:
    path = _join("flags", key)
    flag = _object(definition, path, f"Flag {key!r}")
    _only(
        flag,
        ("name", "description", "_createdAt", "_updatedAt", "_deprecation", "attributes"),
        path,
        "A flag definition",
    )
    if "name" in flag:
        _name(flag["name"], _join(path, "name"), "A flag's name")
    if "description" in flag:
        _text(flag["description"], _join(path, "description"), "A description", _MAX_STRING)
    for stamp in ("_createdAt", "_updatedAt"):
        if stamp in flag:
            _text(flag[stamp], _join(path, stamp), stamp, 10**6)
    if "_deprecation" in flag:
        dpath = _join(path, "_deprecation")
        deprecation = _object(flag["_deprecation"], dpath, "_deprecation")
        _only(deprecation, ("status", "date"), dpath, "_deprecation")
        if "status" in deprecation and deprecation["status"] != "planned":
            raise _fail(_join(dpath, "status"), 'The only deprecation status is "planned".')
        if "date" in deprecation and not (
            isinstance(deprecation["date"], str) and _DATE.match(deprecation["date"])
        ):
            raise _fail(_join(dpath, "date"), "The deprecation date is a date, YYYY-MM-DD.")
    apath = _join(path, "attributes")
    attributes = _object(flag.get("attributes", {}), apath, "attributes")
    if len(attributes) > _MAX_ATTRIBUTES:
        raise _fail(
            apath, f"A flag has at most {_MAX_ATTRIBUTES} attributes, got {len(attributes)}."
        )
    for name, attribute in attributes.items():
        _key_ok(name, apath, "attribute")
        if name == "enabled":
            raise _fail(
                _join(apath, name),
                'The attribute name "enabled" is reserved: it is the flag\'s own on/off value.',
                "Choose another name, e.g. 'active' or 'isOn'.",
            )
        _check_attribute(_join(apath, name), attribute)
    return attributes


def _check_attribute(path: str, attribute: Any) -> None:
    attr = _object(attribute, path, "An attribute definition")
    _only(attr, ("description", "constraints"), path, "An attribute definition")
    if "description" in attr:
        _text(attr["description"], _join(path, "description"), "A description", _MAX_STRING)
    if "constraints" in attr:
        _check_constraints(_join(path, "constraints"), attr["constraints"], elements=False)


def _check_constraints(path: str, constraints: Any, *, elements: bool) -> None:
    c = _object(constraints, path, "constraints")
    kinds = ("number", "string") if elements else tuple(_CONSTRAINT_KEYS)
    kind = c.get("type")
    if kind is None:
        raise _fail(_join(path, "type"), f"constraints need a type: one of {', '.join(kinds)}.")
    if kind not in kinds:
        raise _fail(
            _join(path, "type"),
            f"{kind!r} is not a constraint type{' for array elements' if elements else ''}; "
            f"use one of {', '.join(kinds)}.",
        )
    _only(c, _CONSTRAINT_KEYS[kind], path, f"A {kind} constraint")
    if "required" in c and not isinstance(c["required"], bool):
        raise _fail(_join(path, "required"), "required must be true or false.")
    for bound in ("minimum", "maximum"):
        if bound in c and not _is_integer(c[bound]):
            raise _fail(
                _join(path, bound),
                f"{bound} must be an integer (the schema's numberConstraints), got {c[bound]!r}.",
            )
    if "minimum" in c and "maximum" in c and c["minimum"] > c["maximum"]:
        raise _fail(
            _join(path, "maximum"),
            f"maximum ({c['maximum']}) is below minimum ({c['minimum']}): no value could pass.",
        )
    if "pattern" in c and "enum" in c:
        raise _fail(
            _join(path, "enum"),
            "A string constraint has a pattern or an enum, not both (the schema forbids it).",
        )
    if "pattern" in c:
        _text(c["pattern"], _join(path, "pattern"), "pattern", _MAX_STRING)
        try:
            re.compile(c["pattern"])
        except re.error as exc:
            raise _fail(
                _join(path, "pattern"), f"pattern is not a valid regular expression: {exc}."
            ) from None
    if "enum" in c:
        epath = _join(path, "enum")
        options = c["enum"]
        if not isinstance(options, list):
            raise _fail(epath, f"enum must be an array, got {_json_type(options)}.")
        if len(options) > _MAX_ENUM:
            raise _fail(epath, f"enum has at most {_MAX_ENUM} options, got {len(options)}.")
        for i, option in enumerate(options):
            if not (
                _is_integer(option) or (isinstance(option, str) and len(option) <= _MAX_STRING)
            ):
                raise _fail(
                    _join(epath, i), f"enum options are strings or integers, got {option!r}."
                )
    if "elements" in c:
        _check_constraints(_join(path, "elements"), c["elements"], elements=True)


def _check_value(key: str, value: Any, attributes: Mapping[str, Any]) -> None:
    path = _join("values", key)
    v = _object(value, path, f"The value of flag {key!r}")
    for name, item in v.items():
        if name == "enabled":
            if not isinstance(item, bool):
                raise _fail(_join(path, name), f"enabled must be true or false, got {item!r}.")
        elif name in ("_createdAt", "_updatedAt"):
            _text(item, _join(path, name), name, 10**6)
        elif name == "_variants":
            _check_variants(key, item, attributes)
        elif name == "attributeValues":
            raise _fail(
                _join(path, name),
                "A basic flag's attribute values sit next to enabled, not under attributeValues "
                "(only variants have attributeValues).",
                f'Write "values": {{"{key}": {{"enabled": true, "<attribute>": <value>}}}}.',
            )
        else:
            _key_ok(name, path, "attribute")
    if "_variants" not in v:
        _check_attribute_values(
            path,
            {k: x for k, x in v.items() if not k.startswith("_") and k != "enabled"},
            attributes,
        )


def _check_variants(key: str, variants: Any, attributes: Mapping[str, Any]) -> None:
    path = _join(_join("values", key), "_variants")
    if not isinstance(variants, list):
        raise _fail(path, f"_variants must be an array, got {_json_type(variants)}.")
    if not variants:
        raise _fail(
            path, "_variants is empty: a multi-variant flag needs at least its default variant."
        )
    if len(variants) > _MAX_VARIANTS:
        raise _fail(path, f"A flag has at most {_MAX_VARIANTS} variants, got {len(variants)}.")
    seen: dict[str, int] = {}
    last = len(variants) - 1
    for i, variant in enumerate(variants):
        vpath = _join(path, i)
        var = _object(variant, vpath, "A variant")
        _only(var, ("enabled", "name", "rule", "attributeValues"), vpath, "A variant")
        for required in ("name", "enabled"):
            if required not in var:
                raise _fail(_join(vpath, required), f"A variant needs {required!r}.")
        _name(var["name"], _join(vpath, "name"), "A variant's name")
        if var["name"] in seen:
            raise _fail(
                _join(vpath, "name"),
                f"Variant name {var['name']!r} is already used by _variants[{seen[var['name']]}].",
            )
        seen[var["name"]] = i
        if not isinstance(var["enabled"], bool):
            raise _fail(
                _join(vpath, "enabled"), f"enabled must be true or false, got {var['enabled']!r}."
            )
        rule = var.get("rule")
        has_rule = isinstance(rule, str) and rule.strip() != ""
        if "rule" in var:
            _text(rule, _join(vpath, "rule"), "A rule", 16384)
        if i == last and has_rule:
            raise _fail(
                _join(vpath, "rule"),
                "The last variant is the default variant, which cannot have a rule (AppConfig "
                "answers BadRequestException).",
                "Add a variant without a rule at the end of _variants: the default.",
            )
        if i < last and not has_rule:
            raise _fail(
                _join(vpath, "rule"),
                f"Variant {var['name']!r} has no rule, but only the last variant (the default) "
                "may go without one.",
                "Give it a rule, or move it to the end of _variants.",
            )
        if has_rule:
            try:
                parse_rule(rule)
            except RuleError as exc:
                raise exc.located(_join(vpath, "rule")) from None
        values = _object(
            var.get("attributeValues", {}), _join(vpath, "attributeValues"), "attributeValues"
        )
        for name in values:
            _key_ok(name, _join(vpath, "attributeValues"), "attribute")
        _check_attribute_values(_join(vpath, "attributeValues"), values, attributes)


def _check_attribute_values(
    path: str, values: Mapping[str, Any], attributes: Mapping[str, Any]
) -> None:
    if len(values) > _MAX_ATTRIBUTES:
        raise _fail(path, f"At most {_MAX_ATTRIBUTES} attribute values, got {len(values)}.")
    for name, value in values.items():
        if name not in attributes:
            raise _fail(
                _join(path, name),
                f"{name!r} is not an attribute of this flag.",
                "Define it under the flag's attributes; defined: "
                f"{', '.join(attributes) or 'none'}.",
            )
        _check_attribute_value(_join(path, name), value)
        constraints = (
            attributes[name].get("constraints") if isinstance(attributes[name], Mapping) else None
        )
        if constraints:
            _satisfies(_join(path, name), value, constraints)
    for name, attribute in attributes.items():
        constraints = attribute.get("constraints", {}) if isinstance(attribute, Mapping) else {}
        if constraints.get("required") and name not in values:
            raise _fail(
                _join(path, name),
                f"Attribute {name!r} is required (constraints.required is true) but has no value "
                "here.",
                f"Give {name!r} a value, or make it optional.",
            )


def _check_attribute_value(path: str, value: Any) -> None:
    """The schema's attributeValue: a string (≤ 1024), a number, a boolean, or an array of
    strings or of numbers."""
    if isinstance(value, str):
        _text(value, path, "A string value", _MAX_STRING)
    elif isinstance(value, bool) or _is_number(value):
        return
    elif isinstance(value, list):
        if all(isinstance(v, str) and len(v) <= _MAX_STRING for v in value):
            return
        if all(_is_number(v) for v in value):
            return
        raise _fail(path, "An array value holds strings only or numbers only.")
    else:
        raise _fail(
            path,
            f"An attribute value is a string, number, boolean or array; got {_json_type(value)}.",
        )


def _satisfies(path: str, value: Any, c: Mapping[str, Any]) -> None:
    kind = c["type"]
    if kind == "boolean" and not isinstance(value, bool):
        raise _fail(path, f"The attribute is a boolean; {value!r} is not.")
    if kind == "number":
        if not _is_number(value):
            raise _fail(path, f"The attribute is a number; {value!r} is not.")
        if "minimum" in c and value < c["minimum"]:
            raise _fail(
                path,
                f"{value} is below the minimum {c['minimum']}.",
                "Raise the value or the constraint.",
            )
        if "maximum" in c and value > c["maximum"]:
            raise _fail(
                path,
                f"{value} is above the maximum {c['maximum']}.",
                "Lower the value or raise the constraint.",
            )
    if kind == "string":
        if not isinstance(value, str):
            raise _fail(path, f"The attribute is a string; {value!r} is not.")
        if "pattern" in c and not re.search(c["pattern"], value):
            raise _fail(path, f"{value!r} does not match the pattern {c['pattern']!r}.")
        if "enum" in c and value not in c["enum"]:
            raise _fail(path, f"{value!r} is not one of the allowed values {c['enum']}.")
    if kind == "array":
        if not isinstance(value, list):
            raise _fail(path, f"The attribute is an array; {value!r} is not.")
        if "elements" in c:
            for i, item in enumerate(value):
                _satisfies(_join(path, i), item, c["elements"])


# --------------------------------------------------------------------------------------------
# Evaluation: what the AppConfig Agent returns
# --------------------------------------------------------------------------------------------


def _variant_list(variants: Any) -> list[tuple[str, Rule | None]]:
    if (
        isinstance(variants, Mapping)
        or not isinstance(variants, Sequence)
        or isinstance(variants, str)
    ):
        raise InputError(
            "variants is an ordered list of (name, rule) pairs, the default last with rule None.",
            where="variants",
            hint='e.g. [("premium", \'(eq $plan "premium")\'), ("control", None)]',
        )
    out: list[tuple[str, Rule | None]] = []
    for i, item in enumerate(variants):
        if not (isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2):
            raise InputError(
                f"variants[{i}] is {item!r}, not a (name, rule) pair.", where=f"variants[{i}]"
            )
        name, rule = item
        if not isinstance(name, str) or not name:
            raise InputError(f"variants[{i}] has no name.", where=f"variants[{i}]")
        empty = rule is None or (isinstance(rule, str) and not rule.strip())
        if i == len(variants) - 1:
            if not empty:
                raise InputError(
                    f"The last variant, {name!r}, is the default: its rule must be None.",
                    where=f"variants[{i}]",
                    hint="Add the default variant at the end: (name, None).",
                )
            out.append((name, None))
        else:
            if empty:
                raise InputError(
                    f"Variant {name!r} has no rule; only the last variant (the default) may.",
                    where=f"variants[{i}]",
                )
            try:
                out.append((name, rule if isinstance(rule, Rule) else parse_rule(rule)))
            except RuleError as exc:
                raise exc.located(f"variants[{i}] ({name})") from None
    if not out:
        raise InputError(
            "variants is empty: it needs at least the default variant.", where="variants"
        )
    return out


def select_variant(
    variants: Sequence[tuple[str, str | Rule | None]],
    context: Mapping[str, Any] | None = None,
    *,
    flag: str | None = None,
) -> str:
    """Return the name of the variant a request context gets: the first whose rule matches.

    "Variants are evaluated as an ordered list ... If no rules match the supplied context,
    AWS AppConfig returns the Default variant" (:data:`labs.practices.rules.RULES_URL`). Ordered
    variants that ``split`` on the same value and seed share one hash space: with
    ``A: (split by::$id pct::20)`` and ``B: (split by::$id pct::25)``, B gets 5% of ids.

    Args:
        variants: ``[(name, rule), ..., (default_name, None)]`` in evaluation order.
        context: The request context.
        flag: The flag key, the salt of ``split`` rules without ``seed::``.
    """
    context = context or {}
    for name, rule in _variant_list(variants):
        if rule is None or rule.matches(context, flag=flag):
            return name
    raise AssertionError("unreachable: the default variant always matches")  # pragma: no cover


def assign_variants(
    variants: Sequence[tuple[str, str | Rule | None]],
    contexts: pd.DataFrame,
    *,
    flag: str | None = None,
) -> np.ndarray:
    """Return :func:`select_variant` for every row of ``contexts`` at once (vectorised).

    Each variant's rule is evaluated over the rows that no earlier variant took, with
    :func:`labs.practices.rules.rule_mask`; a ``split`` costs one SHA-256 per id.

    Args:
        variants: As for :func:`select_variant`.
        contexts: One context per row; columns are context keys, NaN a missing key.
        flag: The flag key.

    Returns:
        An array of variant names, one per row.
    """
    ordered = _variant_list(variants)
    if not isinstance(contexts, pd.DataFrame):
        raise InputError(
            f"contexts must be a DataFrame (one context per row), got {type(contexts).__name__}.",
            where="contexts",
        )
    out = np.full(len(contexts), ordered[-1][0], dtype=object)
    open_rows = np.arange(len(contexts))
    for name, rule in ordered[:-1]:
        if not open_rows.size:
            break
        assert rule is not None
        hit = rule_mask(rule, contexts.iloc[open_rows], flag=flag)
        out[open_rows[hit]] = name
        open_rows = open_rows[~hit]
    return out


def variants_of(document: Any, flag: str) -> list[tuple[str, str | None]]:
    """Return a multi-variant flag's ordered ``(name, rule)`` pairs, the default last (rule None).

    The input of :func:`select_variant` and :func:`assign_variants`, read from a validated
    document.

    Raises:
        FlagDocumentError: The document is invalid, has no flag ``flag``, or the flag has no
            variants.
    """
    doc = validate_document(document)
    value = doc.get("values", {}).get(flag)
    if flag not in doc.get("flags", {}) or not value or "_variants" not in value:
        raise FlagDocumentError(
            f"Flag {flag!r} has no variants in this document.",
            where=f"values.{flag}._variants",
            hint="Multi-variant flags list their variants under values.<flag>._variants.",
        )
    return [(v["name"], v.get("rule") or None) for v in value["_variants"]]


def _payload(enabled: bool, attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {"enabled": enabled, **(dict(attributes) if enabled else {})}


def evaluate(document: Any, flag: str, context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return one flag's value for a request context, as the AppConfig Agent returns it.

    A basic flag gives ``{"enabled": bool, <attribute>: value, ...}`` (attributes only when
    enabled). A multi-variant flag gives the chosen variant's value plus ``"_variant"``, its
    name, e.g. ``{"_variant": "Default Variant", "enabled": False}``. The document is validated
    first (:func:`validate_document`).

    Args:
        document: The feature-flag document (dict, JSON text or bytes).
        flag: The flag key.
        context: The request context (what the Agent receives as ``Context: key=value``).

    Raises:
        FlagDocumentError: The document is invalid, or has no flag ``flag``.
    """
    doc = validate_document(document)
    flags = doc.get("flags", {})
    if flag not in flags:
        raise FlagDocumentError(
            f"There is no flag {flag!r} in this document.",
            where="flags",
            hint=f"Flags defined: {', '.join(flags) or 'none'}.",
        )
    value = doc.get("values", {}).get(flag, {})
    if "_variants" in value:
        variants = value["_variants"]
        pairs = [(v["name"], v.get("rule") or None) for v in variants]
        chosen_name = select_variant(pairs, context, flag=flag)
        chosen = next(v for v in variants if v["name"] == chosen_name)
        return {
            "_variant": chosen_name,
            **_payload(chosen["enabled"], chosen.get("attributeValues", {})),
        }
    attributes = {k: v for k, v in value.items() if not k.startswith("_") and k != "enabled"}
    return _payload(bool(value.get("enabled", False)), attributes)


def evaluate_all(
    document: Any, context: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """Return every flag for a request context: the JSON the AppConfig Agent serves."""
    doc = validate_document(document)
    return {key: evaluate(doc, key, context) for key in doc.get("flags", {})}
