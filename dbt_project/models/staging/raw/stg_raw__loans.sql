with

source as (

    select * from {{ source('raw', 'loans') }}

),

renamed as (

    select
        cast("Loan Id" as bigint) as loan_id,
        trim("Customer Id") as customer_id,
        trim("Emp Title") as emp_title,
        trim("Emp Length") as emp_length,
        trim("Home Ownership") as home_ownership,
        cast("Annual Inc" as double precision) as annual_inc,
        cast("Annual Inc Joint" as double precision) as annual_inc_joint,
        trim("Verification Status") as verification_status,
        trim("Zip Code") as zip_code,
        trim("Addr State") as addr_state,
        cast("Avg Cur Bal" as double precision) as avg_cur_bal,
        cast("Tot Cur Bal" as double precision) as tot_cur_bal,
        trim("Loan Status") as loan_status,
        cast("Loan Amount" as double precision) as loan_amount,
        trim("State") as state,
        cast("Funded Amount" as double precision) as funded_amount,
        trim("Term") as term,
        cast("Int Rate" as double precision) as int_rate,
        cast("Grade" as integer) as grade,
        trim("Issue Date") as issue_date_text,
        trim("Pymnt Plan") as pymnt_plan,
        trim("Type") as type,
        trim("Purpose") as purpose,
        trim("Description") as description,
        _source_file,
        _row_number,
        _landed_at

    from source

)

select * from renamed
