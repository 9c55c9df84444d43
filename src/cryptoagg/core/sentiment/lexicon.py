"""The words of market news and what they mean to a holder (VADER's scale, -4 to 4).

A general-purpose lexicon reads headlines the way it reads film reviews: "soars", "rally",
"plunge", "slump" are not in VADER's lexicon at all, while "demand" (-0.5), "shares" (1.2) and
"like" (2.0) are, so "Bitcoin soars to record high as institutional demand surges" came out
negative. These entries take precedence over the general lexicon; `NEUTRAL` silences general
words that name market things rather than feelings.

Words are listed in their base form; `forms` finds a headline's inflected word (surges,
surged, surging, rallies) under it. Valences were set from what the word reports to someone
holding the asset, not tuned per headline.
"""

from __future__ import annotations


def _table(text: str) -> dict[str, float]:
    """`word valence` pairs, several to a line: the lexicon reads as a table."""
    tokens = text.split()
    return {word: float(valence) for word, valence in zip(tokens[::2], tokens[1::2], strict=True)}


#: price going up, money coming in, adoption, approval and growth
POSITIVE = _table(
    """
    surge 2.5  soar 3  rally 2.5  jump 2  climb 2  rise 1.5  rose 1.5  risen 1.5  gain 2
    gainer 2  rebound 2  recover 1.5  recovery 1.5  bounce 1.5  spike 1.5  skyrocket 3
    explode 2  explosion 2  moon 2.5  pump 1.5  bullish 2.5  bull 1.5  breakout 2  outperform 2
    upside 1.5  higher 1  boost 2  bolster 2  boom 2  reclaim 1.5  shine 2  defy 1.5
    resilience 2  resilient 2  hodl 1  inflow 2  accumulate 1.5  accumulation 1.5  buy 1
    purchase 1  raise 1.5  funding 1.5  secure 1.5  profit 1.5  profitable 2  reward 1.5
    rebate 1  adoption 2  adopt 1.5  embrace 2  approve 2.5  approval 2.5  legalize 2
    legalise 2  greenlight 2  license 1.5  licence 1.5  partner 1.5  partnership 1.5
    integrate 1.5  integration 1.5  launch 1  unveil 1  debut 1.5  introduce 1  listing 1.5
    list 1  expand 1.5  expansion 1.5  milestone 2  growth 2  grow 1.5  double 1.5  triple 1.5
    record 1  win 2.5  victory 2.5  dominate 1.5  dominance 1.5  optimism 2  optimistic 2
    upgrade 1.5  strong 2  revive 2  reinvigorate 2  thrive 2  tops 1.5  topped 1.5  comeback 2
    add 1  explore 1  propel 2  powerhouse 1.5  deal 1  frenzy 1  hype 1  surplus 1.5
    parabolic 2  uptrend 2  surpass 1.5  overtake 1.5  outpace 1.5  beat 1.5  exceed 1.5
    breakthrough 2  recoup 1.5  confidence 1.5  momentum 1  endorse 1.5  back 0.5  backing 1
    accept 1.5  allow 1  offer 0.5  access 0.5  announce 0.5  announcement 0.5  open 0.5
    ipo 1.5  mou 1  legislation 1  legal 1  valid 1  compatible 1  billionaire 1.5  fortune 1.5
    lift 1.5  advance 1.5  rocket 2.5  leap 2  zoom 1.5  pop 1  upswing 2  uptick 1.5  upturn 2
    resurgence 2  revival 2  influx 2  enable 1  authorize 2  authorise 2  permit 1
    regulated 0.5  compliant 1  clarity 1.5  favor 1  favour 1  triumph 2.5  prevail 2
    valuation 1  unicorn 1.5  revenue 1  improve 1.5  enhance 1  innovation 1.5  success 2
    successful 2  euphoria 2  mania 1  craze 1  acquire 1  acquisition 1  collaborate 1.5
    collaboration 1.5  alliance 1.5  onboard 1  mainnet 1  airdrop 1  buyback 2  dividend 1.5
    hire 1  dovish 1.5  acquit 2  acquittal 2  fomo 1  restore 1.5  return 0.5
    first 1  high 1  above 1  up 0.5  potential 1  hail 1.5  champion 1.5  tout 1  pour 1
    flock 1.5  reserve 0.5  legitimacy 1.5  mainstream 1.5  streamline 1
    clinch 2  ink 1.5  clear 1  rescue 1  reopen 1.5  resume 1.5  repay 1.5  refund 1
    compensate 1  compensation 1  reimburse 1  unfreeze 1.5  bet 0.5  halving 1
    testnet 0.5  bullrun 2  altseason 2  moonshot 2  lambo 1.5  wagmi 1.5  nod 1  peak 1
    quadruple 2  merger 0.5  invests 1  favorable 1.5  favourable 1.5  landmark 1.5
    strengthen 1.5  confident 1.5  upbeat 1.5  scarcity 1
    """
)

#: price going down, money going out, harm, crime, failure and the law against it
NEGATIVE = _table(
    """
    plunge -3  crash -3  tumble -2.5  slump -2.5  sink -2  slide -2  slip -1.5  fall -2  fell -2
    drop -2  dip -1.5  decline -2  plummet -3  dive -2.5  tank -2.5  selloff -2.5  dump -2
    bearish -2.5  bear -1.5  correction -1.5  lower -1  low -1  downside -1.5  underperform -2
    capitulation -2  exhaustion -1.5  struggle -1.5  stall -1  weak -1.5  weaken -1.5  wane -1.5
    lackluster -2  loss -2  lose -2  lost -2  liquidation -2  liquidate -2  outflow -2  sell -1
    sold -1  offload -1  divest -1.5  rekt -3  fud -2  fear -2  panic -2.5  volatility -0.5
    hack -3  hacker -3  exploit -3  breach -2.5  heist -3  theft -3  stolen -3  steal -3
    drain -2.5  scam -3  scammer -3  fraud -3  fraudster -3  phishing -2.5  ponzi -3
    laundering -2.5  launder -2.5  ransom -2.5  vulnerability -2  compromise -2.5  attack -2
    attacker -2  manipulation -2  cheat -2  depeg -3  insolvency -3  insolvent -3  bankrupt -3
    bankruptcy -3  collapse -3  crisis -3  recession -2.5  inflation -1  shutdown -2  shutter -2
    suspend -2  halt -2  offline -2  outage -2  layoff -2  reduction -1.5  fail -2  failure -2
    miss -1  missing -1  danger -2  threat -2  risk -1  warn -1.5  warning -1.5  concern -1.5
    controversy -1.5  anger -2  menace -2  mock -1  mishap -2  survival -1  stringent -1.5
    strict -1.5  overturn -1.5  terrorism -2.5  crook -2.5  police -1.5  downtrend -2  cool -1
    bubble -2  burst -2  oversupply -1.5  speculation -1  blackout -2  remove -1.5
    illegality -2  retreat -1.5  pullback -1.5  retrace -1.5  retracement -1  shed -1.5
    erase -2  bleed -2  slash -1.5  loser -1.5  underwater -1.5  crumble -2.5  freefall -3
    rout -2.5  capitulate -2  fumble -1.5  stumble -1.5  falter -1.5  stagnate -1  sluggish -1.5
    tepid -1  headwind -1.5  suffer -2  woe -2  plague -2  rob -2.5  robbery -2.5  kidnap -3
    extort -2.5  extortion -2.5  counterfeit -2  fake -2  impersonate -2  malicious -2.5
    suspicious -1.5  misuse -2  criminal -2.5  crime -2.5  detain -2  investigate -1.5
    restrict -1.5  restriction -1.5  prohibit -2  outlaw -2.5  caution -1  unregistered -1.5
    violation -2  violate -2  unlawful -2  quit -1  resign -1  downsize -2  restructure -1
    abandon -2  cancel -1.5  scrap -1.5  downtime -1.5  congestion -1  scandal -2.5  chaos -2.5
    fiasco -2.5  doubt -1.5  skeptic -1  criticism -1.5  critic -1  slam -1.5  rip -1.5
    deepen -0.5  nosedive -3  bloodbath -3  carnage -3  turmoil -2.5  meltdown -3  implosion -3
    fallout -2  contagion -2.5  exodus -2  flee -2  evaporate -2  default -2.5  downgrade -2
    glitch -1.5  bug -1.5  flaw -2  freeze -1.5  frozen -1.5  dilution -1.5  hawkish -1.5
    ransomware -2.5  malware -2.5  illicit -2.5  illegal -2  accuse -2  accusation -2
    allege -1.5  embezzle -3  embezzlement -3  misappropriation -3  bribery -3  sentence -1.5
    prison -2.5  extradite -2  extradition -2  raid -2  subpoena -2  blacklist -2  lawsuit -2
    sue -2  charge -2  indict -2.5  indictment -2.5  guilty -2  convict -2  arrest -2.5  jail -2
    prosecution -2  seize -2  seizure -2  ban -2.5  crackdown -2.5  scrutiny -1.5  probe -1.5
    investigation -1.5  fine -2  penalty -2  settlement -1  sanction -1.5  delay -1.5
    postpone -1.5  reject -2  deny -1.5  dispute -1  exit -1  delist -2
    below -1  down -0.5  sag -1.5  wobble -1  shaky -1.5  jittery -1.5  uncertainty -1.5
    turbulent -1.5  turbulence -1.5  bleak -2  summon -1.5  litigation -1.5  penalize -2
    flag -1  closure -2  rug -2.5  fraudulent -3  scheme -1  thief -3  thieves -3  hijack -2.5
    leak -2  tulip -1.5  fad -1.5  speculative -1  gamble -1  gambling -1  bust -2
    confiscate -2  censor -1.5  ngmi -1.5  bagholder -1.5  honeypot -2.5  pause -1.5
    suspension -2  enforcement -1.5  rejection -2  denial -2  setback -2  blow -1.5  hurdle -1
    obstacle -1  bottleneck -1  deficit -1.5  shortfall -2  hole -1  breakdown -2
    surrender -1.5  redemption -1  sunset -1  fired -1.5  implode -3  manipulate -2
    spoofing -2  front-run -1.5  front-running -1.5
    """
)

#: general words that name market things in news, not feelings (VADER's valence in brackets)
NEUTRAL = frozenset(
    {
        "demand",  # (-0.5) "institutional demand surges"
        "share",  # (1.2) stock
        "shares",
        "like",  # (2.0) "cryptos like XRP"
        "security",  # (1.4) "security tokens", "security firm"
        "securities",
        "support",  # (1.7) a price level
        "supports",
        "interest",  # rates
        "credit",
        "capital",
        "united",  # United States
        "trust",  # a fund's name
        "fund",
        "funds",
        "chance",
        "pay",
        "big",
        "matters",
        "care",
        "hot",
        "well",
        "please",
        "huge",
        "free",
        "giant",
        "save",
        "bonus",
        "bold",
        "join",
        "joins",
        "want",
        "stable",  # no move, and stablecoins
        "yes",
        "block",  # a blockchain's, or a name
        "hard",  # "hard fork"
        "harmony",  # a network
        "greed",  # the Fear & Greed index
    }
)

#: words that turn the meaning of the next few words ("fails to mount a comeback")
NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "without",
        "fails",
        "fail",
        "failed",
        "unlikely",
        "cannot",
        "can't",
        "won't",
        "isn't",
        "aren't",
        "doesn't",
        "don't",
        "didn't",
        "wasn't",
        "hasn't",
        "haven't",
        "nor",
    }
)

MARKET: dict[str, float] = {**POSITIVE, **NEGATIVE}


def forms(word: str) -> list[str]:
    """`word` and the base forms it may be inflected from, most likely first: surges ->
    surge, surged -> surge, rallies -> rally, plunging -> plunge, hacked -> hack."""
    found = [word]
    if word.endswith("ies") and len(word) > 4:
        found.append(word[:-3] + "y")
    if word.endswith("ied") and len(word) > 4:
        found.append(word[:-3] + "y")
    if word.endswith("es"):
        found.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss"):
        found.append(word[:-1])
    if word.endswith("ed"):
        found += [word[:-1], word[:-2]]
        if len(word) > 5 and word[-3] == word[-4]:  # slipped -> slip
            found.append(word[:-3])
    if word.endswith("ing") and len(word) > 5:
        found += [word[:-3], word[:-3] + "e"]
        if word[-4] == word[-5]:  # dipping -> dip
            found.append(word[:-4])
    if word.endswith("er") and len(word) > 4:  # hacker stays, "scammers" via -s first
        found.append(word[:-2])
    return found
