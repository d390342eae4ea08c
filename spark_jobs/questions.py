"""The five business questions of DATA.md, answered twice on Spark: in Spark SQL and with the
DataFrame API, each from the cleaned loans (marts.fct_loans) in its own readable function.

Both answers follow DATA.md's conventions, the same the dbt marts (marts.rpt_*) follow:
"grade" is the letter grade, "state" is Addr State, "consecutive" is ordered by issue date
then loan_id, a difference is current minus previous, and a group's first loan has no
previous one and is left out of an average (never counted as 0). The consecutive-loan
questions (4 and 5) compute their own LAG here rather than reading fct_loans' lag columns,
so they check the dbt lag features too. The output columns are those of the matching mart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from lendflow.questions import question_texts

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

FCT_LOANS = "marts.fct_loans"

# DATA.md: defaulted loans. The same definition as fct_loans.is_defaulted (dbt).
DEFAULTED_STATUSES = ("Charged Off", "Default")
VERIFIED_STATUSES = ("Verified", "Source Verified")


# --- 1. defaulted loans by employment length and income band -----------------
def defaults_by_emp_length_income_sql(spark: SparkSession) -> DataFrame:
    return spark.sql(f"""
        select
            emp_length,
            income_band,
            count(*) as defaulted_loans,
            avg(loan_amount) as avg_loan_amount,
            avg(int_rate) as avg_int_rate
        from {FCT_LOANS}
        where is_defaulted
        group by emp_length, income_band
    """)


def defaults_by_emp_length_income_df(loans: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    return (
        loans.where(F.col("loan_status").isin(*DEFAULTED_STATUSES))
        .groupBy("emp_length", "income_band")
        .agg(
            F.count(F.lit(1)).alias("defaulted_loans"),
            F.avg("loan_amount").alias("avg_loan_amount"),
            F.avg("int_rate").alias("avg_int_rate"),
        )
    )


# --- 2. funding gap per grade, largest first -----------------------------------
def funding_gap_by_grade_sql(spark: SparkSession) -> DataFrame:
    return spark.sql(f"""
        with gaps as (
            select letter_grade, count(*) as loans, avg(loan_amount - funded_amount) as avg_funding_gap
            from {FCT_LOANS}
            group by letter_grade
        )
        select
            letter_grade,
            loans,
            avg_funding_gap,
            cast(row_number() over (order by avg_funding_gap desc, letter_grade) as int) as gap_rank
        from gaps
    """)


def funding_gap_by_grade_df(loans: DataFrame) -> DataFrame:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    largest_first = Window.orderBy(F.col("avg_funding_gap").desc(), F.col("letter_grade"))
    return (
        loans.groupBy("letter_grade")
        .agg(
            F.count(F.lit(1)).alias("loans"),
            F.avg(F.col("loan_amount") - F.col("funded_amount")).alias("avg_funding_gap"),
        )
        .withColumn("gap_rank", F.row_number().over(largest_first).cast("int"))
    )


# --- 3. verified vs not verified amount per state ------------------------------
def verified_amount_by_state_sql(spark: SparkSession) -> DataFrame:
    verified = ", ".join(f"'{status}'" for status in VERIFIED_STATUSES)
    return spark.sql(f"""
        select
            addr_state,
            state_name,
            sum(case when verification_status in ({verified}) then loan_amount else 0 end) as verified_loan_amount,
            sum(case when verification_status = 'Not Verified' then loan_amount else 0 end) as not_verified_loan_amount,
            sum(case when verification_status in ({verified}) then 1 else 0 end) as verified_loans,
            sum(case when verification_status = 'Not Verified' then 1 else 0 end) as not_verified_loans
        from {FCT_LOANS}
        group by addr_state, state_name
    """)


def verified_amount_by_state_df(loans: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    verified = F.col("verification_status").isin(*VERIFIED_STATUSES)
    not_verified = F.col("verification_status") == "Not Verified"
    return loans.groupBy("addr_state", "state_name").agg(
        F.sum(F.when(verified, F.col("loan_amount")).otherwise(0)).alias("verified_loan_amount"),
        F.sum(F.when(not_verified, F.col("loan_amount")).otherwise(0)).alias("not_verified_loan_amount"),
        F.sum(F.when(verified, 1).otherwise(0)).alias("verified_loans"),
        F.sum(F.when(not_verified, 1).otherwise(0)).alias("not_verified_loans"),
    )


# --- 4. days between consecutive loans per grade --------------------------------
def issue_gap_by_grade_sql(spark: SparkSession) -> DataFrame:
    return spark.sql(f"""
        with consecutive as (
            select
                letter_grade,
                datediff(issue_date, lag(issue_date) over (partition by letter_grade order by issue_date, loan_id))
                    as gap_days
            from {FCT_LOANS}
        )
        select
            letter_grade,
            count(gap_days) as consecutive_pairs,
            avg(cast(gap_days as double)) as avg_gap_days
        from consecutive
        group by letter_grade
    """)


def issue_gap_by_grade_df(loans: DataFrame) -> DataFrame:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    in_grade = Window.partitionBy("letter_grade").orderBy("issue_date", "loan_id")
    gaps = loans.select(
        "letter_grade",
        F.datediff(F.col("issue_date"), F.lag("issue_date").over(in_grade)).alias("gap_days"),
    )
    # avg and count skip nulls: a grade's first loan (no previous one) is left out, never 0.
    return gaps.groupBy("letter_grade").agg(
        F.count("gap_days").alias("consecutive_pairs"),
        F.avg(F.col("gap_days").cast("double")).alias("avg_gap_days"),
    )


# --- 5. change in amount between consecutive loans per state + grade -------------
def amount_change_by_state_grade_sql(spark: SparkSession) -> DataFrame:
    return spark.sql(f"""
        with consecutive as (
            select
                addr_state,
                letter_grade,
                loan_amount - lag(loan_amount) over (
                    partition by addr_state, letter_grade order by issue_date, loan_id
                ) as amount_change
            from {FCT_LOANS}
        )
        select
            addr_state,
            letter_grade,
            count(*) as loans,
            count(amount_change) as consecutive_pairs,
            avg(amount_change) as avg_amount_change
        from consecutive
        group by addr_state, letter_grade
    """)


def amount_change_by_state_grade_df(loans: DataFrame) -> DataFrame:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    in_state_grade = Window.partitionBy("addr_state", "letter_grade").orderBy("issue_date", "loan_id")
    changes = loans.select(
        "addr_state",
        "letter_grade",
        (F.col("loan_amount") - F.lag("loan_amount").over(in_state_grade)).alias("amount_change"),
    )
    return changes.groupBy("addr_state", "letter_grade").agg(
        F.count(F.lit(1)).alias("loans"),
        F.count("amount_change").alias("consecutive_pairs"),
        F.avg("amount_change").alias("avg_amount_change"),
    )


@dataclass(frozen=True)
class Question:
    number: int
    mart: str  # the dbt model answering it (schema marts)
    keys: tuple[str, ...]  # one row per key
    sql: Callable[[SparkSession], DataFrame]
    dataframe: Callable[[DataFrame], DataFrame]

    @property
    def text(self) -> str:
        """The question in dbt's words (the mart's meta.question)."""
        return question_texts()[self.mart]


QUESTIONS: tuple[Question, ...] = (
    Question(
        1,
        "rpt_defaults_by_emp_length_income",
        ("emp_length", "income_band"),
        defaults_by_emp_length_income_sql,
        defaults_by_emp_length_income_df,
    ),
    Question(
        2,
        "rpt_funding_gap_by_grade",
        ("letter_grade",),
        funding_gap_by_grade_sql,
        funding_gap_by_grade_df,
    ),
    Question(
        3,
        "rpt_verified_amount_by_state",
        ("addr_state",),
        verified_amount_by_state_sql,
        verified_amount_by_state_df,
    ),
    Question(
        4,
        "rpt_issue_gap_by_grade",
        ("letter_grade",),
        issue_gap_by_grade_sql,
        issue_gap_by_grade_df,
    ),
    Question(
        5,
        "rpt_amount_change_by_state_grade",
        ("addr_state", "letter_grade"),
        amount_change_by_state_grade_sql,
        amount_change_by_state_grade_df,
    ),
)


def answer_all(spark: SparkSession) -> dict[int, tuple[DataFrame, DataFrame]]:
    """Question number -> (Spark SQL answer, DataFrame API answer), both from marts.fct_loans."""
    loans = spark.table(FCT_LOANS)
    return {q.number: (q.sql(spark), q.dataframe(loans)) for q in QUESTIONS}


@dataclass(frozen=True)
class TwoWayAnswer:
    question: Question
    by_sql: pd.DataFrame
    by_dataframe: pd.DataFrame
    differences: list[str]  # empty when the two answers agree row by row

    def write_csv(self, out_dir: Path) -> None:
        """Both answers as out_dir/q<N>_sql.csv and out_dir/q<N>_dataframe.csv."""
        out_dir.mkdir(parents=True, exist_ok=True)
        self.by_sql.to_csv(out_dir / f"q{self.question.number}_sql.csv", index=False)
        self.by_dataframe.to_csv(out_dir / f"q{self.question.number}_dataframe.csv", index=False)


def two_way_answers(spark: SparkSession) -> list[TwoWayAnswer]:
    """Every question answered in Spark SQL and with the DataFrame API, compared row by row."""
    from spark_jobs.compare import row_differences

    results = []
    for number, (sql_frame, api_frame) in answer_all(spark).items():
        question = QUESTIONS[number - 1]
        by_sql: pd.DataFrame = sql_frame.toPandas()
        by_dataframe: pd.DataFrame = api_frame.toPandas()
        values = [c for c in by_sql.columns if c not in question.keys]
        differences = row_differences(by_sql.to_dict("records"), by_dataframe.to_dict("records"), question.keys, values)
        results.append(TwoWayAnswer(question, by_sql, by_dataframe, differences))
    return results
