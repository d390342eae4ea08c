{#- The 24 raw columns (names as they arrive) and their snake_case names: one list for
    both staging models (files and stream), so the two can never drift apart. -#}
{% macro raw_loan_columns() -%}
    {{ return([
        ('Customer Id', 'customer_id'),
        ('Emp Title', 'emp_title'),
        ('Emp Length', 'emp_length'),
        ('Home Ownership', 'home_ownership'),
        ('Annual Inc', 'annual_inc'),
        ('Annual Inc Joint', 'annual_inc_joint'),
        ('Verification Status', 'verification_status'),
        ('Zip Code', 'zip_code'),
        ('Addr State', 'addr_state'),
        ('Avg Cur Bal', 'avg_cur_bal'),
        ('Tot Cur Bal', 'tot_cur_bal'),
        ('Loan Id', 'loan_id'),
        ('Loan Status', 'loan_status'),
        ('Loan Amount', 'loan_amount'),
        ('State', 'state'),
        ('Funded Amount', 'funded_amount'),
        ('Term', 'term'),
        ('Int Rate', 'int_rate'),
        ('Grade', 'grade'),
        ('Issue Date', 'issue_date'),
        ('Pymnt Plan', 'pymnt_plan'),
        ('Type', 'loan_type'),
        ('Purpose', 'purpose'),
        ('Description', 'description'),
    ]) }}
{%- endmacro %}

{#- Numeric raw columns: a present but non-numeric value quarantines the record. -#}
{% macro numeric_loan_columns() -%}
    {{ return(['loan_id', 'annual_inc', 'annual_inc_joint', 'avg_cur_bal', 'tot_cur_bal',
               'loan_amount', 'funded_amount', 'int_rate', 'grade']) }}
{%- endmacro %}
