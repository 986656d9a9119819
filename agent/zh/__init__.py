"""General Chinese-text helpers: character width, numerals, dates, money and the checksums of ID numbers
and 统一社会信用代码. Nothing here knows about forms, roles or a scenario; the form code builds on it."""
