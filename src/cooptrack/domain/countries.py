"""Country names in any language to ISO 3166-1 alpha-3, through ``countrynames``."""

from __future__ import annotations

from functools import lru_cache

import countrynames

from cooptrack.domain._fail import invalid


@lru_cache(maxsize=4096)
def _lookup(name: str) -> str | None:
    try:
        code: str | None = countrynames.to_code_3(name, fuzzy=False)
    except KeyError:  # a former country's alpha-2 (DD) with no alpha-3 in its mapping
        return None
    return code


def find_country(name: str) -> str | None:
    """Alpha-3 code for a name, demonym or code in any language, or None."""
    if not name or not name.strip():
        return None
    text = name.strip()
    if len(text) == 3 and text.isupper() and text in _alpha2_by_alpha3():
        return text  # already a code: no need to load the name tables
    return _lookup(text)


def resolve_country(name: str, field: str = "country") -> str:
    """Like :func:`find_country`, but an unknown name is an error."""
    code = find_country(name)
    if code is None:
        invalid(
            "unknown_country",
            f"{field} '{name}' is not a known country; use an ISO 3166 code (KAZ, KOR) "
            "or a name such as 'Kazakhstan' or 'South Korea'",
            field,
            name,
        )
    return code


@lru_cache(maxsize=1)
def _alpha2_by_alpha3() -> dict[str, str]:
    return {a3: a2 for a2, a3 in countrynames.mappings.items()}


def country_name(code: str, locale: str = "en") -> str:
    """The country's short name in ``locale`` (Babel's CLDR data), or the code itself."""
    from babel import Locale

    alpha2 = _alpha2_by_alpha3().get(code)
    if alpha2 is None:
        return code
    name: str | None = Locale.parse(locale).territories.get(alpha2)
    return name or code
