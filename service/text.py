"""Text normalisation for matching names typed by people against names in data."""

import re
import unicodedata


def normalise(text: str) -> str:
    """Lower-case, accent-free, punctuation-free text for matching place and program names."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = re.sub(r"[^\w\s]", " ", plain.casefold())
    return re.sub(r"\s+", " ", plain).strip()
