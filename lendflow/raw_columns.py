"""The 24 raw columns, exactly as loans arrive (spaces and capitals kept), with their types.

The raw layer stores them untouched (as text); dbt's staging models rename and cast them.
The types are those of the source files (the generator writes them).
"""

import pyarrow as pa

RAW_SCHEMA = pa.schema(
    [
        ("Customer Id", pa.string()),
        ("Emp Title", pa.string()),
        ("Emp Length", pa.string()),
        ("Home Ownership", pa.string()),
        ("Annual Inc", pa.float64()),
        ("Annual Inc Joint", pa.float64()),
        ("Verification Status", pa.string()),
        ("Zip Code", pa.string()),
        ("Addr State", pa.string()),
        ("Avg Cur Bal", pa.float64()),
        ("Tot Cur Bal", pa.float64()),
        ("Loan Id", pa.int64()),
        ("Loan Status", pa.string()),
        ("Loan Amount", pa.float64()),
        ("State", pa.string()),
        ("Funded Amount", pa.float64()),
        ("Term", pa.string()),
        ("Int Rate", pa.float64()),
        ("Grade", pa.int64()),
        ("Issue Date", pa.string()),
        ("Pymnt Plan", pa.bool_()),
        ("Type", pa.string()),
        ("Purpose", pa.string()),
        ("Description", pa.string()),
    ]
)
RAW_COLUMNS: tuple[str, ...] = tuple(RAW_SCHEMA.names)
