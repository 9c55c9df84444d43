"""Phrases of market news whose meaning is not the sum of their words.

"Record high" is good news although neither word says so; "files for bankruptcy" is worse
than "files"; "below $60,000" is a price falling through a level, "up 20%" a gain. Each rule
matches the lower-cased headline (apostrophes and dashes normalised); what a rule matched
is not read again word by word. Rules are tried in order, so a longer phrase comes before a
shorter one that overlaps it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = r"\$?\d[\d,.]*\s?(?:k|m|b|bn|million|billion|trillion)?"
_PERIOD = r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)[- ](?:day|week|month|year)"
_UP_VERBS = (
    r"up|rises?|rose|gains?|gained|jumps?|jumped|surges?|surged|soars?|soared|climbs?|"
    r"climbed|spikes?|spiked|rall(?:y|ies|ied)|skyrockets?|skyrocketed|explodes?|exploded"
)
_DOWN_VERBS = (
    r"down|falls?|fell|drops?|dropped|slips?|slipped|sinks?|sank|slides?|slid|"
    r"plunges?|plunged|tumbles?|tumbled|dips?|dipped|loses?|lost|crash(?:es|ed)?|dives?|dived"
)


@dataclass(frozen=True, slots=True)
class Phrase:
    name: str
    pattern: re.Pattern[str]
    valence: float


def _rule(name: str, pattern: str, valence: float) -> Phrase:
    return Phrase(name, re.compile(pattern), valence)


#: headlines that explain rather than report ("What is X", "How to buy X", "X, explained",
#: "Full guide", "Review"): neutral whatever words they use
EXPLAINER = re.compile(
    r"^(?:what (?:is|are)|how (?:to|does|do|can)|explainer)\b|\bexplained\b|"
    r"\b(?:step-by-step |full |beginner's |big )?guide\b|:\s*review\b"
)

PHRASES: tuple[Phrase, ...] = (
    # undoing a restriction is good news: "lifts ban", "ban lifted", "eases rules"
    _rule(
        "lifts a ban",
        r"\b(?:lift|end|scrap|drop|eas|relax|remov|overturn|revers)(?:s|es|e|ed|ped|ping|ing)?\s+"
        r"(?:\S+\s+){0,3}?"
        r"(?:bans?|restrictions?|curbs?|rules|guidance)\b|\bbans? (?:lifted|ended|overturned)\b",
        2.0,
    ),
    # "drops" as in "releases": "CEO drops bullish hint", "drops bold prediction"
    _rule(
        "drops a hint",
        r"\bdrops?(?=\s+(?:\S+\s+){0,3}?(?:hint|warning|prediction|bombshell|clue|call|message|"
        r"statement|update|news|video|album|details)\b)",
        0.0,
    ),
    # a falling supply is a scarcer asset: "supply on exchanges at 6-year low"
    _rule("supply low", r"\bsupply\b[^.;:!?]{0,40}?\b(?:lowest|low)\b", 2.0),
    # sales or outflows at a high are selling: "BTC sales hit 18-month high"
    _rule(
        "selling high",
        rf"\b(?:sales|selling|outflows?|losses|liquidations)\b[^.;:!?]{{0,25}}?"
        rf"\b(?:(?:new |record |all-time |{_PERIOD} )highs?|highest)\b",
        -2.0,
    ),
    _rule(
        "record high",
        rf"\b(?:(?:new |record |all-time |multi-year |{_PERIOD} )highs?|ath|highest level)\b",
        2.5,
    ),
    _rule(
        "record low",
        rf"\b(?:(?:new |record |all-time |multi-year |{_PERIOD} )lows?|lowest level)\b",
        -2.0,
    ),
    _rule(
        "bankruptcy",
        r"\b(?:files? for (?:chapter \d+ )?bankruptcy|chapter (?:7|11) bankruptcy|"
        r"bankruptcy filing)\b",
        -3.5,
    ),
    _rule(
        "ends a losing streak",
        r"\b(?:ends?|snaps?|breaks?|breaking|halts?)\b[^.;:!?]{0,25}\b(?:losing|loss|outflow)"
        r"\w* streak\b",
        2.0,
    ),
    _rule("ends a streak", r"\b(?:ends?|snaps?|breaks?|breaking)\b[^.;:!?]{0,25}\bstreak\b", -2.0),
    _rule("winning streak", r"\b(?:winning|win|inflow) streak\b", 1.5),
    _rule("losing streak", r"\b(?:losing|outflow) streak\b", -1.5),
    _rule(
        "ends a partnership",
        r"\b(?:ends?|ended|terminat\w*|cancel\w*|scraps?|scrapped|exits?|cuts?)\s+(?:\S+\s+){0,4}?"
        r"(?:tie-up|partnership|deal|agreement|contract|collaboration)s?\b",
        -2.0,
    ),
    _rule("bear market", r"\b(?:bear market|crypto winter|bear run)\b", -2.0),
    _rule("bull market", r"\b(?:bull market|bull run|bull cycle)\b", 2.0),
    _rule("rug pull", r"\b(?:rug ?pull(?:s|ed)?|pump[- ]and[- ]dumps?|exit scams?)\b", -3.0),
    _rule("money laundering", r"\bmoney laundering\b", -2.5),
    _rule("class action", r"\bclass[- ]action\b", -2.0),
    _rule("cease and desist", r"\bcease[- ]and[- ]desist\b", -2.0),
    _rule("sell-off", r"\bsell[- ]?offs?\b", -2.5),
    _rule("sell-out", r"\b(?:sell[- ]outs?|sold out|sells out)\b", 1.5),
    _rule("profit-taking", r"\bprofit[- ]taking\b", -1.0),
    _rule("not affected", r"\b(?:not affected|unaffected)\b", 1.5),
    _rule("comes back", r"\b(?:comes? back|bounces? back|back to life)\b", 2.0),
    _rule("goes live", r"\b(?:goes|go|went) live\b", 1.5),
    _rule("goes offline", r"\b(?:goes|go|went) (?:offline|down)\b", -2.0),
    _rule("shuts down", r"\b(?:shuts?|shutting) down\b", -2.0),
    _rule("wipes out", r"\bwipes? out\b", -2.5),
    _rule(
        "funds returned",
        r"\b(?:stolen|hacked|lost)\b[^.;:!?]{0,30}\b(?:returned|recovered|restored)\b",
        2.0,
    ),
    _rule("time to sell", r"\btime to (?:sell|exit)\b", -2.5),
    _rule("time to buy", r"\btime to buy\b", 2.5),
    _rule("opens up to", r"\bopens? (?:up )?to\b", 1.5),
    _rule("coming to", r"\b(?:coming|comes) to\b", 1.0),
    _rule("paves the way", r"\bpaves? (?:the )?way\b", 1.5),
    _rule("team up", r"\bteam(?:s|ed|ing)? up\b", 1.5),
    _rule("dives into", r"\bdives? into\b", 0.5),
    _rule("sells for", r"\b(?:sells?|sold|fetch(?:es|ed)?) for\b", 1.0),
    _rule(
        "cuts costs",
        r"\b(?:eliminat|cut|slash|reduc|lower)\w*\s(?:\S+\s){0,3}?"
        r"(?:fees|costs|emissions|energy|carbon|co2)\b",
        1.5,
    ),
    _rule(
        "files for an ETF",
        r"\bfil(?:es?|ed|ing)\b[^.;:!?]{0,30}\betfs?\b|\betf (?:application|filing)s?\b",
        1.5,
    ),
    _rule("green light", r"\b(?:green[- ]?light(?:s|ed)?|greenlit|go-ahead)\b", 2.0),
    _rule("rate cut", r"\brate cuts?\b|\bcut\w*\s+(?:interest\s+)?rates\b", 2.0),
    _rule(
        "rate hike",
        r"\brate (?:hikes?|increases?)\b|\b(?:hik|rais)\w*\s+(?:\S+\s+){0,2}?rates\b",
        -2.0,
    ),
    _rule(
        "inflation high",
        r"\b(?:inflation|rates|yields|unemployment)\b\s+(?:\S+\s+){0,2}?high\b",
        -1.5,
    ),
    _rule("as high as", r"\bas (?:high|low) as\b", 0.0),
    _rule("golden cross", r"\bgolden cross\b", 2.0),
    _rule("death cross", r"\bdeath cross\b", -2.0),
    _rule("short squeeze", r"\bshort squeeze\b", 1.5),
    _rule("job cuts", r"\b(?:job|staff) cuts\b|\bcuts? (?:\d+ )?jobs\b", -2.0),
    _rule("legal tender", r"\blegal tender\b", 2.0),
    _rule(
        "halts withdrawals",
        r"\b(?:halts?|paus(?:es?|ed)|suspends?|freez(?:es?|ing))"
        r" withdrawals\b|\bwithdrawals (?:halted|paused|suspended|frozen)\b",
        -3.0,
    ),
    _rule("crackdown", r"\bcrack(?:s|ing)? down\b", -2.5),
    _rule(
        "legal trouble", r"\blegal (?:battles?|fees|expenses|action|troubles?|woes|fight)\b", -1.5
    ),
    _rule(
        "revenue",
        r"\b(?:makes?|made|earns?|earned|brings? in|rakes? in)\s+(?:\$|\d|millions|billions)",
        1.5,
    ),
    _rule(
        "paid in crypto",
        r"\b(?:pa(?:y|id|ying)|payments?)\s+(?:\w+\s){0,3}?(?:in|with|by)\s+"
        r"(?:bitcoin|btc|crypto|ether|ethereum|cryptocurrenc\w*)\b",
        2.0,
    ),
    _rule("goes public", r"\bgo(?:es|ing)? public\b", 1.5),
    _rule("rolls out", r"\broll(?:s|ed|ing)? out\b", 1.0),
    _rule("the year of", r"\bthe year (?:of|for)\b", 1.0),
    _rule(
        "whales buy",
        r"\bwhales?\b[^.;:!?]{0,20}?\b(?:add|buy|bought|accumulat|scoop|load)\w*",
        1.5,
    ),
    _rule("drives up", r"\b(?:driv|push|send|lift|boost)\w*\s+(?:\S+\s){0,3}?(?:up|higher)\b", 2.0),
    _rule("drags down", r"\b(?:drag|push|send|pull)\w*\s+(?:\S+\s){0,3}?(?:down|lower)\b", -2.0),
    _rule(
        "selling pressure",
        r"\b(?:selling|sell|downward|bearish) pressure\b|\bunder pressure\b",
        -2.0,
    ),
    _rule("buying pressure", r"\b(?:buying|buy|upward|bullish) pressure\b", 2.0),
    _rule("in the green", r"\bin the green\b", 1.5),
    _rule("in the red", r"\b(?:in|into|turns?|turned) (?:the )?red\b", -1.5),
    _rule("insider trading", r"\b(?:insider|wash) trading\b", -2.0),
    _rule("pleads guilty", r"\bplead(?:s|ed)? guilty\b", -2.5),
    _rule("steps down", r"\bstep(?:s|ped|ping)? down\b", -1.0),
    _rule("winds down", r"\bwind(?:s|ing)? down\b|\bwound down\b", -2.0),
    _rule(
        "drops charges",
        r"\b(?:drops?|dropped|dismiss(?:es|ed)?) (?:the )?(?:charges|case|lawsuit|suit)\b|"
        r"\b(?:charges|case|lawsuit|suit) (?:dropped|dismissed)\b",
        2.0,
    ),
    _rule("join forces", r"\bjoin(?:s|ed|ing)? forces\b", 1.5),
    _rule("closes its doors", r"\bclos(?:es?|ed|ing) (?:its |their )?doors\b", -2.0),
    _rule("bank run", r"\bbank runs?\b", -2.5),
    _rule("margin call", r"\bmargin calls?\b", -2.0),
    _rule("pyramid scheme", r"\bpyramid schemes?\b", -3.0),
    _rule("red flag", r"\bred flags?\b", -2.0),
    _rule("balance sheet", r"\bbalance sheets?\b", 1.0),
    _rule("alt season", r"\balt(?:coin)? season\b", 2.0),
    _rule("times gain", r"\b\d+x\b", 1.5),
    _rule("wells notice", r"\bwells notices?\b|\benforcement actions?\b", -2.0),
    _rule("buys more", r"\bbuy(?:s|ing)? more\b|\bbought more\b", 1.5),
    _rule("risk-on", r"\brisk[- ]on\b|\brisk appetite\b", 1.5),
    _rule("fear and greed", r"\bfear (?:&|and) greed\b", 0.0),
    _rule("goes green", r"\bgo(?:es|ing)? green\b", 1.5),
    _rule(
        "takes a stake",
        r"\b(?:take|takes|took|taking|buys?|bought|acquir\w*)\s+(?:an? )?(?:\S+\s+){0,2}?stake\b",
        1.0,
    ),
    _rule("takes off", r"\btak(?:es?|ing) off\b|\btook off\b", 1.5),
    _rule("leaked documents", r"\bleaked (?:docs|documents|memos?|emails?|data shows?)\b", 0.0),
    # "up" after these verbs says nothing of a price: "showed up", "sets up", "signs up"
    _rule(
        "phrasal up",
        r"\b(?:show|set|sign|wrap|line|end|mix|shake|make|give|dig|own|speak|sum|look)"
        r"(?:s|ed|ing|ped|ped)?\s+(?:it\s+)?up\b",
        0.0,
    ),
    _rule("named price target", r"\bprice target\b", 1.0),
    _rule("paying off", r"\bpay(?:s|ing)? off\b", 1.5),
    _rule("price up", rf"\b(?:{_UP_VERBS})\s+(?:by\s+)?(?:over\s+|nearly\s+)?\d[\d.,]*\s?%", 2.0),
    _rule(
        "price down", rf"\b(?:{_DOWN_VERBS})\s+(?:by\s+)?(?:over\s+|nearly\s+)?\d[\d.,]*\s?%", -2.0
    ),
    _rule("below a level", rf"\b(?:below|under|beneath)\s+{_NUMBER}", -1.5),
    _rule(
        "above a level",
        r"\b(?:above|tops|topped|clears|cleared|crosses|crossed|reclaims?|breaks?(?: over)?|"
        rf"passe[sd]|hits?|smash(?:es|ed)?(?: above)?|surpass(?:es|ed)?)\s+{_NUMBER}",
        1.5,
    ),
    _rule(
        "price target",
        rf"\b(?:(?:to|will|could) (?:hit|reach|see|touch)|reach(?:es)?)\s+{_NUMBER}"
        rf"|\bto {_NUMBER} (?:by|in|next)\b",
        1.5,
    ),
    _rule("edges higher", r"\bedges? (?:up|higher)\b", 1.0),
    _rule("edges lower", r"\bedges? (?:down|lower)\b", -1.0),
)
