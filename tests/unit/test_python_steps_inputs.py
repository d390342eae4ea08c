"""The one fold of landed records into the Python steps' inputs, fed by files or by the stream."""

from __future__ import annotations

import json

from python_steps.inputs import INPUT_COLUMNS, file_rows, fold_landed_values, stream_rows


def test_the_inputs_are_the_title_and_the_transformed_balances_by_their_raw_names() -> None:
    assert INPUT_COLUMNS == ("Emp Title", "Avg Cur Bal", "Tot Cur Bal")


def test_files_and_stream_holding_the_same_records_fold_to_the_same_inputs() -> None:
    records = [("Nurse", "100", "2000"), ("Nurse", " 7 ", None), ("Teacher", "abc", "-5"), (None, "3", "4")]
    messages = [json.dumps(dict(zip(INPUT_COLUMNS, record, strict=True))) for record in records]
    from_files = fold_landed_values(file_rows(records), with_balances=True)
    from_stream = fold_landed_values(stream_rows(messages), with_balances=True)
    assert from_files == from_stream
    assert from_files.titles == {"Nurse": 2, "Teacher": 1}
    # the values dbt would read: trimmed numbers; text that is no number is left out as None
    assert from_files.balances["avg_cur_bal"] == [100.0, 7.0, None, 3.0]


def test_the_stream_feeds_only_json_objects() -> None:
    messages = ["EOF", "not json", "[1, 2]", None, "", '{"Emp Title": "Welder", "Avg Cur Bal": 12}']
    folded = fold_landed_values(stream_rows(messages), with_balances=True)
    assert folded.titles == {"Welder": 1}
    assert folded.balances["avg_cur_bal"] == [12.0]
    assert folded.balances["tot_cur_bal"] == [None]


def test_grouped_titles_count_their_records_and_no_balances_are_read_unless_asked() -> None:
    folded = fold_landed_values([(("Nurse",), 40), (("Welder",), 2), (("x" * 10_000,), 1)], with_balances=False)
    assert folded.titles == {"Nurse": 40, "Welder": 2}  # a title too long for dbt to keep is not mapped
    assert folded.balances == {"avg_cur_bal": [], "tot_cur_bal": []}
