"""Word lists the corpus generator composes English, Russian and Belarusian text from."""

from __future__ import annotations

LANGUAGES = ("en", "ru", "be")


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    """The non-empty, stripped parts of `text` split at `sep` (whitespace by default)."""
    return tuple(part.strip() for part in text.split(sep) if part.strip())


WORDS: dict[str, tuple[str, ...]] = {
    "en": _words(
        """
        government ministry talks sanctions trade embassy delegation minister agreement border
        economy potash fertiliser exports imports transit railway airline flights visa release
        prisoners dialogue envoy statement spokesman analysts experts sources officials week
        month year budget inflation rouble wages pensions farmers harvest factory plant workers
        union election campaign opposition court verdict lawyer journalist newspaper editor
        website channel broadcast report survey poll figures growth decline increase record
        announced said confirmed denied expected planned discussed signed approved rejected
        warned urged called met visited returned arrived left travelled proposed suggested
        new old official unofficial bilateral regional national foreign domestic economic
        political diplomatic humanitarian pragmatic cautious possible important recent
        further limited direct indirect formal informal public private joint several many
        the the the a a an of of of in in on to to for with from by after before during
        about against between under over and and or but while because although since
        """
    ),
    "ru": _words(
        """
        правительство министерство переговоры санкции торговля посольство делегация министр
        соглашение граница экономика калий удобрения экспорт импорт транзит железная дорога
        авиакомпания рейсы виза освобождение заключённые диалог посланник заявление
        представитель аналитики эксперты источники чиновники неделя месяц год бюджет инфляция
        рубль зарплаты пенсии фермеры урожай завод предприятие рабочие профсоюз выборы
        кампания оппозиция суд приговор адвокат журналист газета редактор сайт канал доклад
        опрос данные рост снижение увеличение рекорд объявил заявил подтвердил опроверг
        ожидается планирует обсудили подписали одобрили отклонили предупредил призвал
        встретился посетил вернулся прибыл уехал предложил новый старый официальный
        двусторонний региональный национальный внешний внутренний экономический политический
        дипломатический гуманитарный прагматичный осторожный возможный важный недавний
        дальнейший ограниченный прямой совместный несколько многие в в в на на по по с с
        из к о для после до во время между под над и и или но а хотя потому что также
        """
    ),
    "be": _words(
        """
        урад міністэрства перамовы санкцыі гандаль амбасада дэлегацыя міністр пагадненне
        мяжа эканоміка калій угнаенні экспарт імпарт транзіт чыгунка авіякампанія рэйсы віза
        вызваленне палітвязні дыялог пасланнік заява прадстаўнік аналітыкі эксперты крыніцы
        чыноўнікі тыдзень месяц год бюджэт інфляцыя рубель заробкі пенсіі фермеры ураджай
        завод прадпрыемства рабочыя прафсаюз выбары кампанія апазіцыя суд прысуд адвакат
        журналіст газета рэдактар сайт канал даклад апытанне звесткі рост зніжэнне
        павелічэнне рэкорд абвясціў заявіў пацвердзіў абверг чакаецца плануе абмеркавалі
        падпісалі ўхвалілі адхілілі папярэдзіў заклікаў сустрэўся наведаў вярнуўся прыбыў
        з'ехаў прапанаваў новы стары афіцыйны двухбаковы рэгіянальны нацыянальны знешні
        унутраны эканамічны палітычны дыпламатычны гуманітарны прагматычны асцярожны
        магчымы важны нядаўні далейшы абмежаваны прамы сумесны некалькі шмат у у у на на
        па па з з да пра для пасля перад падчас паміж пад над і і ці але а хоць таму што
        таксама
        """
    ),
}

NAMES: dict[str, tuple[str, ...]] = {
    "en": _words(
        """
        Minsk, Belarus, Washington, Vilnius, Warsaw, Brest, Grodno, Vitebsk, Gomel, Mogilev,
        the State Department, the EU, the OSCE, Belavia, Belaruskali, the US embassy,
        the National Bank, Lithuania, Poland
        """,
        ",",
    ),
    "ru": _words(
        """
        Минск, Беларусь, Вашингтон, Вильнюс, Варшава, Брест, Гродно, Витебск, Гомель,
        Могилёв, Госдеп, Евросоюз, ОБСЕ, Белавиа, Беларуськалий, посольство США, Нацбанк,
        Литва, Польша
        """,
        ",",
    ),
    "be": _words(
        """
        Мінск, Беларусь, Вашынгтон, Вільня, Варшава, Брэст, Гродна, Віцебск, Гомель, Магілёў,
        Дзярждэп, Еўрасаюз, АБСЕ, Белавія, Беларуськалій, амбасада ЗША, Нацбанк, Літва,
        Польшча
        """,
        ",",
    ),
}

CATEGORIES: dict[str, tuple[str, ...]] = {
    "en": ("Politics", "Economy", "Society", "World", "Diplomacy", "Business", "Opinion"),
    "ru": ("Политика", "Экономика", "Общество", "В мире", "Дипломатия", "Бизнес", "Мнения"),
    "be": ("Палітыка", "Эканоміка", "Грамадства", "Свет", "Дыпламатыя", "Бізнес", "Меркаванні"),
}

OUTLET_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("Belarus", "Minsk", "Daily", "Review", "Monitor", "Herald", "Wire", "Report"),
    "ru": ("Беларусь", "Минск", "Новости", "Обзор", "Вестник", "Курьер", "Лента", "Дневник"),
    "be": ("Беларусь", "Мінск", "Навіны", "Агляд", "Веснік", "Кур'ер", "Стужка", "Дзённік"),
}

READ_MORE = {"en": "Read more", "ru": "Читать далее", "be": "Чытаць далей"}
QUOTES = {"en": ("&ldquo;", "&rdquo;"), "ru": ("&laquo;", "&raquo;"), "be": ("&laquo;", "&raquo;")}
