"""Common English given-name nicknames, each mapped to one canonical form.

A short, hand-checked table (diminutives such as *Bill* for *William*, *Peggy* for *Margaret*):
a nickname matches its full name in blocking and in the model's "same canonical name" level. The
table is deliberately conservative: a nickname shared by two unrelated names (*Al*: Albert,
Alfred, Alan) maps to neither, because a wrong canonical form would join strangers.

>>> canonical_given_name("bill"), canonical_given_name("peggy"), canonical_given_name("zara")
('william', 'margaret', 'zara')
"""

from __future__ import annotations

__all__ = ["NICKNAME_GROUPS", "canonical_given_name"]

#: canonical name -> its nicknames and spelling variants.
NICKNAME_GROUPS: dict[str, tuple[str, ...]] = {
    "abigail": ("abby", "abbie", "gail"),
    "alexander": ("alex", "alec", "sandy", "xander", "lex"),
    "alexandra": ("alexa", "lexi", "sasha"),
    "andrew": ("andy", "drew"),
    "anthony": ("tony", "anton"),
    "barbara": ("barb", "babs", "barbie"),
    "benjamin": ("ben", "benny", "benji"),
    "catherine": ("cathy", "kate", "katie", "cat", "kathy", "katherine", "kathryn", "kat"),
    "charles": ("charlie", "chuck", "chas", "chaz"),
    "christina": ("chris", "chrissy", "tina", "christine", "kristina", "kristine"),
    "christopher": ("kit", "topher", "chris"),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davey", "davy"),
    "deborah": ("deb", "debbie", "debby", "debra"),
    "dominic": ("dom",),
    "donald": ("don", "donny"),
    "dorothy": ("dot", "dotty", "dottie", "dolly"),
    "edward": ("ed", "eddie", "eddy", "ted", "teddy", "ned"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "bess", "bessie", "eliza", "libby", "lisa", "elisabeth"),
    "eleanor": ("ellie", "nell", "nellie", "elly", "elinor"),
    "frances": ("fran", "frankie", "fanny"),
    "francis": ("frank", "frankie"),
    "frederick": ("fred", "freddie", "freddy", "fritz"),
    "gregory": ("greg",),
    "harold": ("harry", "hal"),
    "henry": ("hank", "harry"),
    "isabella": ("bella", "izzy", "isabel", "isabelle"),
    "jacob": ("jake", "jakey"),
    "james": ("jim", "jimmy", "jamie", "jimbo"),
    "jennifer": ("jen", "jenny", "jenn"),
    "jessica": ("jess", "jessie"),
    "john": ("johnny", "jack", "jon", "jonny"),
    "jonathan": ("jonno", "johnathan"),
    "joseph": ("joe", "joey", "jo"),
    "joshua": ("josh",),
    "katrina": ("trina",),
    "kenneth": ("ken", "kenny"),
    "lawrence": ("larry", "laurie", "laurence"),
    "leonard": ("len", "lenny", "leo"),
    "margaret": ("maggie", "meg", "peggy", "peg", "madge", "marge", "margie", "greta", "rita"),
    "matthew": ("matt", "matty"),
    "michael": ("mike", "mick", "mickey", "micky", "mikey"),
    "nicholas": ("nick", "nicky", "nico", "nicolas"),
    "patricia": ("pat", "patty", "tricia", "trish", "patsy"),
    "patrick": ("paddy", "pat", "rick"),
    "peter": ("pete",),
    "rebecca": ("becky", "becca", "bec"),
    "richard": ("rich", "richie", "dick", "rick", "ricky", "rico"),
    "robert": ("rob", "robbie", "bob", "bobby", "bert", "robby"),
    "samantha": ("sam", "sammy", "sammie"),
    "samuel": ("sam", "sammy"),
    "stephen": ("steve", "stevie", "steven", "stephan"),
    "susan": ("sue", "susie", "suzy", "suzanne"),
    "theodore": ("theo", "ted", "teddy"),
    "thomas": ("tom", "tommy", "thom"),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "vicki", "tori", "vikki"),
    "william": ("bill", "billy", "will", "willie", "willy", "liam", "wil"),
    "zachary": ("zach", "zack", "zac"),
}


def _build_index() -> dict[str, str]:
    owners: dict[str, set[str]] = {}
    for canonical, nicknames in NICKNAME_GROUPS.items():
        owners.setdefault(canonical, set()).add(canonical)
        for nickname in nicknames:
            owners.setdefault(nickname, set()).add(canonical)
    # A nickname of two or more full names (sam: samuel, samantha) maps to none of them.
    return {name: next(iter(found)) for name, found in owners.items() if len(found) == 1}


_INDEX = _build_index()


def canonical_given_name(name: str) -> str:
    """The canonical form of a cleaned, lower-case given name (the name itself when unknown)."""
    return _INDEX.get(name, name)
