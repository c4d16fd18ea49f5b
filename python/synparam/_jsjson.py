"""JSON text exactly as JavaScript's ``JSON.parse``/``JSON.stringify`` give it.

The command (Node) hashes a model as ``JSON.stringify(JSON.parse(text))`` and writes its provenance
sidecar with ``JSON.stringify(document, null, 2)``. The same bytes from Python need JavaScript's
number formatting (``1.0`` → ``1``, ``1e-7`` → ``1e-7``, ``1e21`` → ``1e+21``), its key order
(integer-like keys first, ascending) and its refusal of ``NaN``/``Infinity``.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from decimal import Decimal

__all__ = ["js_number", "stringify", "parse", "parses_exactly", "canonical_config_text", "sha256_of_text"]

_MAX_SAFE = 2**53 - 1
_BIG_INT = re.compile(r"-?\d{16,}(?![\d.eE])")


def parses_exactly(text: str) -> bool:
    """Whether JS's JSON.parse keeps every number of ``text`` (no integer literal beyond 2^53)."""
    for match in _BIG_INT.finditer(text):
        if abs(int(match.group(0))) > _MAX_SAFE:
            return False
    return True


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def parse(text: str):
    """``JSON.parse``: strict JSON (no NaN/Infinity); numbers as Python int/float."""
    return json.loads(text, parse_constant=_reject_constant)


def js_number(value) -> str:
    """``String(x)`` / ``JSON.stringify(x)`` of a JS number (a float or int, as a double)."""
    if isinstance(value, bool):
        raise TypeError("a bool is not a number")
    if isinstance(value, int) and abs(value) <= _MAX_SAFE:
        return str(value)
    x = float(value)
    if not math.isfinite(x):
        return "null"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    digits_tuple, exponent = Decimal(repr(abs(x))).as_tuple()[1:]
    digits = "".join(map(str, digits_tuple)).lstrip("0")
    # value = int(digits_all) * 10**exponent; trailing zeros moved into the exponent
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped or "0"
    k = len(digits)
    n = exponent + k  # value = 0.d1d2... * 10^n
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def _is_array_index(key: str) -> bool:
    return key.isdigit() and key.isascii() and (key == "0" or not key.startswith("0")) and int(key) < 2**32 - 1


def _ordered_items(obj: dict):
    items = list(obj.items())
    indices = sorted((item for item in items if _is_array_index(item[0])), key=lambda kv: int(kv[0]))
    return indices + [item for item in items if not _is_array_index(item[0])]


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def stringify(value, indent: int | None = None) -> str:
    """``JSON.stringify(value, null, indent)``."""
    out: list[str] = []

    def write(v, level):
        if v is None:
            out.append("null")
        elif v is True:
            out.append("true")
        elif v is False:
            out.append("false")
        elif isinstance(v, (int, float)):
            out.append(js_number(v))
        elif isinstance(v, str):
            out.append(_quote(v))
        elif isinstance(v, dict):
            items = [(str(k), x) for k, x in _ordered_items({str(k): x for k, x in v.items()})]
            if not items:
                out.append("{}")
                return
            if indent is None:
                out.append("{")
                for i, (k, x) in enumerate(items):
                    if i:
                        out.append(",")
                    out.append(_quote(k) + ":")
                    write(x, level + 1)
                out.append("}")
            else:
                pad = " " * (indent * (level + 1))
                out.append("{\n")
                for i, (k, x) in enumerate(items):
                    if i:
                        out.append(",\n")
                    out.append(pad + _quote(k) + ": ")
                    write(x, level + 1)
                out.append("\n" + " " * (indent * level) + "}")
        elif isinstance(v, (list, tuple)):
            if not v:
                out.append("[]")
                return
            if indent is None:
                out.append("[")
                for i, x in enumerate(v):
                    if i:
                        out.append(",")
                    write(x, level + 1)
                out.append("]")
            else:
                pad = " " * (indent * (level + 1))
                out.append("[\n")
                for i, x in enumerate(v):
                    if i:
                        out.append(",\n")
                    out.append(pad)
                    write(x, level + 1)
                out.append("\n" + " " * (indent * level) + "]")
        else:
            raise TypeError(f"not JSON: {type(v).__name__}")

    write(value, 0)
    return "".join(out)


def canonical_config_text(config_text: str) -> str:
    """The text whose SHA-256 identifies a model (provenance.js ``canonicalConfigText``)."""
    if not parses_exactly(config_text):
        return config_text
    try:
        return stringify(parse(config_text))
    except (ValueError, RecursionError):
        return config_text


def sha256_of_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
