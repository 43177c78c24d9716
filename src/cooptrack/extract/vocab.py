"""Phrases found by the lexicon scan: number words, subjects, statuses, periods, multiples,
sectors (DAC 5), commodities (HS 2022) and Russian country adjectives. English and Russian,
lower case, ``ё`` written ``е``."""

from __future__ import annotations

from cooptrack.extract.lexicon import forms

Entry = tuple[str, str, str]

# --- number words ------------------------------------------------------------------------
_EN_NUMBERS = [
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_EN_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _numbers() -> list[Entry]:
    out: list[Entry] = [(w, "num", str(i + 1)) for i, w in enumerate(_EN_NUMBERS)]
    out += [(w, "num", str(20 + 10 * i)) for i, w in enumerate(_EN_TENS)]
    out += [("hundred", "num", "100"), ("dozen", "num", "12")]
    ru: dict[int, list[str]] = {
        1: ["один", "одна", "одно", "одного", "одной", "одному", "одним", "одном", "одну"],
        2: ["два", "две", "двух", "двум", "двумя"],
        3: ["три", "трех", "трем", "тремя"],
        4: ["четыре", "четырех", "четырем", "четырьмя"],
        40: ["сорок", "сорока"],
        90: ["девяносто", "девяноста"],
        100: ["сто", "ста"],
        200: ["двести", "двухсот", "двумстам", "двумястах"],
        300: ["триста", "трехсот", "тремстам"],
        400: ["четыреста", "четырехсот", "четыремстам"],
    }
    soft = {
        5: "пять",
        6: "шесть",
        7: "семь",
        8: "восемь",
        9: "девять",
        10: "десять",
        11: "одиннадцать",
        12: "двенадцать",
        13: "тринадцать",
        14: "четырнадцать",
        15: "пятнадцать",
        16: "шестнадцать",
        17: "семнадцать",
        18: "восемнадцать",
        19: "девятнадцать",
        20: "двадцать",
        30: "тридцать",
    }
    for value, word in soft.items():
        oblique = "восьми" if value == 8 else word[:-1] + "и"
        ru[value] = [word, oblique] + ([] if value == 7 else [word + "ю"])
    for value, (nom, obl) in {
        50: ("пятьдесят", "пятидесяти"),
        60: ("шестьдесят", "шестидесяти"),
        70: ("семьдесят", "семидесяти"),
        80: ("восемьдесят", "восьмидесяти"),
        500: ("пятьсот", "пятисот"),
        600: ("шестьсот", "шестисот"),
        700: ("семьсот", "семисот"),
        800: ("восемьсот", "восьмисот"),
        900: ("девятьсот", "девятисот"),
    }.items():
        ru[value] = [nom, obl]
    for value, words in ru.items():
        out += [(w, "num", str(value)) for w in words]
    return out


# --- subjects: what a money or count figure measures -----------------------------------
_SUBJECTS: dict[str, list[str]] = {
    "trade_turnover": [
        "trade turnover",
        "turnover",
        "trade",
        "bilateral trade",
        "mutual trade",
        "trade volume",
        "volume of trade",
    ]
    + forms("товарооборот", "", "а", "е", "у", "ом")
    + ["торговый оборот", "торгового оборота", "торговом обороте"]
    + forms("торговл", "я", "и", "ю", "е", "ей")
    + ["взаимной торговли", "взаимная торговля", "объем торговли"],
    "exports": ["export", "exports", "exported"]
    + forms("экспорт", "", "а", "е", "у", "ом")
    + ["экспортировал", "экспортировала", "экспортировано"],
    "imports": ["import", "imports", "imported"]
    + forms("импорт", "", "а", "е", "у", "ом")
    + ["импортировал", "импортировала", "импортировано"],
    "investment": [
        "investment",
        "investments",
        "invested",
        "invest",
        "invests",
        "investing",
        "fdi",
        "foreign direct investment",
        "capital investment",
    ]
    + forms("инвестици", "и", "й", "ям", "ями", "ях", "я")
    + forms("вложени", "я", "й", "ям", "ями")
    + [
        "инвестировали",
        "инвестировал",
        "инвестировала",
        "инвестировано",
        "вложено",
        "вложили",
        "вложила",
        "прямых иностранных инвестиций",
        "прямые иностранные инвестиции",
        "пии",
    ],
    "loan": ["loan", "loans", "credit", "credit line", "line of credit", "lending", "lent", "borrowing", "borrowed"]
    + forms("кредит", "", "а", "ов", "ы", "ам", "ом", "у")
    + forms("заем", "")
    + forms("займ", "", "а", "ов", "ы", "ом")
    + ["кредитная линия", "кредитной линии", "кредитную линию"],
    "grant": ["grant", "grants", "non-repayable", "grant aid"]
    + forms("грант", "", "а", "ов", "ы", "ом")
    + ["безвозмездной помощи", "безвозмездная помощь", "безвозмездно"],
    "aid": ["aid", "assistance", "humanitarian aid", "technical assistance"] + forms("помощ", "ь", "и", "ью"),
    "revenue": ["revenue", "revenues", "income", "proceeds", "sales"]
    + forms("доход", "", "а", "ов", "ы")
    + forms("выручк", "а", "и", "у", "ой"),
    "package": ["package", "portfolio"] + forms("пакет", "", "а", "е", "ом") + forms("портфел", "ь", "я", "е", "ем"),
    "cost": ["cost", "costs", "valued", "estimated cost"] + forms("стоимост", "ь", "и", "ью"),
    "financing": ["financing", "funding", "funds", "fund", "financed", "funded"]
    + forms("финансировани", "е", "я", "ю", "ем")
    + ["средств", "средства"],
    "budget": ["budget"] + forms("бюджет", "", "а", "е", "ом"),
}

# Words that put a commodity in a trade context ("Kazakhstan supplies oil to Korea").
_TRADE_WORDS = (
    [
        "supply",
        "supplies",
        "supplied",
        "ship",
        "ships",
        "shipped",
        "shipment",
        "shipments",
        "sell",
        "sells",
        "sold",
        "buy",
        "buys",
        "bought",
        "purchase",
        "purchases",
        "purchased",
        "deliveries",
        "delivers",
        "exporter",
        "importer",
        "exporters",
        "importers",
        "exporting",
        "importing",
    ]
    + forms("поставк", "а", "и", "у", "ами", "ах")
    + [
        "поставок",
        "поставляет",
        "поставляют",
        "поставляется",
        "поставляются",
        "экспортирует",
        "экспортируют",
        "импортирует",
        "импортируют",
        "закупает",
        "закупают",
        "закупки",
        "продает",
        "продают",
        "вывоз",
        "ввоз",
        "экспортер",
        "импортер",
    ]
)

# --- statuses ----------------------------------------------------------------------------
_RU_PART = ("", "о", "ы", "а")  # реализован, реализовано, реализованы, реализована
_STATUSES: dict[str, list[str]] = {
    "implemented": [
        "implemented",
        "have been implemented",
        "has been implemented",
        "completed",
        "been completed",
        "commissioned",
        "put into operation",
        "put into service",
        "put into commission",
        "realized",
        "realised",
        "finished",
        "opened",
        "built",
        "came on stream",
        "fully implemented",
    ]
    + forms("реализован", *_RU_PART)
    + forms("завершен", *_RU_PART)
    + forms("построен", *_RU_PART)
    + forms("открыт", *_RU_PART)
    + [f"{v} в эксплуатацию" for v in forms("введен", *_RU_PART)]
    + [f"{v} в строй" for v in forms("введен", *_RU_PART)]
    + ["уже реализованы", "реализовали", "завершили"],
    "in_execution": [
        "being implemented",
        "being executed",
        "being carried out",
        "being built",
        "being constructed",
        "being realized",
        "being realised",
        "under construction",
        "under way",
        "underway",
        "under implementation",
        "under execution",
        "in progress",
        "ongoing",
        "in execution",
        "implementation stage",
        "stage of implementation",
        "currently implementing",
        "are implementing",
        "is implementing",
        "launched",
        "started",
        "in operation",
    ]
    + [
        "реализуются",
        "реализуется",
        "в стадии реализации",
        "на стадии реализации",
        "в процессе реализации",
        "находятся в реализации",
        "ведется строительство",
        "строится",
        "строятся",
        "осуществляется",
        "осуществляются",
        "продолжается реализация",
        "в работе",
        "начата реализация",
        "начато строительство",
    ]
    + forms("запущен", *_RU_PART),
    "pipeline": [
        "to be implemented",
        "will be implemented",
        "to implement",
        "will implement",
        "plan to",
        "plans to",
        "planned",
        "are planned",
        "is planned",
        "proposed",
        "prospective",
        "under consideration",
        "under discussion",
        "being considered",
        "being discussed",
        "in the pipeline",
        "under study",
        "under development",
        "envisaged",
        "to be built",
        "will be built",
        "to be opened",
        "will be opened",
        "to be launched",
        "will be launched",
        "in the future",
        "intend to",
        "potential",
        "pipeline",
    ]
    + [
        "планируется",
        "планируются",
        "планирует",
        "планируют",
        "будут реализованы",
        "будет реализован",
        "будет реализовано",
        "предстоит реализовать",
        "намерены",
        "прорабатываются",
        "прорабатывается",
        "на стадии проработки",
        "в стадии проработки",
        "перспективных",
        "перспективные",
        "перспективный",
        "планируемых",
        "планируемые",
        "рассматриваются",
        "будет построен",
        "будут построены",
        "будет открыт",
        "откроется",
        "будет запущен",
        "будут запущены",
        "в перспективе",
        "в будущем",
    ]
    + forms("запланирован", *_RU_PART),
    "agreed": ["signed", "agreed", "approved", "concluded", "reached agreement", "inked", "sealed"]
    + forms("подписан", *_RU_PART)
    + forms("согласован", *_RU_PART)
    + forms("одобрен", *_RU_PART)
    + forms("утвержден", *_RU_PART)
    + forms("заключен", *_RU_PART)
    + ["подписали", "подписала", "подписал", "заключили", "достигнута договоренность", "достигли договоренности"],
    "suspended": ["suspended", "frozen", "on hold", "put on hold", "postponed", "stalled", "delayed"]
    + forms("приостановлен", *_RU_PART)
    + forms("заморожен", *_RU_PART)
    + forms("отложен", *_RU_PART),
    "cancelled": ["cancelled", "canceled", "scrapped", "abandoned", "terminated", "called off"]
    + forms("отменен", *_RU_PART)
    + forms("аннулирован", *_RU_PART)
    + ["отказались от", "отказалась от"],
    "closed": ["closed down", "wound up", "shut down"] + forms("закрыт", *_RU_PART),
}

# --- multiples ---------------------------------------------------------------------------
_MULTIPLES: dict[str, list[str]] = {
    "2": ["double", "doubled", "doubles", "doubling", "twofold", "two-fold", "two times", "2-fold"]
    + [
        "удвоить",
        "удвоится",
        "удвоился",
        "удвоилась",
        "удвоилось",
        "удвоение",
        "удвоения",
        "вдвое",
        "в два раза",
        "в 2 раза",
    ],
    "3": ["triple", "tripled", "triples", "tripling", "threefold", "three-fold", "three times", "3-fold"]
    + ["утроить", "утроится", "утроение", "втрое", "в три раза", "в 3 раза"],
    "4": ["quadruple", "quadrupled", "fourfold", "four-fold"] + ["в четыре раза", "в 4 раза", "вчетверо"],
}
_IGNORE = ["double taxation", "double tax", "double-digit", "double digit", "double-track", "double track"]

# --- sectors (DAC 5) ----------------------------------------------------------------------
_SECTORS: dict[str, list[str]] = {
    "22040": [
        "information and communication technologies",
        "information and communication technology",
        "information and communications technology",
        "ict",
        "information technology",
        "information technologies",
    ]
    + [
        "информационно-коммуникационных технологий",
        "информационно-коммуникационные технологии",
        "информационных технологий",
        "информационные технологии",
        "икт",
    ],
    "22010": ["digitalisation", "digitalization", "digital economy", "digital transformation"]
    + forms("цифровизаци", "я", "и", "ю")
    + ["цифровой экономики", "цифровая экономика", "цифровую экономику"],
    "22020": ["telecommunications", "telecoms", "telecommunication"] + ["телекоммуникаций", "телекоммуникации"],
    "32182": ["fourth industrial revolution", "industry 4.0", "research and development", "r&d"]
    + ["четвертой промышленной революции", "четвертая промышленная революция", "индустрии 4.0"],
    "21010": ["transport and logistics", "logistics", "transport", "transportation", "transit"]
    + [
        "транспорта и логистики",
        "транспорт и логистика",
        "транспортно-логистических",
        "логистики",
        "логистика",
        "транспорта",
        "транспорт",
        "транзита",
        "транзит",
    ],
    "21020": ["infrastructure", "road construction", "roads", "road transport"]
    + ["инфраструктуры", "инфраструктура", "инфраструктуру", "дорожного строительства", "автодорог"],
    "21030": ["railways", "railway transport", "rail transport"] + ["железнодорожного транспорта", "железных дорог"],
    "21050": ["aviation", "air transport"] + ["авиации", "авиация", "авиаперевозок"],
    "32262": ["oil and gas", "oil and gas industry", "petroleum industry", "oil industry"]
    + [
        "нефтегазовой отрасли",
        "нефтегазовая отрасль",
        "нефтегазового сектора",
        "нефтегазовый сектор",
        "нефти и газа",
        "нефтегазовой",
        "нефтегазовая",
        "нефтегазохимии",
        "нефтехимии",
        "нефтехимия",
    ],
    "32210": ["mining", "mining industry", "mining and metallurgy", "mining and metallurgical"]
    + [
        "горнодобывающей отрасли",
        "горнодобывающая отрасль",
        "горнодобывающей промышленности",
        "горной добычи",
        "горнорудной",
        "горно-металлургического",
        "горно-металлургической",
        "горнодобывающей",
    ],
    "32169": ["metallurgy", "steel industry"] + ["металлургии", "металлургия"],
    "32310": ["construction", "construction industry"]
    + forms("строительств", "о", "а", "е", "у")
    + ["строительной отрасли"],
    "33210": ["tourism"] + forms("туризм", "", "а", "е", "у"),
    "12110": ["health care", "healthcare", "public health"] + forms("здравоохранени", "е", "я", "ю", "и"),
    "12191": ["medicine", "medical services"] + ["медицины", "медицина", "медицинских услуг"],
    "11110": ["education", "higher education"] + forms("образовани", "е", "я", "ю", "и"),
    "31110": ["agriculture", "agricultural sector", "agro-industrial complex", "agribusiness"]
    + ["сельского хозяйства", "сельское хозяйство", "сельском хозяйстве", "агропромышленного комплекса", "апк"],
    "32161": ["agro-industry", "food processing", "food industry"] + ["пищевой промышленности"],
    "23110": ["energy", "energy sector", "power industry"] + ["энергетики", "энергетика", "энергетике", "энергетику"],
    "23210": ["renewable energy", "renewables", "green energy"]
    + ["возобновляемой энергетики", "возобновляемых источников энергии", "вие", "зеленой энергетики"],
    "23240": ["wind energy", "wind power"] + ["ветроэнергетики"],
    "23230": ["solar energy", "solar power"] + ["солнечной энергетики"],
    "32168": ["pharmaceuticals", "pharmaceutical industry", "pharmaceutical production"]
    + ["фармацевтики", "фармацевтической промышленности", "фармацевтика", "фармацевтическая промышленность"],
    "32172": [
        "automotive industry",
        "car industry",
        "car assembly",
        "automobile industry",
        "car manufacturing",
        "automotive",
    ]
    + ["автомобилестроения", "автомобилестроение", "автопрома", "автопром", "автомобильной промышленности"],
    "32164": ["chemical industry", "chemicals"] + ["химической промышленности", "химическая промышленность", "химии"],
    "32163": ["textiles", "textile industry", "light industry"]
    + ["текстильной промышленности", "легкой промышленности"],
    "32120": ["manufacturing", "industrial development", "industrialisation", "industrialization"]
    + ["обрабатывающей промышленности", "обрабатывающая промышленность", "индустриализации", "обрабатывающего сектора"],
    "24030": ["banking", "financial sector", "financial services"]
    + ["банковского сектора", "финансового сектора", "финансовых услуг", "банковской сферы"],
    "14020": ["water supply", "water management"] + ["водоснабжения", "водного хозяйства", "водоснабжение"],
    "41010": ["environmental protection", "ecology"] + ["экологии", "охраны окружающей среды"],
    "32130": ["small and medium-sized enterprises", "small and medium enterprises", "small and medium business"]
    + ["малого и среднего бизнеса", "малый и средний бизнес", "мсб"],
    "43030": ["urban development", "smart city", "smart cities"] + ["умный город", "умного города", "урбанистики"],
    "31310": ["fisheries", "fishing"] + ["рыбного хозяйства", "рыболовства"],
    "33110": ["trade policy"] + ["торговой политики"],
}

# --- commodities (HS 2022) -----------------------------------------------------------------
_COMMODITIES: dict[str, list[str]] = {
    "2709": ["oil", "crude oil", "crude", "petroleum", "crude petroleum"]
    + forms("нефт", "ь", "и", "ью")
    + ["сырой нефти", "сырая нефть"],
    "2710": ["petroleum products", "oil products", "refined products", "fuel", "diesel", "gasoline", "petrol"]
    + ["нефтепродуктов", "нефтепродукты", "топлива", "дизельного топлива", "бензина"],
    "2711": ["natural gas", "liquefied natural gas", "lng", "gas"]
    + ["природного газа", "природный газ", "сжиженного газа", "газа", "газ"],
    "2701": ["coal"] + forms("угл", "я", "ю", "ем") + ["уголь"],
    "2612": ["uranium", "uranium ore"] + forms("уран", "", "а", "ом", "у") + ["урановой руды"],
    "2601": ["iron ore"] + ["железной руды", "железная руда"],
    "2603": ["copper ore", "copper concentrate"] + ["медной руды", "медного концентрата"],
    "7403": ["copper", "refined copper", "copper cathodes"] + forms("мед", "ь", "и", "ью") + ["катодной меди"],
    "72": ["steel", "iron and steel", "rolled steel", "metal products"]
    + forms("стал", "ь", "и", "ью")
    + ["черных металлов", "проката", "металлопроката"],
    "7202": ["ferroalloys", "ferro-alloys", "ferrochrome"] + ["ферросплавов", "ферросплавы", "феррохрома"],
    "76": ["aluminium", "aluminum"] + forms("алюмини", "й", "я", "ем"),
    "79": ["zinc"] + forms("цинк", "", "а", "ом"),
    "7108": ["gold"] + forms("золот", "о", "а", "ом"),
    "85": ["electronics", "electrical equipment", "electrical machinery", "home appliances", "household appliances"]
    + ["электроники", "электроника", "электронику", "бытовой техники", "электрооборудования"],
    "84": ["equipment", "machinery", "machines"] + forms("оборудовани", "е", "я", "ем", "ю") + ["машин и оборудования"],
    "87": ["vehicles", "motor vehicles"] + ["транспортных средств"],
    "8703": ["cars", "passenger cars", "automobiles", "motor cars"]
    + forms("автомобил", "ь", "и", "ей", "ями")
    + ["легковых автомобилей", "легковые автомобили"],
    "8704": ["trucks", "lorries"] + ["грузовиков", "грузовых автомобилей", "грузовики"],
    "8701": ["tractors"] + ["тракторов", "тракторы"],
    "88": ["aircraft"] + ["самолетов", "самолеты", "воздушных судов"],
    "1001": ["wheat"] + forms("пшениц", "а", "ы", "у", "ей"),
    "1101": ["flour", "wheat flour"] + forms("мук", "а", "и", "у", "ой"),
    "10": ["grain", "cereals"] + forms("зерн", "о", "а", "ом") + ["зерновых"],
    "02": ["meat"] + forms("мяс", "о", "а", "ом"),
    "52": ["cotton"] + forms("хлоп", "ок", "ка", "ком"),
    "30": ["pharmaceutical products", "medicines", "medicine products", "drugs"]
    + ["лекарственных средств", "лекарств", "лекарства", "медикаментов", "фармацевтической продукции"],
    "3304": ["cosmetics"] + forms("косметик", "а", "и", "у", "ой"),
    "31": ["fertilisers", "fertilizers", "mineral fertilizers"] + ["удобрений", "удобрения", "минеральных удобрений"],
    "39": ["plastics"] + ["пластмасс", "пластиков", "пластмассы"],
    "8517": ["smartphones", "mobile phones"] + ["смартфонов", "смартфоны", "мобильных телефонов"],
    "8541": ["semiconductors", "solar panels"] + ["полупроводников", "солнечных панелей"],
    "2523": ["cement"] + forms("цемент", "", "а", "ом"),
    "1512": ["sunflower oil"] + ["подсолнечного масла", "подсолнечное масло"],
}


def _periods() -> list[Entry]:
    """Period phrases. The value is ``kind|arg|offset|flags``: kind is year, half, quarter, month,
    months (the first N months) or end (the end of a year); offset is the year relative to
    publication (0, -1, +1) or ``?`` when a year may follow; flags ``d`` deadline, ``m`` a
    modifier such as "last year's" that dates a comparison rather than the clause."""
    out: list[Entry] = []

    def add(phrases: list[str], kind: str, arg: str, off: str, flags: str = "") -> None:
        out.extend((p, "period", f"{kind}|{arg}|{off}|{flags}") for p in phrases)

    # Phrases start after "the"/"a", which are too common to look up first.
    en_refs = {
        "this year": "0",
        "current year": "0",
        "last year": "-1",
        "previous year": "-1",
        "past year": "-1",
        "next year": "+1",
        "coming year": "+1",
    }
    for ref, off in en_refs.items():
        add([ref], "year", "", off)
    add(["year earlier", "year ago", "year before", "one year earlier"], "year", "", "-1")
    en_halves = {
        "1": ["first half", "1st half", "h1", "first six months", "first 6 months"],
        "2": ["second half", "2nd half", "h2"],
    }
    en_quarters = {
        "1": ["first quarter", "1st quarter", "q1", "first three months", "first 3 months"],
        "2": ["second quarter", "2nd quarter", "q2"],
        "3": ["third quarter", "3rd quarter", "q3"],
        "4": ["fourth quarter", "4th quarter", "q4"],
    }
    for kind, table in (("half", en_halves), ("quarter", en_quarters)):
        for arg, names in table.items():
            for name in names:
                add([name, f"{name} of"], kind, arg, "?")
                for ref, off in en_refs.items():
                    add([f"{name} of {ref}", f"{name} of the {ref}"], kind, arg, off)
    en_counts = {"two": 2, "four": 4, "five": 5, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11}
    for word, n in en_counts.items():
        for form in (word, str(n)):
            add([f"first {form} months", f"first {form} months of"], "months", str(n), "?")
            for ref, off in en_refs.items():
                add([f"first {form} months of {ref}", f"first {form} months of the {ref}"], "months", str(n), off)
    add(["nine months", "9 months", "9m"], "months", "9", "?")
    months_en = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
    short_en = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    for i, (name, short) in enumerate(zip(months_en, short_en, strict=True)):
        add(
            [name, short + "."]
            + ([short] if short not in ("mar", "may", "jun") else [])
            + (["sept", "sept."] if i == 8 else []),
            "month",
            str(i + 1),
            "?",
        )
    add(["end of the year", "end of this year", "end of the current year", "year-end", "year end"], "end", "", "0")
    add(["end of last year", "end of the previous year"], "end", "", "-1")
    add(["end of next year"], "end", "", "+1")
    add(["end of"], "end", "", "?")
    add(
        [
            "by the end of the year",
            "by the end of this year",
            "by the end of the current year",
            "by year-end",
            "by year end",
            "by the year-end",
            "until the end of the year",
            "before the end of the year",
        ],
        "end",
        "",
        "0",
        "d",
    )
    add(["by the end of next year"], "end", "", "+1", "d")
    add(["by the end of"], "end", "", "?", "d")
    add(["last year's", "last year’s", "previous year's", "previous year’s"], "year", "", "-1", "m")
    add(["this year's", "this year’s"], "year", "", "0", "m")

    ru_refs = {
        "текущего года": "0",
        "этого года": "0",
        "нынешнего года": "0",
        "сего года": "0",
        "прошлого года": "-1",
        "минувшего года": "-1",
        "предыдущего года": "-1",
        "следующего года": "+1",
        "будущего года": "+1",
    }
    for ref, off in ru_refs.items():
        add([ref], "year", "", off)
    add(
        ["в этом году", "в текущем году", "в нынешнем году", "за текущий год", "на текущий год", "в этот год"],
        "year",
        "",
        "0",
    )
    add(
        [
            "в прошлом году",
            "в минувшем году",
            "в предыдущем году",
            "за прошлый год",
            "за минувший год",
            "за предыдущий год",
            "годом ранее",
            "год назад",
            "по итогам прошлого года",
            "прошлый год",
        ],
        "year",
        "",
        "-1",
    )
    add(["в следующем году", "в будущем году", "в наступающем году", "на следующий год"], "year", "", "+1")
    add(["по итогам года", "по итогам текущего года"], "year", "", "0")
    add(forms("прошлогодн", "ий", "его", "ему", "им", "ем", "яя", "ей", "юю", "ие", "их", "ими"), "year", "", "-1", "m")
    ru_halves = {
        "1": [
            "первом полугодии",
            "первое полугодие",
            "первого полугодия",
            "i полугодии",
            "i полугодие",
            "i полугодия",
            "1 полугодии",
            "1-м полугодии",
            "первые шесть месяцев",
            "первые 6 месяцев",
            "январе-июне",
            "январь-июнь",
            "января-июня",
        ],
        "2": [
            "втором полугодии",
            "второе полугодие",
            "второго полугодия",
            "ii полугодии",
            "ii полугодие",
            "2 полугодии",
        ],
    }
    quarter_words = {"1": ("перв", "i"), "2": ("втор", "ii"), "3": ("треть", "iii"), "4": ("четверт", "iv")}
    ru_quarters: dict[str, list[str]] = {}
    for arg, (stem, roman) in quarter_words.items():
        soft = stem == "треть"
        adj = [stem + ("ем" if soft else "ом"), stem + ("ий" if soft else "ый"), stem + ("его" if soft else "ого")]
        ru_quarters[arg] = [f"{a} {q}" for a in adj + [roman, arg] for q in ("квартале", "квартал", "квартала")]
    ru_quarters["1"] += ["январе-марте", "январь-март", "января-марта", "первые три месяца", "первые 3 месяца"]
    for kind, table in (("half", ru_halves), ("quarter", ru_quarters)):
        for arg, names in table.items():
            for name in names:
                add([name], kind, arg, "?")
                for ref, off in ru_refs.items():
                    add([f"{name} {ref}"], kind, arg, off)
    months_ru = [
        ("январ", "ь"),
        ("феврал", "ь"),
        ("март", ""),
        ("апрел", "ь"),
        ("ма", "й"),
        ("июн", "ь"),
        ("июл", "ь"),
        ("август", ""),
        ("сентябр", "ь"),
        ("октябр", "ь"),
        ("ноябр", "ь"),
        ("декабр", "ь"),
    ]
    for i, (stem, nom) in enumerate(months_ru):
        names = [stem + nom, stem + ("я" if nom in ("ь", "й") else "а"), stem + "е"]
        add(names, "month", str(i + 1), "?")
        for ref, off in ru_refs.items():
            add([f"{n} {ref}" for n in names[1:]], "month", str(i + 1), off)
        if i >= 1:
            add([f"январе-{stem}е", f"январь-{stem + nom}", f"января-{names[1]}"], "months", str(i + 1), "?")
            for ref, off in ru_refs.items():
                add([f"январе-{stem}е {ref}", f"января-{names[1]} {ref}"], "months", str(i + 1), off)
    for n, words in {
        9: ["9 месяцев", "девять месяцев", "девяти месяцев", "первые девять месяцев"],
        8: ["8 месяцев", "восемь месяцев"],
        10: ["10 месяцев", "десять месяцев"],
        11: ["11 месяцев", "одиннадцать месяцев"],
        7: ["7 месяцев", "семь месяцев"],
        5: ["5 месяцев", "пять месяцев"],
        4: ["4 месяца", "четыре месяца"],
        2: ["2 месяца", "два месяца"],
    }.items():
        add(words, "months", str(n), "?")
        for ref, off in ru_refs.items():
            add([f"{w} {ref}" for w in words], "months", str(n), off)
    add(
        [
            "до конца года",
            "до конца текущего года",
            "до конца этого года",
            "до конца нынешнего года",
            "к концу года",
            "к концу текущего года",
            "к концу этого года",
            "до окончания года",
        ],
        "end",
        "",
        "0",
        "d",
    )
    add(["до конца", "к концу"], "end", "", "?", "d")
    add(
        ["на конец года", "на конец текущего года", "в конце года", "в конце текущего года", "конца года"],
        "end",
        "",
        "0",
    )
    add(["на конец прошлого года", "в конце прошлого года", "конца прошлого года"], "end", "", "-1")
    add(["на конец", "в конце"], "end", "", "?")
    return out


# --- Russian country adjectives (countrynames knows the nouns but not these) ----------------
_RU_ADJECTIVES: dict[str, str] = {
    "казахстанск": "KAZ",
    "казахск": "KAZ",
    "корейск": "KOR",
    "южнокорейск": "KOR",
    "китайск": "CHN",
    "российск": "RUS",
    "узбекск": "UZB",
    "узбекистанск": "UZB",
    "кыргызск": "KGZ",
    "киргизск": "KGZ",
    "кыргызстанск": "KGZ",
    "таджикск": "TJK",
    "туркменск": "TKM",
    "турецк": "TUR",
    "японск": "JPN",
    "американск": "USA",
    "германск": "DEU",
    "немецк": "DEU",
    "французск": "FRA",
    "британск": "GBR",
    "итальянск": "ITA",
    "индийск": "IND",
    "иранск": "IRN",
    "азербайджанск": "AZE",
    "белорусск": "BLR",
    "украинск": "UKR",
    "монгольск": "MNG",
    "пакистанск": "PAK",
    "афганск": "AFG",
    "грузинск": "GEO",
    "армянск": "ARM",
    "сингапурск": "SGP",
    "малайзийск": "MYS",
    "вьетнамск": "VNM",
    "индонезийск": "IDN",
    "саудовск": "SAU",
    "катарск": "QAT",
    "эмиратск": "ARE",
    "канадск": "CAN",
    "австралийск": "AUS",
    "испанск": "ESP",
    "польск": "POL",
    "чешск": "CZE",
    "швейцарск": "CHE",
    "австрийск": "AUT",
    "нидерландск": "NLD",
    "голландск": "NLD",
    "шведск": "SWE",
    "финск": "FIN",
    "норвежск": "NOR",
    "датск": "DNK",
    "бельгийск": "BEL",
    "израильск": "ISR",
    "египетск": "EGY",
    "венгерск": "HUN",
}
_ADJ_ENDINGS = ("ий", "ая", "ое", "ие", "ого", "ой", "ому", "им", "ом", "их", "ими", "ую", "о")


def _party_adjectives() -> list[Entry]:
    out: list[Entry] = []
    for stem, code in _RU_ADJECTIVES.items():
        out += [(stem + e, "party", code) for e in _ADJ_ENDINGS]
    return out


def entries() -> list[Entry]:
    out = _numbers()
    for category, table in (
        ("subject", _SUBJECTS),
        ("status", _STATUSES),
        ("multiple", _MULTIPLES),
        ("sector", _SECTORS),
        ("commodity", _COMMODITIES),
    ):
        for value, phrases in table.items():
            out += [(p, category, value) for p in phrases]
    out += [(p, "ignore", "") for p in _IGNORE]
    out += [(p, "trade", "") for p in _TRADE_WORDS]
    out += _periods()
    out += _party_adjectives()
    return out


SECTOR_CODES = frozenset(_SECTORS)
COMMODITY_CODES = frozenset(_COMMODITIES)
