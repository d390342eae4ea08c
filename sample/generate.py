"""Deterministic sample data: raw loan records shaped like the real public dataset.

The product must run end to end without the real data, so it ships this generator. The
rules it follows are the ones in DATA.md (column names, types, missing rates, dirt); the
distributions below were read off one real sample and are hard-coded as small tables of
weights. No real row is embedded: every value is drawn from these tables.

Design choices, and why:

* Rows are produced in fixed blocks of ``BLOCK_ROWS``, each with its own random stream seeded
  from ``(seed, block number)``. The output therefore does not depend on ``chunk_size``
  (chunked output equals unchunked output), and a block never needs the state of another.
* Every column is built by a small vectorized function (numpy for numbers, pyarrow compute for
  text), so a million rows take seconds and memory only holds one chunk at a time.
* Columns are drawn in dependency order (year -> grade -> term -> rate, income -> loan
  amount, ...) so the relationships the models and marts rely on exist in the sample, not just
  the marginal distributions.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lendflow.raw_columns import RAW_COLUMNS, RAW_SCHEMA

__all__ = [
    "RAW_COLUMNS",
    "RAW_SCHEMA",
    "SampleFiles",
    "generate_chunks",
    "generate_table",
    "next_loan_id",
    "write_sample",
]

# The schema of the 24 raw columns lives in lendflow.raw_columns (one definition for all).

# Rows per independently seeded block. Changing it changes every generated value, so it is a
# constant of the format, not a tuning knob.
BLOCK_ROWS = 8_192
# Loan ids advance by this stride with a random offset inside it: ids are unique, have gaps
# (like a ~10% draw of a larger book) and 27k rows end near the real ~270k maximum.
LOAN_ID_STRIDE = 10
# The stream sample uses a different random stream than the batch sample with the same seed,
# so its customers and values are new, not copies of batch rows.
STREAM_SEED_OFFSET = 1_000_003

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


# =============================================================================================
# Small helpers
# =============================================================================================
def _normalised(weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum(axis=-1, keepdims=True)


def _draw_by_group(rng: np.random.Generator, table: np.ndarray, group: np.ndarray) -> np.ndarray:
    """One categorical draw per row, from the row of `table` chosen by `group` (vectorized)."""
    cum = np.cumsum(_normalised(table), axis=1)
    cum[:, -1] = 1.0  # guard against rounding leaving u > last edge
    u = np.asarray(rng.random(group.shape[0]))
    return (u[:, None] >= cum[group]).sum(axis=1)


def _draw(rng: np.random.Generator, weights: np.ndarray | Sequence[float], n: int) -> np.ndarray:
    return rng.choice(len(weights), size=n, p=_normalised(np.asarray(weights, dtype=float)))


def _pick(rng: np.random.Generator, k: int, n: int) -> np.ndarray:
    """n uniform indexes in 0..k-1."""
    return np.asarray(rng.integers(0, k, size=n))


def _chance(rng: np.random.Generator, p: float | np.ndarray, n: int) -> np.ndarray:
    """n independent events of probability p (scalar or one per row)."""
    return np.asarray(rng.random(n) < p)


def _zipf_weights(k: int, exponent: float = 1.0) -> np.ndarray:
    return 1.0 / np.arange(1, k + 1, dtype=float) ** exponent


def _labels(values: Sequence[str], idx: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Text column from label indexes; `missing` rows become nulls."""
    return pa.array(values, pa.string()).take(pa.array(idx, pa.int64(), mask=missing))


def _round_mixed(rng: np.random.Generator, x: np.ndarray, steps: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Round each value to a step drawn from `steps` ((step, share), ...), as people state them."""
    step = np.array([s for s, _ in steps])[_draw(rng, [w for _, w in steps], x.shape[0])]
    # Never round a value to 0 by using a step coarser than the value itself.
    step = np.where(step > x, 1.0, step)
    out = np.round(x / step) * step
    # Decimal steps leave binary noise (0.1 + 0.2); keep 3 decimals at most, like the source.
    return np.round(out, 3)


def _case_variants(text: pa.Array, style: np.ndarray) -> pa.Array:
    """Apply 0 = as is, 1 = lower, 2 = UPPER, 3 = Capitalized (first letter only) per row."""
    variants = [text, pc.utf8_lower(text), pc.utf8_upper(text), pc.utf8_capitalize(text)]
    out = variants[0]
    for code in (1, 2, 3):
        out = pc.if_else(pa.array(style == code), variants[code], out)
    return out


def _pad(text: pa.Array, before: np.ndarray, after: np.ndarray) -> pa.Array:
    """Add a leading and/or trailing space where the masks say so."""
    space = pa.array(np.where(before, " ", ""), pa.string())
    trail = pa.array(np.where(after, " ", ""), pa.string())
    return pc.binary_join_element_wise(space, text, trail, "")


def _drop_one_letter(rng: np.random.Generator, text: pa.Array, rows: np.ndarray) -> pa.Array:
    """Typos: drop one letter at a random inner position in the selected rows."""
    if not rows.any():
        return text
    values = text.to_pylist()
    idx = np.flatnonzero(rows)
    cuts = rng.random(idx.shape[0])
    for i, c in zip(idx.tolist(), cuts.tolist(), strict=True):
        s = values[i]
        if s is not None and len(s) > 4:
            p = 1 + int(c * (len(s) - 2))
            values[i] = s[:p] + s[p + 1 :]
    return pa.array(values, pa.string())


# =============================================================================================
# Column groups (each a pure function of the random stream and earlier columns)
# =============================================================================================
def issue_dates(rng: np.random.Generator, n: int) -> tuple[np.ndarray, pa.Array]:
    """Year index (0 = 2012) and the raw `%d %B %Y` text, the day being the two-digit year."""
    months = [(y, m) for y in YEARS for m in range(FIRST_MONTH.get(y, 1), 13)]
    year_of = np.array([YEARS.index(y) for y, _ in months])
    # Within a year volume is flat; across years it follows YEAR_WEIGHTS.
    per_month = YEAR_WEIGHTS[year_of] / np.bincount(year_of)[year_of]
    which = _draw(rng, per_month, n)
    text = [f"{y % 100:02d} {MONTH_NAMES[m - 1]} {y}" for y, m in months]
    return year_of[which], _labels(text, which)


def grades_and_rates(
    rng: np.random.Generator, year: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Grade (1..35), letter index (0 = A), 60-month flag, and Int Rate (NaN where missing)."""
    n = year.shape[0]
    letter = _draw_by_group(rng, LETTER_BY_YEAR, year)
    grade = letter * 5 + rng.integers(1, 6, size=n)
    sixty = _chance(rng, SIXTY_MONTH_BY_LETTER[letter], n)
    mean, sd, lo, hi = (RATE_BY_LETTER[letter, k] for k in range(4))
    rate = np.round(np.clip(rng.normal(mean, sd), lo, hi), 4)
    rate = np.where((letter > 0) & (_chance(rng, STRAY_RATE_SHARE, n)), STRAY_RATE, rate)
    rate = np.where(_chance(rng, INT_RATE_MISSING, n), np.nan, rate)
    return grade.astype(np.int64), letter, sixty, rate


def loan_statuses(rng: np.random.Generator, year: np.ndarray, letter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Loan Status index by vintage, charge-offs tilted by grade; and the Pymnt Plan flag."""
    status = _draw_by_group(rng, STATUS_BY_YEAR, year)
    charged, paid = LOAN_STATUSES.index("Charged Off"), LOAN_STATUSES.index("Fully Paid")
    # Re-split finished loans between Charged Off and Fully Paid with grade-adjusted odds.
    base = STATUS_BY_YEAR[:, charged] / (STATUS_BY_YEAR[:, charged] + STATUS_BY_YEAR[:, paid])
    odds = base[year] / (1 - base[year]) * CHARGE_OFF_ODDS_BY_LETTER[letter]
    finished = (status == charged) | (status == paid)
    n = year.shape[0]
    status = np.where(finished, np.where(_chance(rng, odds / (1 + odds), n), charged, paid), status)
    late = np.isin(status, [LOAN_STATUSES.index(s) for s in LOAN_STATUSES if s.startswith(("Late", "In Grace"))])
    plan = late & _chance(rng, PAYMENT_PLAN_SHARE_OF_LATE, n)
    return status, plan


def applicant_profile(rng: np.random.Generator, year: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Type, Home Ownership and Verification Status indexes, each by year."""
    app_type = _draw_by_group(rng, TYPE_BY_YEAR, year)
    home = _draw_by_group(rng, HOME_BY_YEAR, year)
    verification = _draw_by_group(rng, VERIFICATION_BY_YEAR, year)
    return app_type, home, verification


def incomes(
    rng: np.random.Generator, year: np.ndarray, home: np.ndarray, app_type: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Annual Inc, Annual Inc Joint (NaN unless a joint application) and a standardised
    log-income score that later columns use to stay correlated with income."""
    n = year.shape[0]
    t = rng.standard_t(INCOME_T_DF, size=n)
    log_inc = (
        INCOME_LOG_MEDIAN
        + INCOME_LOG_DRIFT_PER_YEAR * year
        + INCOME_LOG_SHIFT_BY_HOME[home]
        + np.where(np.isin(app_type, JOINT_TYPES), INCOME_LOG_SHIFT_JOINT, 0.0)
        + INCOME_LOG_SCALE * t
    )
    income = np.exp(log_inc) * np.where(_chance(rng, INCOME_EXTRA_ZERO_SHARE, n), 10.0, 1.0)
    income = np.clip(income, INCOME_MIN, INCOME_MAX)
    income = _round_mixed(rng, income, INCOME_ROUNDING)
    partner = np.exp(rng.normal(PARTNER_LOG_MEDIAN, PARTNER_LOG_SCALE, size=n))
    partner = np.where(_chance(rng, PARTNER_ZERO_SHARE, n), 0.0, partner)
    joint = _round_mixed(rng, income + partner, INCOME_ROUNDING)
    joint = np.where(np.isin(app_type, JOINT_TYPES), np.maximum(joint, income), np.nan)
    score = (np.log(income) - INCOME_LOG_MEDIAN) / INCOME_LOG_SCALE  # ~t(7): heavy tails, clipped
    return income, joint, np.clip(score, -4, 4)


def loan_amounts(rng: np.random.Generator, sixty: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Loan Amount by term, correlated with income, rounded, within the platform limits."""
    mean, sd = LOAN_LOG_BY_TERM[sixty.astype(int), 0], LOAN_LOG_BY_TERM[sixty.astype(int), 1]
    noise = rng.standard_normal(sixty.shape[0])
    z = LOAN_INCOME_CORR * score / INCOME_SCORE_SD + np.sqrt(1 - LOAN_INCOME_CORR**2) * noise
    amount = np.exp(mean + sd * z)
    amount = _round_mixed(rng, np.clip(amount, LOAN_MIN, LOAN_MAX), LOAN_ROUNDING)
    return np.clip(amount, LOAN_MIN, LOAN_MAX)


def balances(rng: np.random.Generator, home: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Avg Cur Bal and Tot Cur Bal (whole dollars): total by home ownership and income,
    average = total / number of open accounts."""
    n = home.shape[0]
    median, sd, low_share = (TOTAL_BAL_LOG_BY_HOME[home, k] for k in range(3))
    capped = np.clip(score, -TOTAL_BAL_INCOME_SCORE_CAP, TOTAL_BAL_INCOME_SCORE_CAP)
    income_term = TOTAL_BAL_INCOME_SLOPE * INCOME_LOG_SCALE * capped
    log_total = median + income_term + sd * rng.standard_normal(n)
    low_tail = _chance(rng, low_share, n)
    log_total -= np.where(low_tail, rng.exponential(TOTAL_BAL_LOW_TAIL_MEAN, size=n), 0.0)
    total = np.round(np.clip(np.exp(log_total), TOTAL_BAL_MIN, TOTAL_BAL_MAX))
    mean_accounts = ACCOUNTS_NB_MEAN * np.exp(ACCOUNTS_BAL_ELASTICITY * (np.log(total) - ACCOUNTS_ANCHOR_LOG_BAL))
    accounts = 1 + rng.negative_binomial(ACCOUNTS_NB_R, ACCOUNTS_NB_R / (ACCOUNTS_NB_R + mean_accounts))
    accounts = np.maximum(accounts, np.ceil(total / AVG_BAL_MAX))
    average = np.round(total / accounts)
    return average, total


def geography(rng: np.random.Generator, n: int) -> tuple[pa.Array, pa.Array]:
    """Addr State and Zip Code (`NNNxx`), the zip prefix mostly inside the state."""
    codes = list(STATE_WEIGHTS)
    state = _draw(rng, np.array(list(STATE_WEIGHTS.values())), n)
    # Dirt: a few zips come from another (random) state.
    zip_state = np.where(_chance(rng, ZIP_OTHER_STATE_SHARE, n), _pick(rng, len(codes), n), state)
    # Each state's prefixes laid end to end; draw a position inside the state's span.
    prefixes = [np.concatenate([np.arange(a, b + 1) for a, b in ZIP3_RANGES[c]]) for c in codes]
    start = np.cumsum([0] + [len(p) for p in prefixes[:-1]])
    size = np.array([len(p) for p in prefixes])
    flat = np.concatenate(prefixes)
    zip3 = flat[start[zip_state] + (rng.random(n) * size[zip_state]).astype(int)]
    zip_text = [f"{z:03d}xx" for z in range(1000)]
    return _labels(codes, state), _labels(zip_text, zip3)


def employment(rng: np.random.Generator, n: int) -> tuple[pa.Array, pa.Array]:
    """Emp Title (free text, messy) and Emp Length (missing mostly with the title)."""
    source = _draw(rng, TITLE_SOURCE_WEIGHTS, n)
    head_titles = [t for t, _ in HEAD_TITLES]
    head = _labels(head_titles, _draw(rng, np.array([w for _, w in HEAD_TITLES], float), n))
    # Common compositions: Zipf-weighted field + role ("Sales Manager", "IT Specialist").
    field_ = _draw(rng, _zipf_weights(len(TITLE_FIELDS), TITLE_ZIPF_EXPONENT), n)
    role = _draw(rng, _zipf_weights(len(TITLE_ROLES), TITLE_ZIPF_EXPONENT), n)
    common = pc.binary_join_element_wise(_labels(TITLE_FIELDS, field_), _labels(TITLE_ROLES, role), " ")
    # Rare compositions: seniority + uniform field + uniform role + level: mostly one-offs.
    rare = pc.binary_join_element_wise(
        _labels(TITLE_SENIORITY, _pick(rng, len(TITLE_SENIORITY), n)),
        _labels(TITLE_FIELDS, _pick(rng, len(TITLE_FIELDS), n)),
        pa.array([" "] * n, pa.string()),
        _labels(TITLE_ROLES, _pick(rng, len(TITLE_ROLES), n)),
        _labels(TITLE_LEVELS, _pick(rng, len(TITLE_LEVELS), n)),
        "",
    )
    # Employer names: two or three syllables + an industry word ("Valmar Logistics").
    syl = [_labels(COMPANY_SYLLABLES, _pick(rng, len(COMPANY_SYLLABLES), n)) for _ in range(3)]
    third = pc.if_else(pa.array(_chance(rng, 0.4, n)), syl[2], pa.array([""] * n, pa.string()))
    word = pc.utf8_capitalize(pc.binary_join_element_wise(syl[0], syl[1], third, ""))
    company = pc.binary_join_element_wise(word, _labels(COMPANY_KINDS, _pick(rng, len(COMPANY_KINDS), n)), " ")
    title = head
    for code, arr in ((1, common), (2, rare), (3, company)):
        title = pc.if_else(pa.array(source == code), arr, title)
    title = _drop_one_letter(rng, title, (source > 0) & (_chance(rng, TITLE_TYPO_SHARE, n)))
    title = _case_variants(title, _draw(rng, TITLE_CASE_WEIGHTS, n))
    title = _pad(title, _chance(rng, TITLE_LEADING_SPACE, n), _chance(rng, TITLE_TRAILING_SPACE, n))
    no_title = _chance(rng, EMP_TITLE_MISSING, n)
    title = pc.if_else(pa.array(no_title), pa.scalar(None, pa.string()), title)

    no_length = rng.random(n) < np.where(no_title, EMP_LENGTH_MISSING_IF_NO_TITLE, EMP_LENGTH_MISSING_IF_TITLE)
    length = _labels(EMP_LENGTHS, _draw(rng, EMP_LENGTH_WEIGHTS, n), missing=no_length)
    return title, length


def purposes_and_descriptions(rng: np.random.Generator, year: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """Purpose (13 snake_case values) and Description (standard title, typed text, or null)."""
    n = year.shape[0]
    purpose = _draw(rng, PURPOSE_WEIGHTS, n)
    standard = _labels([STANDARD_DESCRIPTION[p] for p in PURPOSES], purpose)

    # Typed text: a purpose phrase (or a generic one), with an optional prefix and suffix.
    phrases = [FREE_DESCRIPTION_PHRASES[p] for p in PURPOSES]
    flat = [s for group in phrases for s in group] + list(GENERIC_DESCRIPTION_PHRASES)
    start = np.cumsum([0] + [len(g) for g in phrases[:-1]])
    size = np.array([len(g) for g in phrases])
    own = start[purpose] + (rng.random(n) * size[purpose]).astype(int)
    generic = len(flat) - len(GENERIC_DESCRIPTION_PHRASES) + _pick(rng, len(GENERIC_DESCRIPTION_PHRASES), n)
    phrase = np.where(_chance(rng, DESCRIPTION_TYPED_GENERIC, n), generic, own)
    typed = pc.binary_join_element_wise(
        _labels(DESCRIPTION_PREFIXES, _pick(rng, len(DESCRIPTION_PREFIXES), n)),
        _labels(flat, phrase),
        _labels(DESCRIPTION_SUFFIXES, _pick(rng, len(DESCRIPTION_SUFFIXES), n)),
        "",
    )
    typed = _case_variants(typed, _draw(rng, DESCRIPTION_CASE_WEIGHTS, n))
    typed = _pad(typed, np.zeros(n, bool), _chance(rng, DESCRIPTION_TRAILING_SPACE_OF_TYPED, n))

    u = rng.random(n)
    is_typed = u < DESCRIPTION_STYLE_BY_YEAR[year, 0]
    is_missing = (~is_typed) & (_chance(rng, DESCRIPTION_STYLE_BY_YEAR[year, 1], n))
    description = pc.if_else(pa.array(is_typed), typed, standard)
    description = pc.if_else(pa.array(is_missing), pa.scalar(None, pa.string()), description)
    return _labels(PURPOSES, purpose), description


def customer_ids(rng: np.random.Generator, n: int) -> pa.Array:
    """Opaque ids shaped like the real ones: base64 of the text repr of 32 random bytes
    (b'\\x93j...'), so lengths vary (84..168 chars) and the alphabet is base64's."""
    raw = rng.integers(0, 256, size=(n, 32), dtype=np.uint8).tobytes()
    return pa.array(
        [base64.b64encode(repr(raw[i : i + 32]).encode()).decode() for i in range(0, 32 * n, 32)],
        pa.string(),
    )


def loan_ids(rng: np.random.Generator, first_row: int, n: int, first_loan_id: int) -> np.ndarray:
    """Unique, gappy ids: row slot k gets first_loan_id + STRIDE*k + jitter, and the slots are
    shuffled within the block so files are not sorted by id (as real extracts are not)."""
    order = rng.permutation(BLOCK_ROWS)[:n]
    slot = np.argsort(np.argsort(order))  # a permutation of 0..n-1, even for a partial block
    jitter = rng.integers(0, LOAN_ID_STRIDE, size=n)
    return first_loan_id + LOAN_ID_STRIDE * (first_row + slot) + jitter


def next_loan_id(rows: int, first_loan_id: int = 1) -> int:
    """Smallest loan id that `rows` rows starting at `first_loan_id` can never use."""
    return first_loan_id + LOAN_ID_STRIDE * rows


# =============================================================================================
# Blocks, chunks and tables
# =============================================================================================
def _block(seed: int, block_no: int, keep: int, first_loan_id: int) -> pa.Table:
    """Rows of one block. A full block is always drawn (so a block's values do not depend on
    how many rows are kept), then the first `keep` rows are returned."""
    rng = np.random.default_rng([seed, block_no])
    n = BLOCK_ROWS
    year, issue_text = issue_dates(rng, n)
    grade, letter, sixty, rate = grades_and_rates(rng, year)
    status, plan = loan_statuses(rng, year, letter)
    app_type, home, verification = applicant_profile(rng, year)
    income, joint, score = incomes(rng, year, home, app_type)
    amount = loan_amounts(rng, sixty, score)
    average, total = balances(rng, home, score)
    state, zip_code = geography(rng, n)
    title, length = employment(rng, n)
    purpose, description = purposes_and_descriptions(rng, year)
    customer = customer_ids(rng, n)
    ids = loan_ids(rng, block_no * BLOCK_ROWS, keep, first_loan_id)

    def num(values: np.ndarray) -> pa.Array:
        return pa.array(values, pa.float64(), mask=np.isnan(values))  # NaN -> null

    columns = {
        "Customer Id": customer,
        "Emp Title": title,
        "Emp Length": length,
        "Home Ownership": _labels(HOME_OWNERSHIP, home),
        "Annual Inc": num(income),
        "Annual Inc Joint": num(joint),
        "Verification Status": _labels(VERIFICATION, verification),
        "Zip Code": zip_code,
        "Addr State": state,
        "Avg Cur Bal": num(average),
        "Tot Cur Bal": num(total),
        "Loan Id": None,
        "Loan Status": _labels(LOAN_STATUSES, status),
        "Loan Amount": num(amount),
        "State": state,
        "Funded Amount": num(amount),
        "Term": _labels(TERMS, sixty.astype(int)),
        "Int Rate": num(rate),
        "Grade": pa.array(grade, pa.int64()),
        "Issue Date": issue_text,
        "Pymnt Plan": pa.array(plan, pa.bool_()),
        "Type": _labels(TYPES, app_type),
        "Purpose": purpose,
        "Description": description,
    }
    arrays = [pa.array(ids, pa.int64()) if name == "Loan Id" else columns[name].slice(0, keep) for name in RAW_COLUMNS]
    return pa.Table.from_arrays(arrays, schema=RAW_SCHEMA)


def generate_chunks(rows: int, seed: int, first_loan_id: int = 1, chunk_size: int = 100_000) -> Iterator[pa.Table]:
    """Yield `rows` raw loan rows as pyarrow Tables of at most `chunk_size` rows.

    The concatenated output depends only on (rows, seed, first_loan_id), never on chunk_size.
    Loan ids lie in [first_loan_id, next_loan_id(rows, first_loan_id)).
    """
    if rows < 0:
        raise ValueError("rows must be >= 0")
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    pending: list[pa.Table] = []
    pending_rows = 0
    for block_no in range(-(-rows // BLOCK_ROWS)):
        keep = min(BLOCK_ROWS, rows - block_no * BLOCK_ROWS)
        pending.append(_block(seed, block_no, keep, first_loan_id))
        pending_rows += keep
        while pending_rows >= chunk_size:
            table = pa.concat_tables(pending)
            yield table.slice(0, chunk_size).combine_chunks()
            rest = table.slice(chunk_size)
            pending, pending_rows = [rest], rest.num_rows
    if pending_rows:
        yield pa.concat_tables(pending).combine_chunks()


def generate_table(rows: int, seed: int, first_loan_id: int = 1) -> pa.Table:
    """All rows in one Table (convenient for tests and small samples)."""
    chunks = list(generate_chunks(rows, seed, first_loan_id))
    return pa.concat_tables(chunks) if chunks else RAW_SCHEMA.empty_table()


# =============================================================================================
# Files
# =============================================================================================
FORMATS = ("csv", "parquet")


@dataclass(frozen=True)
class SampleFiles:
    """What write_sample produced. Paths are None for formats that were not requested."""

    out_dir: Path
    rows: int
    stream_rows: int
    seed: int
    loans_csv: Path | None = None
    loans_parquet: Path | None = None
    stream_csv: Path | None = None
    stream_parquet: Path | None = None
    # Stream loan ids start here: above every batch id, so the two samples are disjoint.
    first_stream_loan_id: int = 0
    paths: tuple[Path, ...] = field(default=(), repr=False)


class _Sinks:
    """CSV and/or Parquet writers fed chunk by chunk, renamed into place only on success so
    an interrupted run never leaves a truncated file under the final name."""

    def __init__(self, base: Path, formats: Iterable[str]) -> None:
        self.final: dict[str, Path] = {f: base.with_suffix(f".{f}") for f in formats}
        self.tmp = {f: p.with_name(p.name + ".tmp") for f, p in self.final.items()}
        self.csv = pacsv.CSVWriter(self.tmp["csv"], RAW_SCHEMA) if "csv" in self.final else None
        self.parquet = (
            pq.ParquetWriter(self.tmp["parquet"], RAW_SCHEMA, compression="zstd") if "parquet" in self.final else None
        )

    def write(self, table: pa.Table) -> None:
        if self.csv is not None:
            self.csv.write_table(table)
        if self.parquet is not None:
            self.parquet.write_table(table)

    def close(self, ok: bool) -> None:
        for writer in (self.csv, self.parquet):
            if writer is not None:
                writer.close()
        for f, tmp in self.tmp.items():
            if ok:
                os.replace(tmp, self.final[f])
            else:
                tmp.unlink(missing_ok=True)


def _write(
    base: Path, formats: Sequence[str], chunks: Iterable[pa.Table], advance: Callable[[int], object]
) -> dict[str, Path]:
    sinks = _Sinks(base, formats)
    ok = False
    try:
        for chunk in chunks:
            sinks.write(chunk)
            advance(chunk.num_rows)
        ok = True
    finally:
        sinks.close(ok)
    return sinks.final


def write_sample(
    out_dir: Path,
    rows: int = 27_030,
    seed: int = 42,
    *,
    formats: Sequence[str] = ("csv", "parquet"),
    stream_rows: int = 5_000,
    progress: bool = True,
) -> SampleFiles:
    """Write loans.{csv,parquet} (batch) and stream.{csv,parquet} (new loans for the Kafka
    producer, ids disjoint from the batch) into `out_dir`. Same arguments -> same bytes."""
    formats = tuple(dict.fromkeys(formats))  # de-duplicate, keep order
    unknown = set(formats) - set(FORMATS)
    if unknown or not formats:
        raise ValueError(f"formats must be a non-empty subset of {FORMATS}, got {formats!r}")
    if stream_rows < 0:
        raise ValueError("stream_rows must be >= 0")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    first_stream_id = next_loan_id(rows, 1)

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )  # fmt: skip

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not progress,
    )
    with bar:
        batch_task = bar.add_task("loans", total=rows)
        batch = _write(
            out_dir / "loans",
            formats,
            generate_chunks(rows, seed, first_loan_id=1),
            lambda k: bar.advance(batch_task, k),
        )
        stream_task = bar.add_task("stream", total=stream_rows)
        stream = _write(
            out_dir / "stream",
            formats,
            generate_chunks(stream_rows, seed + STREAM_SEED_OFFSET, first_loan_id=first_stream_id),
            lambda k: bar.advance(stream_task, k),
        )
    return SampleFiles(
        out_dir=out_dir,
        rows=rows,
        stream_rows=stream_rows,
        seed=seed,
        loans_csv=batch.get("csv"),
        loans_parquet=batch.get("parquet"),
        stream_csv=stream.get("csv"),
        stream_parquet=stream.get("parquet"),
        first_stream_loan_id=first_stream_id,
        paths=tuple(batch.values()) + tuple(stream.values()),
    )
