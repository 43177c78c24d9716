"""Is a text English, Russian, or neither? Letter and function-word counts decide."""

from __future__ import annotations

_LATIN_COMMON = "etaoin"
_CYRILLIC_COMMON = "оеаинт"
_OTHER_CYRILLIC = "әғқңөұүһіїєґўђјљњћџѓќѕ"
_EN_WORDS = (" the ", " of ", " and ", " to ", " in ", " is ", " for ", " on ")
_EN_MORE = (
    " were ",
    " are ",
    " was ",
    " has ",
    " have ",
    " will ",
    " with ",
    " that ",
    " by ",
    " from ",
    " while ",
    " said ",
    " its ",
    " their ",
    " this ",
    " which ",
    " been ",
    " an ",
    " at ",
    " as ",
)
_RU_WORDS = (
    " и ",
    " в ",
    " на ",
    " с ",
    " по ",
    " что ",
    " не ",
    " для ",
    " из ",
    " от ",
    " за ",
    " как ",
    " года ",
    " также ",
    " будет ",
    " который ",
    " которые ",
)
_BG_WORDS = (" е ", " са ", " се ", " ще ", " това ", " които ", " който ", " която ", " към ", " със ")
SAMPLE = 1_500


def detect_language(text: str) -> str | None:
    """``"en"``, ``"ru"`` or None when the text is neither (or has no words)."""
    return detect_lower(text[:SAMPLE].lower())


def detect_lower(sample: str) -> str | None:
    """:func:`detect_language` for text already lower-cased (its first couple of thousand
    characters are enough)."""
    sample = " " + " ".join(sample[:SAMPLE].split()) + " "
    n_lat = sum(map(sample.count, _LATIN_COMMON))
    n_cyr = sum(map(sample.count, _CYRILLIC_COMMON))
    letters = sum(1 for ch in sample if ch.isalpha()) if len(sample) < 400 else None
    if n_lat + n_cyr == 0:
        return None
    n_words = sample.count(" ")
    if letters is None:
        # these letters make up about half of the letters of English or Russian text
        alpha_estimate = len(sample) - n_words
        if (n_lat + n_cyr) * 4 < alpha_estimate:
            return None  # another script: Chinese, Arabic, Korean...
    elif (n_lat + n_cyr) * 4 < letters:
        return None
    if n_cyr > n_lat:
        if sum(map(sample.count, _OTHER_CYRILLIC)) * 100 > n_cyr:
            return None  # Kazakh, Ukrainian, Belarusian, Serbian...
        if n_words < 12:
            return "ru"
        ru = sum(map(sample.count, _RU_WORDS))
        bg = sum(map(sample.count, _BG_WORDS))
        if ru * 100 < 6 * n_words or bg * 3 > ru:
            return None
        return "ru"
    if n_words < 12:
        return "en"
    en = sum(map(sample.count, _EN_WORDS))
    if en * 100 < 8 * n_words:
        en += sum(map(sample.count, _EN_MORE))  # a short or terse text: look at more words
    return "en" if en * 100 >= 8 * n_words else None
