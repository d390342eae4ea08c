"""The 24 raw column names, exactly as loans arrive (spaces and capitals kept).

The raw layer stores them untouched; dbt's staging models rename them.
"""

RAW_COLUMNS: tuple[str, ...] = (
    "Customer Id",
    "Emp Title",
    "Emp Length",
    "Home Ownership",
    "Annual Inc",
    "Annual Inc Joint",
    "Verification Status",
    "Zip Code",
    "Addr State",
    "Avg Cur Bal",
    "Tot Cur Bal",
    "Loan Id",
    "Loan Status",
    "Loan Amount",
    "State",
    "Funded Amount",
    "Term",
    "Int Rate",
    "Grade",
    "Issue Date",
    "Pymnt Plan",
    "Type",
    "Purpose",
    "Description",
)
