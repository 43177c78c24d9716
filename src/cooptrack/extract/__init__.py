"""Rule-based extraction of claims (money, counts, percentages, periods, statuses, parties,
sectors, commodities, named projects) from English and Russian news and official releases.

Pure and fast: no network, no models, nothing downloaded. See :func:`extract`. Files (text,
HTML, PDF) are read by :mod:`cooptrack.services.documents`.
"""

from __future__ import annotations

from cooptrack.extract.core import extract
from cooptrack.extract.decode import decode
from cooptrack.extract.language import detect_language
from cooptrack.extract.model import Claim, Extraction

__all__ = ["Claim", "Extraction", "decode", "detect_language", "extract"]
