"""The shapes of the real data, as small tables the sample generator draws from.

Every number here was read off one real sample and follows DATA.md (column names, types, missing
rates, dirt); no real row is embedded. Each section describes one group of columns; the draws
that use it are in sample.columns, in the same order.
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------------------------------------
# Issue dates. The real data carries month-level dates whose day is the two-digit year
# ("14 August 2014", "17 July 2017"): a parsing artefact of "Aug-14" that we reproduce, since it
# is what arrives. Aug 2012 .. Dec 2019 gives 89 distinct dates, so many loans share a date.
# ---------------------------------------------------------------------------------------------
YEARS: tuple[int, ...] = (2012, 2013, 2014, 2015, 2016, 2017, 2018, 2019)
FIRST_MONTH = {2012: 8}  # the book starts in August 2012
# Loans per year in the real sample: volume grows about 20-fold over the period.
YEAR_WEIGHTS = np.array([255, 1390, 2279, 4228, 4367, 4401, 4908, 5202], dtype=float)
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

# ---------------------------------------------------------------------------------------------
# Grade and interest rate. Grade is 1..35 (5 sub-grades per letter A..G). The rate depends on
# the letter only (in the real data the sub-grade does not move it), and the letter mix shifts
# towards A/B in later years.
# ---------------------------------------------------------------------------------------------
# Per mille of each year's loans in letters A..G.
LETTER_BY_YEAR = np.array(
    [
        [176, 314, 255, 153, 78, 20, 4],  # 2012
        [126, 317, 307, 152, 62, 29, 7],  # 2013
        [154, 255, 286, 188, 85, 23, 10],  # 2014
        [182, 270, 298, 136, 85, 23, 7],  # 2015
        [167, 310, 298, 137, 62, 20, 7],  # 2016
        [177, 296, 327, 128, 50, 15, 7],  # 2017
        [270, 298, 251, 134, 40, 6, 1],  # 2018
        [325, 280, 248, 140, 7, 0, 0],  # 2019
    ],
    dtype=float,
)
# Int Rate per letter: (mean, sd, min, max) as a fraction; the menu of rates is bounded per
# letter, so draws are clipped to the observed range and rounded to 4 decimals (0.0649).
RATE_BY_LETTER = np.array(
    [
        (0.0725, 0.0099, 0.0531, 0.0925),
        (0.1087, 0.0126, 0.0818, 0.1409),
        (0.1441, 0.0140, 0.1199, 0.1774),
        (0.1883, 0.0237, 0.1541, 0.2880),
        (0.2217, 0.0268, 0.1820, 0.2900),
        (0.2578, 0.0272, 0.2199, 0.3075),
        (0.2821, 0.0216, 0.2470, 0.3099),
    ]
)
INT_RATE_MISSING = 0.0438  # spread evenly over grades and years
# A handful of B..G loans carry a stray 0.06 rate in the real data: kept as dirt.
STRAY_RATE, STRAY_RATE_SHARE = 0.06, 0.0004
# Share of 60-month loans per letter: riskier letters are mostly long loans.
SIXTY_MONTH_BY_LETTER = np.array([0.079, 0.242, 0.371, 0.457, 0.614, 0.789, 0.819])
TERMS = (" 36 months", " 60 months")  # the leading space is part of the raw value

# ---------------------------------------------------------------------------------------------
# Loan status: driven by vintage (old loans are finished, recent ones are Current), then
# tilted by grade (risky letters charge off more often).
# ---------------------------------------------------------------------------------------------
LOAN_STATUSES = (
    "Charged Off", "Current", "Default", "Fully Paid",
    "In Grace Period", "Late (16-30 days)", "Late (31-120 days)",
)  # fmt: skip
# Per 10,000 loans of each year, in LOAN_STATUSES order.
STATUS_BY_YEAR = np.array(
    [
        [1608, 431, 0, 7843, 39, 39, 39],  # 2012
        [1424, 906, 7, 7612, 22, 7, 22],  # 2013
        [1466, 3335, 1, 5002, 35, 35, 127],  # 2014
        [1838, 1015, 1, 7088, 17, 12, 31],  # 2015
        [256, 8232, 5, 1143, 133, 48, 183],  # 2016
        [523, 6905, 1, 2222, 111, 48, 191],  # 2017
        [45, 9065, 0, 693, 39, 45, 114],  # 2018
        [127, 8874, 0, 829, 48, 27, 96],  # 2019
    ],
    dtype=float,
)
# Odds multiplier of "Charged Off" vs "Fully Paid" per letter (A..G), relative to the year.
CHARGE_OFF_ODDS_BY_LETTER = np.array([0.27, 0.60, 1.14, 1.67, 2.75, 3.10, 2.75])
# Payment plans are almost never set, and only on loans in trouble.
PAYMENT_PLAN_SHARE_OF_LATE = 0.0035

# ---------------------------------------------------------------------------------------------
# Application type: the spelling changed with the platform's eras (INDIVIDUAL/JOINT/DIRECT_PAY
# in some years, Individual/Joint App in others) and joint applications grew after 2016.
# ---------------------------------------------------------------------------------------------
TYPES = ("Individual", "INDIVIDUAL", "Joint App", "JOINT", "DIRECT_PAY")
TYPE_BY_YEAR = np.array(
    [
        [0, 1, 0, 0, 0],  # 2012
        [0, 1, 0, 0, 0],  # 2013
        [0, 1, 0, 0, 0],  # 2014
        [0.9981, 0, 0.0019, 0, 0],  # 2015
        [0, 0.9680, 0, 0.0231, 0.0089],  # 2016
        [0.9066, 0, 0.0934, 0, 0],  # 2017
        [0.8722, 0, 0.1278, 0, 0],  # 2018
        [0.8629, 0, 0.1371, 0, 0],  # 2019
    ]
)
JOINT_TYPES = (2, 3)  # indexes of "Joint App" and "JOINT": only these have a joint income

# ---------------------------------------------------------------------------------------------
# Home ownership and verification, per year (counts per year in the real sample's proportions;
# ANY appears from 2017, OTHER only as a rare early value).
# ---------------------------------------------------------------------------------------------
HOME_OWNERSHIP = ("MORTGAGE", "RENT", "OWN", "ANY", "OTHER")
HOME_BY_YEAR = np.array(
    [
        [117, 117, 21, 0, 0.5],  # 2012
        [723, 561, 106, 0, 0.5],  # 2013
        [1155, 913, 211, 0, 0],  # 2014
        [2018, 1723, 487, 0, 0],  # 2015
        [2189, 1649, 529, 0, 0],  # 2016
        [2237, 1664, 498, 2, 0],  # 2017
        [2359, 1939, 606, 4, 0],  # 2018
        [2566, 2005, 602, 29, 0],  # 2019
    ]
)
VERIFICATION = ("Not Verified", "Source Verified", "Verified")
VERIFICATION_BY_YEAR = np.array(
    [
        [388, 184, 428],  # 2012
        [272, 207, 521],  # 2013
        [304, 417, 279],  # 2014
        [281, 448, 271],  # 2015
        [308, 399, 293],  # 2016
        [360, 385, 255],  # 2017
        [402, 409, 189],  # 2018
        [477, 389, 134],  # 2019
    ],
    dtype=float,
)

# ---------------------------------------------------------------------------------------------
# Income. log(income) follows a Student t (heavier tails than a log-normal: the real p99 and
# the ~5% of values outside the 1.5 IQR fences need them), shifted by home ownership and a
# slow rise over the years. Incomes are stated by people, so most are round numbers.
# ---------------------------------------------------------------------------------------------
INCOME_LOG_MEDIAN = 11.05  # exp -> ~62k in 2012; ~67k overall once the yearly drift is added
INCOME_LOG_DRIFT_PER_YEAR = 0.017
INCOME_LOG_SCALE = 0.47
INCOME_T_DF = 7.0
INCOME_SCORE_SD = float(np.sqrt(INCOME_T_DF / (INCOME_T_DF - 2)))  # sd of a t(7) variate
INCOME_LOG_SHIFT_BY_HOME = np.array([0.12, -0.13, -0.10, -0.08, -0.10])  # HOME_OWNERSHIP order
INCOME_MIN, INCOME_MAX = 200.0, 9_550_000.0
# About 1 in 25,000 incomes is typed with an extra zero: the few multi-million values.
INCOME_EXTRA_ZERO_SHARE = 4e-5
# How a stated income is rounded: to 5,000 / 1,000 / 100 / 1 / cents (monthly x 12 leaves
# non-integers). Shares read off the real sample (50% multiples of 5k, 85% of 1k, ...).
INCOME_ROUNDING = ((5000.0, 0.42), (1000.0, 0.43), (100.0, 0.07), (1.0, 0.074), (0.001, 0.006))
# Joint income = own income + the co-borrower's (sometimes 0). Median ratio ~2.
PARTNER_LOG_MEDIAN, PARTNER_LOG_SCALE, PARTNER_ZERO_SHARE = 10.85, 0.70, 0.01
# Joint applicants state a lower own income (a household borrows with two modest incomes).
INCOME_LOG_SHIFT_JOINT = -0.20

# ---------------------------------------------------------------------------------------------
# Loan amount: log-normal per term, correlated with income, rounded like requested amounts
# (multiples of 25 always, mostly of 1,000), within the platform's 1,000 .. 40,000 limits.
# ---------------------------------------------------------------------------------------------
LOAN_LOG_BY_TERM = np.array([(9.18, 0.70), (9.85, 0.40)])  # (mean, sd) for 36 / 60 months
LOAN_INCOME_CORR = 0.50
LOAN_ROUNDING = ((5000.0, 0.346), (1000.0, 0.353), (500.0, 0.057), (100.0, 0.135), (25.0, 0.109))
LOAN_MIN, LOAN_MAX = 1_000.0, 40_000.0

# ---------------------------------------------------------------------------------------------
# Balances: Tot Cur Bal is log-normal by home ownership (mortgages dominate) and rises with
# income; a minority of borrowers have almost nothing outstanding (a low tail in log space,
# which is what makes the real log-balances left-skewed). Avg Cur Bal is the total over a
# number of open accounts (the real ratio is an integer, ~10), and people with larger balances
# hold more accounts, which keeps the average's tail shorter than the total's.
# ---------------------------------------------------------------------------------------------
# Per HOME_OWNERSHIP: (median before the low tail, core sd, share in the low tail). Owners
# with a mortgage sit high with a long low tail (mortgage paid down); renters spread widely.
TOTAL_BAL_LOG_BY_HOME = np.array(
    [(12.10, 0.35, 0.20), (10.45, 0.80, 0.08), (10.80, 0.95, 0.08), (10.75, 0.80, 0.08),
     (10.60, 0.80, 0.08)]
)  # fmt: skip
TOTAL_BAL_INCOME_SLOPE = 0.90  # d log(balance) / d log(income), for incomes within +-2.5 sd
TOTAL_BAL_INCOME_SCORE_CAP = 2.5  # beyond that, a higher income does not mean more debt
TOTAL_BAL_LOW_TAIL_MEAN = 1.5  # mean depth of the low tail, in log units
TOTAL_BAL_MIN, TOTAL_BAL_MAX = 1.0, 2_750_000.0
ACCOUNTS_NB_R, ACCOUNTS_NB_MEAN = 7.0, 10.3  # open accounts = 1 + NegBin(mean, dispersion)
ACCOUNTS_BAL_ELASTICITY = 0.25  # accounts grow with log total balance...
ACCOUNTS_ANCHOR_LOG_BAL = 11.1  # ...and average ACCOUNTS_NB_MEAN + 1 at a ~66k balance
AVG_BAL_MAX = 340_000.0  # no account averages more than a large mortgage: add accounts if needed

# ---------------------------------------------------------------------------------------------
# Geography: 49 states + DC (50 codes, as in the data), weights per mille; zip = 3 digits of
# a prefix belonging to the state + "xx". State is a copy of Addr State.
# ---------------------------------------------------------------------------------------------
STATE_WEIGHTS: dict[str, float] = {
    "CA": 132.1, "TX": 83.2, "NY": 81.8, "FL": 73.1, "IL": 41.1, "NJ": 38.0, "OH": 34.2,
    "PA": 33.8, "GA": 32.6, "MI": 28.5, "VA": 28.4, "NC": 27.3, "AZ": 25.3, "MA": 22.4,
    "MD": 21.7, "WA": 20.9, "CO": 20.7, "IN": 16.6, "MN": 16.6, "MO": 15.8, "TN": 15.4,
    "CT": 15.2, "NV": 14.5, "SC": 12.8, "WI": 12.6, "AL": 12.1, "LA": 12.0, "OR": 11.9,
    "KY": 9.8, "OK": 9.5, "KS": 8.3, "AR": 7.5, "UT": 6.9, "MS": 5.5, "NM": 5.5, "NH": 4.8,
    "RI": 4.7, "WV": 4.4, "HI": 4.3, "NE": 4.1, "DE": 3.1, "MT": 3.0, "ID": 2.4, "AK": 2.4,
    "VT": 2.4, "ME": 2.2, "WY": 2.2, "SD": 2.1, "DC": 2.1, "ND": 2.0,
}  # fmt: skip
# Inclusive ranges of 3-digit zip prefixes per state (USPS sectional centers).
ZIP3_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "AL": ((350, 369),), "AK": ((995, 999),), "AZ": ((850, 865),), "AR": ((716, 729),),
    "CA": ((900, 961),), "CO": ((800, 816),), "CT": ((60, 69),), "DE": ((197, 199),),
    "DC": ((200, 200), (202, 205)), "FL": ((320, 349),), "GA": ((300, 319), (398, 399)),
    "HI": ((967, 968),), "ID": ((832, 838),), "IL": ((600, 629),), "IN": ((460, 479),),
    "KS": ((660, 679),), "KY": ((400, 427),), "LA": ((700, 714),), "ME": ((39, 49),),
    "MD": ((206, 219),), "MA": ((10, 27),), "MI": ((480, 499),), "MN": ((550, 567),),
    "MS": ((386, 397),), "MO": ((630, 658),), "MT": ((590, 599),), "NE": ((680, 693),),
    "NV": ((889, 898),), "NH": ((30, 38),), "NJ": ((70, 89),), "NM": ((870, 884),),
    "NY": ((100, 149),), "NC": ((270, 289),), "ND": ((580, 588),), "OH": ((430, 459),),
    "OK": ((730, 749),), "OR": ((970, 979),), "PA": ((150, 196),), "RI": ((28, 29),),
    "SC": ((290, 299),), "SD": ((570, 577),), "TN": ((370, 385),), "TX": ((750, 799),),
    "UT": ((840, 847),), "VT": ((50, 59),), "VA": ((201, 201), (220, 246)),
    "WA": ((980, 994),), "WV": ((247, 268),), "WI": ((530, 549),), "WY": ((820, 831),),
}  # fmt: skip
# Some zips in the real data do not belong to the stated state (moves, typos): kept as dirt.
ZIP_OTHER_STATE_SHARE = 0.01

# ---------------------------------------------------------------------------------------------
# Employment. Emp Title is free text: a head of common titles, a body of composed titles
# ("Senior Sales Manager") and a long tail of one-offs (employer names, typos, levels), then
# typed in varied case, often with a trailing space. Emp Length is mostly missing when the
# title is (the applicant skipped the employment section).
# ---------------------------------------------------------------------------------------------
EMP_LENGTHS = (
    "< 1 year", "1 year", "2 years", "3 years", "4 years", "5 years",
    "6 years", "7 years", "8 years", "9 years", "10+ years",
)  # fmt: skip
EMP_LENGTH_WEIGHTS = np.array([2460, 1795, 2364, 2212, 1608, 1603, 1142, 1146, 1042, 971, 8855.0])
EMP_TITLE_MISSING = 0.0861
EMP_LENGTH_MISSING_IF_NO_TITLE = 0.785  # 1828 of 2328 in the real sample
EMP_LENGTH_MISSING_IF_TITLE = 0.00016
# (title, weight): the most common titles, weights ~ occurrences per 27k loans.
HEAD_TITLES: tuple[tuple[str, int], ...] = (
    ("Teacher", 592), ("Manager", 554), ("Owner", 357), ("Driver", 310), ("Supervisor", 281),
    ("Registered Nurse", 266), ("Sales", 238), ("RN", 208), ("Office Manager", 179),
    ("Project Manager", 173), ("General Manager", 164), ("Truck Driver", 141),
    ("President", 118), ("Director", 117), ("Sales Manager", 114), ("Police Officer", 113),
    ("Engineer", 105), ("Operations Manager", 98), ("Technician", 95), ("Store Manager", 95),
    ("Nurse", 83), ("Vice President", 83), ("Mechanic", 82), ("Administrative Assistant", 76),
    ("Account Manager", 76), ("Analyst", 75), ("Assistant Manager", 73), ("Server", 73),
    ("Attorney", 73), ("Accountant", 71), ("Electrician", 70), ("Operator", 68),
    ("Customer Service", 64), ("Program Manager", 63), ("Paralegal", 62),
    ("Business Analyst", 58), ("Branch Manager", 57), ("Machine Operator", 57),
    ("Foreman", 55), ("Executive Assistant", 53), ("Maintenance", 49), ("Bartender", 48),
    ("Superintendent", 48), ("Software Engineer", 47), ("Controller", 42), ("Consultant", 41),
    ("District Manager", 41), ("Machinist", 40), ("CEO", 40), ("LPN", 40),
    ("Account Executive", 39), ("Financial Advisor", 39), ("Service Manager", 39),
    ("CNA", 38), ("Administrator", 38), ("Clerk", 37), ("Security Officer", 36),
    ("Director of Operations", 36), ("Custodian", 35), ("Welder", 35), ("Principal", 35),
    ("Laborer", 34), ("Finance Manager", 34), ("Receptionist", 34), ("Medical Assistant", 33),
    ("Secretary", 32), ("Correctional Officer", 32), ("Carpenter", 32), ("Social Worker", 31),
    ("Physician", 31), ("Cashier", 30), ("Software Developer", 30), ("Flight Attendant", 30),
    ("Professor", 30), ("Respiratory Therapist", 30), ("Sales Associate", 30),
    ("Bookkeeper", 30), ("Associate", 29), ("Nurse Practitioner", 29), ("Underwriter", 29),
    ("Product Manager", 29), ("Pharmacist", 29), ("Legal Assistant", 29),
    ("Executive Director", 28), ("Accounting Manager", 28), ("Officer", 28),
    ("Letter Carrier", 28), ("Loan Officer", 28), ("Customer Service Representative", 27),
    ("Senior Accountant", 27), ("Service Technician", 27), ("Sales Representative", 27),
    ("Bus Driver", 27), ("Cook", 27), ("Firefighter", 26), ("Agent", 26), ("Accounting", 26),
    ("Caregiver", 25), ("Warehouse", 25), ("Staff Accountant", 25),
)  # fmt: skip
# Building blocks of composed titles. Earlier entries are more common (Zipf weights).
TITLE_SENIORITY = (
    "Senior ", "Sr. ", "Lead ", "Assistant ", "Associate ", "Chief ", "Regional ", "District ",
    "Principal ", "Junior ", "Head ", "Deputy ", "Staff ", "Executive ", "Sr ", "Area ",
    "Field ", "Corporate ", "Global ", "Interim ",
)  # fmt: skip
TITLE_FIELDS = (
    "Sales", "Operations", "IT", "Marketing", "Project", "Account", "Production", "Warehouse",
    "Maintenance", "Service", "Finance", "HR", "Customer Service", "Business", "Network",
    "Systems", "Quality", "Logistics", "Software", "Clinical", "Medical", "Pharmacy", "Dental",
    "Property", "Construction", "Security", "Claims", "Loan", "Case", "Program", "Retail",
    "Store", "Office", "Research", "Data", "Safety", "Payroll", "Credit", "Purchasing",
    "Billing", "Insurance", "Facilities", "Engineering", "Technical", "Supply Chain",
    "Compliance", "Training", "Food Service", "Transportation", "Field Service",
)  # fmt: skip
TITLE_ROLES = (
    "Manager", "Supervisor", "Specialist", "Analyst", "Coordinator", "Technician", "Engineer",
    "Director", "Representative", "Assistant", "Associate", "Consultant", "Administrator",
    "Officer", "Clerk", "Lead", "Agent", "Advisor", "Operator", "Developer", "Inspector",
    "Planner", "Auditor", "Architect", "Designer", "Processor", "Scheduler", "Trainer",
    "Estimator", "Examiner",
)  # fmt: skip
TITLE_LEVELS = ("", "", "", "", "", " I", " II", " III", " 2", " IV")
# Employer-name tails ("north american stainless", "peace river electric coop").
COMPANY_SYLLABLES = (
    "al", "bri", "cor", "dan", "el", "fer", "gra", "hol", "jen", "kes", "lan", "mar", "nor",
    "ol", "pen", "quin", "ros", "sten", "tor", "val", "wes", "ash", "ber", "cal", "dor",
    "ev", "gar", "har", "lex", "mon", "ren", "sil", "ton", "ver", "wil", "ly", "ton", "son",
)  # fmt: skip
COMPANY_KINDS = (
    "Logistics", "Health", "Medical Center", "Electric", "Construction", "Industries",
    "Manufacturing", "Bank", "Credit Union", "School District", "Hospital", "Insurance",
    "Foods", "Motors", "Systems", "Services", "Group", "Realty", "Energy", "Transport",
    "Dental", "Law Firm", "County", "University", "Church", "Farms", "Steel", "Airlines",
)  # fmt: skip
# Share of non-missing titles from each source: head / composed / composed rare / employer.
TITLE_SOURCE_WEIGHTS = np.array([0.25, 0.40, 0.23, 0.12])
TITLE_ZIPF_EXPONENT = 0.7  # how fast common compositions thin out
TITLE_TYPO_SHARE = 0.04  # one letter dropped ("property manger")
# How a title is typed: as listed (mostly Title Case) / lower / UPPER / Capitalized first word.
TITLE_CASE_WEIGHTS = np.array([0.66, 0.11, 0.055, 0.175])
TITLE_TRAILING_SPACE = 0.109
TITLE_LEADING_SPACE = 0.0013

# ---------------------------------------------------------------------------------------------
# Purpose and description. Description is the platform's standard title for the purpose,
# except in the early years (2012-2013) when borrowers typed their own, and in 2016 when it was
# often left empty.
# ---------------------------------------------------------------------------------------------
PURPOSES = (
    "debt_consolidation", "credit_card", "home_improvement", "other", "major_purchase",
    "medical", "small_business", "car", "vacation", "house", "moving", "renewable_energy",
    "wedding",
)  # fmt: skip
PURPOSE_WEIGHTS = np.array([15342, 6471, 1757, 1559, 552, 289, 265, 260, 190, 182, 140, 17, 6.0])
STANDARD_DESCRIPTION = {
    "debt_consolidation": "Debt consolidation", "credit_card": "Credit card refinancing",
    "home_improvement": "Home improvement", "other": "Other", "major_purchase": "Major purchase",
    "medical": "Medical expenses", "small_business": "Business", "car": "Car financing",
    "vacation": "Vacation", "house": "Home buying", "moving": "Moving and relocation",
    "renewable_energy": "Green loan", "wedding": "Wedding expenses",
}  # fmt: skip
# Typed descriptions: a phrase about the purpose, or a generic one, decorated.
FREE_DESCRIPTION_PHRASES = {
    "debt_consolidation": ("Debt Consolidation", "Consolidation", "Consolidate", "Debt Payoff",
                           "Bill Consolidation", "Pay Off Debt", "Get Out of Debt"),
    "credit_card": ("Credit Card Payoff", "Credit Card Refinance", "Credit Card Consolidation",
                    "Credit Cards", "CC Payoff", "CC Consolidation", "Credit Card Refi"),
    "home_improvement": ("Home Improvement", "Roofing", "Kitchen Remodel", "New Roof", "Home"),
    "other": ("Personal", "Personal Loan", "Taxes", "Bills"),
    "major_purchase": ("Major Purchase", "Engagement Ring", "Furniture", "New Computer"),
    "medical": ("Medical Loan", "Medical Bills", "Surgery", "Dental Work", "Medical Emergency"),
    "small_business": ("Business Loan", "Business Growth", "Start Up", "Equipment"),
    "car": ("Auto Loan", "Car", "Car Repair", "Motorcycle", "Truck"),
    "vacation": ("Vacation Loan", "Trip", "Honeymoon", "Family Vacation"),
    "house": ("Down Payment", "Closing Costs", "New Home"),
    "moving": ("Moving Loan", "Relocation", "Moving Expenses"),
    "renewable_energy": ("Solar Panels", "Solar", "Green Energy"),
    "wedding": ("Wedding Loan", "Wedding", "Wedding Funding", "Our Wedding"),
}  # fmt: skip
GENERIC_DESCRIPTION_PHRASES = (
    "Loan", "My Loan", "Freedom", "Payoff", "Fresh Start", "Debt Free", "Consolidation Loan",
    "Personal Loan", "Debt Consolidation Loan", "One Payment", "Getting Ahead", "Peace of Mind",
    "Lower Interest", "Finally", "New Beginning", "Help", "Debt", "Refinance",
)  # fmt: skip
DESCRIPTION_PREFIXES = ("", "", "", "", "My ", "Personal ", "Need ", "Simple ")
DESCRIPTION_SUFFIXES = ("", "", "", "", " Loan", " 2013", " Plan", "!", " Now", " Request")
# Per year: (share of typed descriptions, share of missing descriptions).
DESCRIPTION_STYLE_BY_YEAR = np.array(
    [
        [0.810, 0.0],  # 2012
        [0.776, 0.0007],  # 2013
        [0.021, 0.0],  # 2014
        [0.0005, 0.0],  # 2015
        [0.0005, 0.050],  # 2016
        [0.0007, 0.0],  # 2017
        [0.0, 0.0],  # 2018
        [0.0, 0.0],  # 2019
    ]
)
DESCRIPTION_TYPED_GENERIC = 0.35  # typed descriptions using a generic phrase
DESCRIPTION_CASE_WEIGHTS = np.array([0.70, 0.22, 0.03, 0.05])  # as typed / lower / UPPER / Cap
DESCRIPTION_TRAILING_SPACE_OF_TYPED = 0.04
