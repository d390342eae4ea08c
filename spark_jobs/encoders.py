"""Spark ML encoders whose mappings equal dbt's `lookup_values` encodings.

One pipeline, fitted on the declared vocabularies (the dbt seeds and the one-hot category
lists), so a code means the same on both sides whatever loans a run happens to hold:

- addr_state, purpose: StringIndexer in alphabetical order; dbt's label codes are the
  1-based alphabetical positions (int_state_codes, the purposes seed), so code = index + 1;
- home_ownership, verification_status, loan_type: StringIndexer + OneHotEncoder (all
  categories kept), each category named `<column>_<slug>` like dbt's one-hot columns;
- emp_length: a SQLTransformer ('< 1 year' -> 0, 'N years' -> N, '10+ years' -> 10);
- grade: a Bucketizer on the sub-grade bands 1-5 A, 6-10 B, ... 31-35 G.

`lookup_table` writes every mapping as rows (column_name, original_value, encoded_value,
kind='encoding'), the shape of marts.lookup_values.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.ml import PipelineModel
    from pyspark.sql import DataFrame, SparkSession

# The categories dbt one-hot encodes (dbt_project/macros/loans/features.sql: one_hot_categories);
# the test compares the resulting lookup rows with dbt's, so a drift between the two shows.
ONE_HOT_CATEGORIES: dict[str, tuple[str, ...]] = {
    "home_ownership": ("MORTGAGE", "RENT", "OWN", "ANY", "OTHER"),
    "verification_status": ("Not Verified", "Source Verified", "Verified"),
    "loan_type": ("Individual", "Joint", "Direct Pay"),
}
LABEL_CODED = ("addr_state", "purpose")
LETTERS = "ABCDEFG"
GRADE_SPLITS = [1.0, 6.0, 11.0, 16.0, 21.0, 26.0, 31.0, 36.0]  # [1, 6) -> A ... [31, 36) -> G
EMP_LENGTH_YEARS_SQL = (
    "select *, cast(case when emp_length rlike '^< *1 year' then 0"
    " else regexp_extract(emp_length, '^([0-9]+)', 1) end as int) as emp_length_years_ml from __THIS__"
)


def slug(value: str) -> str:
    """'Source Verified' -> 'source_verified' (dbt's slug macro)."""
    return value.lower().replace(" ", "_").replace("-", "_")


def vocabularies(spark: SparkSession) -> dict[str, list[str]]:
    """Every declared value of every encoded column: the seeds (via dbt's models) and the one-hot lists."""
    vocab: dict[str, list[str]] = {col: list(cats) for col, cats in ONE_HOT_CATEGORIES.items()}
    vocab["addr_state"] = [r[0] for r in spark.sql("select state_code from marts.dim_states").collect()]
    vocab["purpose"] = [r[0] for r in spark.sql("select purpose from seeds.purposes").collect()]
    vocab["emp_length"] = [r[0] for r in spark.sql("select emp_length from seeds.emp_lengths").collect()]
    return vocab


def _vocabulary_frame(spark: SparkSession, vocab: dict[str, list[str]]) -> DataFrame:
    """One row per position, a column per encoded column (shorter lists padded by repeating their first value)."""
    longest = max(len(values) for values in vocab.values())
    columns = list(vocab)
    rows = [tuple(vocab[c][i] if i < len(vocab[c]) else vocab[c][0] for c in columns) for i in range(longest)]
    return spark.createDataFrame(rows, ", ".join(f"{c} string" for c in columns))


def fit_pipeline(spark: SparkSession) -> PipelineModel:
    """The encoders, fitted on the declared vocabularies."""
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import Bucketizer, OneHotEncoder, SQLTransformer, StringIndexer
    from pyspark.sql import functions as F

    vocab = vocabularies(spark)
    stages: list = [  # type: ignore[type-arg]
        StringIndexer(
            inputCols=[*LABEL_CODED, *ONE_HOT_CATEGORIES],
            outputCols=[f"{c}_index" for c in (*LABEL_CODED, *ONE_HOT_CATEGORIES)],
            stringOrderType="alphabetAsc",
            handleInvalid="keep",  # an unseen value gets the extra index (and an all-zero one-hot)
        ),
        OneHotEncoder(
            inputCols=[f"{c}_index" for c in ONE_HOT_CATEGORIES],
            outputCols=[f"{c}_one_hot" for c in ONE_HOT_CATEGORIES],
            dropLast=False,
            handleInvalid="keep",
        ),
        SQLTransformer(statement=EMP_LENGTH_YEARS_SQL),
    ]
    stages.append(
        Bucketizer(splits=GRADE_SPLITS, inputCol="grade_double", outputCol="grade_bucket", handleInvalid="keep")
    )
    fit_on = _vocabulary_frame(spark, vocab).withColumn("grade_double", F.lit(1.0))
    return Pipeline(stages=stages).fit(fit_on)


def encode(model: PipelineModel, loans: DataFrame) -> DataFrame:
    """fct_loans with the ML encodings added: *_index, *_one_hot vectors, addr_state/purpose codes,
    emp_length_years_ml and letter_grade_ml."""
    from pyspark.sql import functions as F

    encoded = model.transform(loans.withColumn("grade_double", F.col("grade").cast("double")))
    letters = F.array(*[F.lit(letter) for letter in LETTERS])
    return (
        encoded.withColumn("addr_state_code_ml", (F.col("addr_state_index") + 1).cast("int"))
        .withColumn("purpose_code_ml", (F.col("purpose_index") + 1).cast("int"))
        .withColumn("letter_grade_ml", F.element_at(letters, (F.col("grade_bucket") + 1).cast("int")))
        .drop("grade_double")
    )


def lookup_table(spark: SparkSession, model: PipelineModel) -> DataFrame:
    """Every mapping of the fitted encoders as lookup rows (column_name, original_value, encoded_value, kind)."""
    from pyspark.ml.feature import Bucketizer, SQLTransformer, StringIndexerModel

    indexer = next(s for s in model.stages if isinstance(s, StringIndexerModel))
    labels = dict(zip(indexer.getInputCols(), indexer.labelsArray, strict=True))
    rows: list[tuple[str, str, str, str, str]] = []
    for column in LABEL_CODED:
        rows += [(column, label, str(i + 1), "encoding", f"{column}_code") for i, label in enumerate(labels[column])]
    for column in ONE_HOT_CATEGORIES:
        rows += [(column, label, f"{column}_{slug(label)}", "encoding", "one_hot") for label in labels[column]]

    emp_sql = next(s for s in model.stages if isinstance(s, SQLTransformer))
    lengths = spark.createDataFrame([(v,) for v in vocabularies(spark)["emp_length"]], "emp_length string")
    for emp_length, years in emp_sql.transform(lengths).select("emp_length", "emp_length_years_ml").collect():
        rows.append(("emp_length", emp_length, str(years), "encoding", "emp_length_years"))

    bucketizer = next(s for s in model.stages if isinstance(s, Bucketizer))
    for i, low in enumerate(bucketizer.getSplits()[:-1]):
        rows.append(("grade", str(int(low)), LETTERS[i], "encoding", "letter_grade"))
    return spark.createDataFrame(
        rows, "column_name string, original_value string, encoded_value string, kind string, context string"
    )


def emp_length_years(text: str) -> int | None:
    """The same mapping as the SQLTransformer, in Python (for unit tests and readers)."""
    if re.match(r"^< *1 year", text):
        return 0
    match = re.match(r"^([0-9]+)", text)
    return int(match.group(1)) if match else None
