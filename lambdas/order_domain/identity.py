"""The one identity of an order: the canonical form of its `orderId`, and the Step Functions execution name
derived from it. The intake, validation, the execution name, the idempotency keys, the tables and the local
runner's results all go through `canonical_order_id`, so two messages are the same order exactly when their
ids have the same canonical form."""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata

ORDER_ID_MAX_CHARS = 80

# Step Functions execution names: 1 to 80 characters, and only 0-9 A-Z a-z - _ if the execution's logs are to
# work in CloudWatch Logs (StartExecution also refuses whitespace, brackets, wildcards, "#%\^|~`$&,;:/, control
# characters and surrogates). https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
EXECUTION_NAME_MAX_CHARS = 80
_LOG_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
# A hashed name ends in HASH_SEPARATOR + the full SHA-256 of the canonical id in unpadded lowercase base32.
HASH_SEPARATOR = "--"
_HASH_CHARS = 52  # ceil(256 / 5)
_LOOKS_HASHED = re.compile(rf".*{HASH_SEPARATOR}[a-z2-7]{{{_HASH_CHARS}}}")
_READABLE_CHARS = EXECUTION_NAME_MAX_CHARS - len(HASH_SEPARATOR) - _HASH_CHARS

# Characters an order id may hold: letters, marks, numbers, punctuation, symbols and the plain space between
# them. Refused: control (Cc) and format (Cf: zero-width, bidi overrides) characters, surrogates (Cs), private
# use (Co), unassigned code points and noncharacters (Cn; NFC is only stable for assigned characters), and any
# separator but U+0020 (a no-break or ideographic space would look like a space and be another order).
_ALLOWED_CATEGORIES = ("L", "M", "N", "P", "S")
_REFUSED_KIND = {
    "Cc": "a control character",
    "Cf": "an invisible format character",
    "Cs": "an unpaired surrogate, not Unicode text",
    "Co": "a private-use character",
    "Cn": "an unassigned code point or noncharacter",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Zs": "a space other than U+0020",
}


class InvalidOrderId(ValueError):
    """The value cannot be an order id; the message says why (without the field name)."""


def canonical_order_id(value: object) -> str:
    """The canonical form of an order id: surrounding whitespace removed, then Unicode NFC. Raises
    InvalidOrderId for a value that has no canonical form (not a string, blank, too long, or holding a
    character an id may not hold). Idempotent: canonical_order_id(canonical_order_id(x)) == canonical_order_id(x)."""
    if not isinstance(value, str):
        raise InvalidOrderId(f"must be a string, got {_json_type(value)}")
    # A surrogate in a Python str decoded from JSON is always unpaired ("\ud83d\ude00" decodes to one character).
    _refuse_characters(value, only_surrogates=True)
    stripped = value.strip()
    if not stripped:
        raise InvalidOrderId("must not be empty" if not value else "must not be blank")
    canonical = unicodedata.normalize("NFC", stripped)
    _refuse_characters(canonical, only_surrogates=False)
    if len(canonical) > ORDER_ID_MAX_CHARS:
        raise InvalidOrderId(f"must be at most {ORDER_ID_MAX_CHARS} characters, got {len(canonical)}")
    return canonical


def _refuse_characters(text: str, *, only_surrogates: bool) -> None:
    for position, char in enumerate(text, start=1):
        category = unicodedata.category(char)
        if only_surrogates and category != "Cs":
            continue
        if category[0] in _ALLOWED_CATEGORIES or char == " ":
            continue
        raise InvalidOrderId(f"character {position} is U+{ord(char):04X}, {_REFUSED_KIND[category]}")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def execution_name(order_id: str) -> str:
    """The Step Functions execution name of an order: a function of its canonical id only, so every message
    of one order maps to one execution, and injective, so two orders never share one.

    * A canonical id made only of 0-9 A-Z a-z - _ (at most 80) is its own name, unless it has the shape of a
      hashed name (ends in "--" + 52 base32 characters);
    * every other id is named `<readable prefix>--<SHA-256 of the canonical id, base32>`.

    Plain names are distinct ids; a plain name never has the hashed shape, a hashed name always has it; two
    hashed names are equal only if two ids' SHA-256 digests collide. Raises InvalidOrderId as canonical_order_id."""
    canonical = canonical_order_id(order_id)
    if _LOG_SAFE_NAME.fullmatch(canonical) and not _LOOKS_HASHED.fullmatch(canonical):
        return canonical
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    hashed = base64.b32encode(digest).decode("ascii").rstrip("=").lower()
    return f"{_readable(canonical)}{HASH_SEPARATOR}{hashed}"


def _readable(canonical: str) -> str:
    """A recognisable prefix for humans reading the console: accents folded to ASCII, other characters as '_'."""
    folded = unicodedata.normalize("NFKD", canonical).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9_-]", "_", folded)[:_READABLE_CHARS].rstrip("-")
