"""Words for figures in English and Russian news: scale words, currencies, count units,
approximation words. Each table maps a lower-case form (``ё`` written ``е``) to its value."""

from __future__ import annotations

from decimal import Decimal


def forms(stem: str, *endings: str) -> list[str]:
    """``forms("проект", "", "а", "ов")`` -> ``["проект", "проекта", "проектов"]``."""
    return [stem + e for e in endings]


# --- scale words -------------------------------------------------------------------------
THOUSAND, MILLION, BILLION, TRILLION = (Decimal(10) ** n for n in (3, 6, 9, 12))

SCALES: dict[str, Decimal] = {}
for _word, _value in (
    ("thousand", THOUSAND),
    ("thousands", THOUSAND),
    ("thou", THOUSAND),
    ("million", MILLION),
    ("millions", MILLION),
    ("mln", MILLION),
    ("mn", MILLION),
    ("mio", MILLION),
    ("billion", BILLION),
    ("billions", BILLION),
    ("bn", BILLION),
    ("bln", BILLION),
    ("bil", BILLION),
    ("trillion", TRILLION),
    ("trillions", TRILLION),
    ("tn", TRILLION),
    ("trn", TRILLION),
    ("trln", TRILLION),
    ("тыс", THOUSAND),
    ("тыс.", THOUSAND),
    ("млн", MILLION),
    ("млн.", MILLION),
    ("млрд", BILLION),
    ("млрд.", BILLION),
    ("трлн", TRILLION),
    ("трлн.", TRILLION),
):
    SCALES[_word] = _value
for _stem, _value in (("тысяч", THOUSAND), ("миллион", MILLION), ("миллиард", BILLION), ("триллион", TRILLION)):
    for _w in forms(_stem, "", "а", "ов", "у", "ы", "ам", "ами", "ах", "ом", "е"):
        SCALES[_w] = _value
for _w in ("тысяча", "тысячи", "тысячу", "тысяче", "тысячей", "тысячам", "тысячами", "тысячах"):
    SCALES[_w] = THOUSAND
# Letters written straight after the digits: $5m, $2.5bn, $500k, $3b.
SUFFIX_SCALES: dict[str, Decimal] = {
    "k": THOUSAND,
    "m": MILLION,
    "b": BILLION,
    "bn": BILLION,
    "mn": MILLION,
    "mln": MILLION,
    "bln": BILLION,
    "tn": TRILLION,
    "trn": TRILLION,
}

# --- currencies --------------------------------------------------------------------------
# Written before the number: "$5", "US$ 7 billion", "USD 2.5bn", "€10m".
PREFIX_CURRENCIES: dict[str, str] = {
    "us$": "USD",
    "u.s.$": "USD",
    "us $": "USD",
    "u.s. $": "USD",
    "$": "USD",
    "usd": "USD",
    "€": "EUR",
    "eur": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "₸": "KZT",
    "kzt": "KZT",
    "₩": "KRW",
    "krw": "KRW",
    "₽": "RUB",
    "rub": "RUB",
    "rur": "RUB",
    "cny": "CNY",
    "rmb": "CNY",
    "uzs": "UZS",
    "jpy": "JPY",
    "kgs": "KGS",
    "chf": "CHF",
    "c$": "CAD",
    "a$": "AUD",
    "hk$": "HKD",
    "s$": "SGD",
}
# Written after the number (and its scale word): "7 billion dollars", "1,2 млрд тенге".
MANAT = "manat"
SUFFIX_CURRENCIES: dict[str, str] = {}
for _w in (
    "dollar",
    "dollars",
    "us dollar",
    "us dollars",
    "u.s. dollars",
    "u.s. dollar",
    "american dollars",
    "united states dollars",
    "usd",
    "$",
    "us$",
):
    SUFFIX_CURRENCIES[_w] = "USD"
for _w, _code in (
    ("canadian dollars", "CAD"),
    ("australian dollars", "AUD"),
    ("hong kong dollars", "HKD"),
    ("singapore dollars", "SGD"),
    ("new zealand dollars", "NZD"),
    ("euro", "EUR"),
    ("euros", "EUR"),
    ("eur", "EUR"),
    ("€", "EUR"),
    ("tenge", "KZT"),
    ("kazakh tenge", "KZT"),
    ("kazakhstani tenge", "KZT"),
    ("kzt", "KZT"),
    ("₸", "KZT"),
    ("won", "KRW"),
    ("korean won", "KRW"),
    ("south korean won", "KRW"),
    ("krw", "KRW"),
    ("₩", "KRW"),
    ("soum", "UZS"),
    ("soums", "UZS"),
    ("sum", "UZS"),
    ("sums", "UZS"),
    ("so'm", "UZS"),
    ("so‘m", "UZS"),
    ("soʻm", "UZS"),
    ("uzbek soums", "UZS"),
    ("uzbek sums", "UZS"),
    ("uzs", "UZS"),
    ("yuan", "CNY"),
    ("chinese yuan", "CNY"),
    ("renminbi", "CNY"),
    ("rmb", "CNY"),
    ("cny", "CNY"),
    ("ruble", "RUB"),
    ("rubles", "RUB"),
    ("rouble", "RUB"),
    ("roubles", "RUB"),
    ("russian rubles", "RUB"),
    ("russian roubles", "RUB"),
    ("rub", "RUB"),
    ("₽", "RUB"),
    ("yen", "JPY"),
    ("japanese yen", "JPY"),
    ("jpy", "JPY"),
    ("pounds sterling", "GBP"),
    ("pound sterling", "GBP"),
    ("british pounds", "GBP"),
    ("gbp", "GBP"),
    ("som", "KGS"),
    ("soms", "KGS"),
    ("kyrgyz som", "KGS"),
    ("kyrgyz soms", "KGS"),
    ("kgs", "KGS"),
    ("swiss francs", "CHF"),
    ("chf", "CHF"),
    ("turkish lira", "TRY"),
    ("indian rupees", "INR"),
    # Azerbaijan's or Turkmenistan's manat: resolved from the countries the text names.
    ("manat", MANAT),
    ("manats", MANAT),
    ("azerbaijani manats", "AZN"),
    ("turkmen manats", "TMT"),
):
    SUFFIX_CURRENCIES[_w] = _code
# Russian: every case form a number can govern.
for _w in forms("доллар", "", "а", "ов", "ы", "ам", "ами", "ах", "у", "ом") + ["долл.", "долл"]:
    SUFFIX_CURRENCIES[_w] = "USD"
    SUFFIX_CURRENCIES[_w + " сша"] = "USD"
    for _adj in ("американских", "американского", "американский", "американскими"):
        SUFFIX_CURRENCIES[f"{_adj} {_w}"] = "USD"
for _words, _code in (
    (["евро"], "EUR"),
    (["тенге", "тг", "тг."], "KZT"),
    (["вон", "воны", "вона", "вонах", "вонам", "корейских вон", "южнокорейских вон", "корейской воны"], "KRW"),
    (forms("сум", "", "а", "ов", "ы", "ах", "ам") + ["узбекских сумов"], "UZS"),
    (forms("юан", "ь", "я", "ей", "и", "ям", "ями", "ях", "ем") + ["китайских юаней"], "CNY"),
    (forms("рубл", "ь", "я", "ей", "и", "ям", "ями", "ях", "ем") + ["руб.", "руб", "российских рублей"], "RUB"),
    (forms("иен", "", "а", "ы", "ах", "ам") + forms("йен", "", "а", "ы", "ах", "ам"), "JPY"),
    (forms("сом", "", "а", "ов", "ы", "ах", "ам") + ["киргизских сомов", "кыргызских сомов"], "KGS"),
    (["фунтов стерлингов", "фунта стерлингов", "фунт стерлингов"], "GBP"),
    (["швейцарских франков"], "CHF"),
    (forms("манат", "", "а", "ов", "ы", "ах", "ам"), MANAT),
):
    for _w in _words:
        SUFFIX_CURRENCIES[_w] = _code
for _w in ("юани", "юаням"):
    SUFFIX_CURRENCIES.pop(_w, None)

# --- approximation -----------------------------------------------------------------------
# Words before a figure: value is (approximate, lower_bound).
APPROX: dict[str, tuple[bool, bool]] = {}
for _w in (
    "about",
    "around",
    "approximately",
    "approx.",
    "nearly",
    "almost",
    "some",
    "roughly",
    "close to",
    "an estimated",
    "estimated at",
    "circa",
    "up to",
    "less than",
    "under",
    "just under",
    "as much as",
    "as many as",
    "почти",
    "около",
    "примерно",
    "приблизительно",
    "порядка",
    "ориентировочно",
    "до",
    "менее",
    "не более",
    "меньше",
    "почти что",
):
    APPROX[_w] = (True, False)
for _w in (
    "over",
    "more than",
    "in excess of",
    "at least",
    "upwards of",
    "just over",
    "well over",
    "no less than",
    "not less than",
    "over than",
    "более",
    "свыше",
    "не менее",
    "больше",
    "более чем",
    "не меньше",
    "порядка более",
):
    APPROX[_w] = (True, True)

# --- count units -------------------------------------------------------------------------
# Plural forms only in English: "the 2019 agreement" is a year, not a count. Singular forms
# are listed apart and accepted only after "one"/"1".
UNITS_EN: dict[str, str] = {}
UNITS_EN_SINGULAR: dict[str, str] = {}
for _sing, _plur, _unit in (
    ("project", "projects", "project"),
    ("investment project", "investment projects", "project"),
    ("agreement", "agreements", "agreement"),
    ("deal", "deals", "agreement"),
    ("accord", "accords", "agreement"),
    ("treaty", "treaties", "agreement"),
    ("protocol", "protocols", "agreement"),
    ("document", "documents", "document"),
    ("memorandum", "memoranda", "mou"),
    ("memorandum of understanding", "memoranda of understanding", "mou"),
    ("memorandum of cooperation", "memoranda of cooperation", "mou"),
    ("mou", "mous", "mou"),
    ("contract", "contracts", "contract"),
    ("enterprise", "enterprises", "enterprise"),
    ("sme", "smes", "enterprise"),
    ("factory", "factories", "enterprise"),
    ("plant", "plants", "enterprise"),
    ("production facility", "production facilities", "enterprise"),
    ("company", "companies", "company"),
    ("firm", "firms", "company"),
    ("business", "businesses", "company"),
    ("industry", "industries", "industry"),
    ("sector", "sectors", "industry"),
    ("joint venture", "joint ventures", "joint_venture"),
    ("jv", "jvs", "joint_venture"),
    ("job", "jobs", "job"),
    ("workplace", "workplaces", "job"),
    ("job opportunity", "job opportunities", "job"),
    ("programme", "programmes", "other"),
    ("program", "programs", "other"),
    ("initiative", "initiatives", "other"),
    ("road map", "road maps", "other"),
    ("roadmap", "roadmaps", "other"),
    ("facility", "facilities", "other"),
    ("hospital", "hospitals", "other"),
    ("school", "schools", "other"),
    ("investor", "investors", "other"),
    ("specialist", "specialists", "other"),
    ("expert", "experts", "other"),
    ("worker", "workers", "other"),
    ("employee", "employees", "other"),
    ("student", "students", "other"),
    ("bank", "banks", "other"),
    ("startup", "startups", "other"),
    ("branch", "branches", "other"),
    ("office", "offices", "other"),
):
    UNITS_EN[_plur] = _unit
    UNITS_EN_SINGULAR[_sing] = _unit
UNITS_EN["memorandums"] = "mou"
UNITS_EN["memorandums of understanding"] = "mou"
UNITS_EN["memorandums of cooperation"] = "mou"
UNITS_EN["new jobs"] = "job"  # "new" is a gap word too; listed for clarity

_NOUN = ("", "а", "ов", "ы", "ам", "ами", "ах", "у", "ом", "е")
UNITS_RU: dict[str, str] = {}
for _words, _unit in (
    (forms("проект", *_NOUN), "project"),
    (forms("соглашени", "е", "я", "й", "ям", "ями", "ях", "ю", "ем"), "agreement"),
    (forms("договор", *_NOUN) + forms("договоренност", "ь", "и", "ей", "ям", "ями", "ях"), "agreement"),
    (forms("сделк", "а", "и", "ам", "ами", "ах", "у", "ой", "е") + ["сделок"], "agreement"),
    (forms("документ", *_NOUN), "document"),
    (forms("меморандум", *_NOUN) + [f"{m} о взаимопонимании" for m in forms("меморандум", *_NOUN)], "mou"),
    (forms("контракт", *_NOUN), "contract"),
    (forms("предприяти", "е", "я", "й", "ям", "ями", "ях", "ю", "ем"), "enterprise"),
    (forms("завод", *_NOUN) + forms("фабрик", "а", "и", "ам", "ами", "ах", "у", "ой", "е") + ["фабрик"], "enterprise"),
    (forms("производств", "о", "а", "ам", "ами", "ах", "у", "ом", "е") + ["производств"], "enterprise"),
    (
        forms("компани", "я", "и", "й", "ям", "ями", "ях", "ю", "ей")
        + forms("фирм", "а", "ы", "ам", "ами", "ах", "у")
        + ["фирм"],
        "company",
    ),
    (
        forms("отрасл", "ь", "и", "ей", "ям", "ями", "ях")
        + forms("сектор", *_NOUN)
        + forms("сфер", "а", "ы", "ам", "ами", "ах", "у", "е")
        + ["сфер"],
        "industry",
    ),
    (
        [
            f"{a} {n}"
            for a in ("совместных", "совместное", "совместного", "совместные", "совместным", "совместными")
            for n in forms("предприяти", "е", "я", "й", "ям", "ями", "ях", "ю", "ем")
        ]
        + ["сп"],
        "joint_venture",
    ),
    (
        [
            f"{a} {n}"
            for a in ("рабочих", "рабочее", "рабочего", "рабочие", "рабочим", "рабочими", "новых рабочих")
            for n in ("мест", "места", "место", "местами", "местах", "местам")
        ],
        "job",
    ),
    (
        forms("программ", "а", "ы", "ам", "ами", "ах", "у")
        + ["программ"]
        + forms("инициатив", "а", "ы", "ам", "ами", "ах", "у")
        + ["инициатив"]
        + forms("инвестор", *_NOUN)
        + forms("специалист", *_NOUN)
        + forms("эксперт", *_NOUN)
        + forms("банк", *_NOUN)
        + forms("объект", *_NOUN)
        + forms("больниц", "а", "ы", "ам", "ами", "ах", "у")
        + ["больниц"]
        + forms("школ", "а", "ы", "ам", "ами", "ах", "у")
        + ["школ"]
        + forms("студент", *_NOUN)
        + forms("работник", *_NOUN)
        + forms("сотрудник", *_NOUN)
        + forms("стартап", *_NOUN)
        + forms("филиал", *_NOUN)
        + forms("офис", *_NOUN)
        + ["дорожных карт", "дорожные карты", "дорожная карта"]
        + ["рабочих", "рабочие", "рабочим", "рабочими"],
        "other",
    ),
):
    for _w in _words:
        UNITS_RU[_w] = _unit

# Words a count's number may not reach its noun across ("page 12 of the agreement").
GAP_STOP_EN = frozenset(
    [
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "than",
        "per",
        "into",
        "onto",
        "about",
        "over",
        "under",
        "after",
        "before",
        "since",
        "until",
        "between",
        "the",
        "a",
        "an",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "have",
        "has",
        "had",
        "will",
        "would",
        "shall",
        "should",
        "can",
        "could",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "this",
        "that",
        "these",
        "those",
        "which",
        "who",
        "whom",
        "whose",
        "it",
        "its",
        "their",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "you",
        "your",
        "i",
        "percent",
        "per",
        "cent",
        "year",
        "years",
        "month",
        "months",
        "day",
        "days",
        "week",
        "weeks",
        "time",
        "times",
        "people",
        "persons",
        "hour",
        "hours",
        "km",
        "kilometres",
        "kilometers",
        "metres",
        "meters",
        "tonnes",
        "tons",
        "thousand",
        "million",
        "billion",
        "trillion",
        "mln",
        "bn",
        "bln",
        "dollars",
        "tenge",
        "won",
        "euro",
        "euros",
        "yuan",
        "and/or",
        "as",
        "or",
        "if",
        "when",
        "while",
        "whereas",
        "but",
        "because",
        "so",
        "such",
    ]
)
GAP_STOP_RU = frozenset(
    [
        "в",
        "во",
        "на",
        "с",
        "со",
        "к",
        "ко",
        "по",
        "о",
        "об",
        "от",
        "до",
        "из",
        "за",
        "для",
        "при",
        "без",
        "через",
        "над",
        "под",
        "между",
        "и",
        "или",
        "а",
        "но",
        "что",
        "чтобы",
        "как",
        "это",
        "этот",
        "эта",
        "эти",
        "тот",
        "та",
        "те",
        "который",
        "которые",
        "которых",
        "которая",
        "было",
        "были",
        "был",
        "была",
        "будет",
        "будут",
        "является",
        "являются",
        "года",
        "году",
        "год",
        "лет",
        "месяцев",
        "дней",
        "процентов",
        "процента",
        "процент",
        "тыс",
        "млн",
        "млрд",
        "трлн",
        "долларов",
        "тенге",
        "евро",
        "рублей",
        "вон",
        "сумов",
        "юаней",
        "не",
        "ни",
        "же",
        "ли",
        "бы",
        "уже",
        "еще",
        "также",
        "только",
    ]
)
