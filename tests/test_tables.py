import json

import pandas as pd
import pytest

from semrec.data.readers import read_table
from semrec.data.tables import Dataset, load_interactions, load_items, load_users
from semrec.errors import DataFormatError


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_items_and_interactions_with_mapping(tmp_path):
    items = write(tmp_path / "items.csv", "movieId,name,genres\n1,Toy Story,Animation|Comedy\n2,Heat,Action\n")
    inter = write(tmp_path / "r.csv", "userId,movieId,rating,ts\n7,1,4.5,100\n7,2,3,2000-01-01T00:00:00Z\n")
    table = load_items(items, {"item_id": "movieId", "title": "name"})
    assert table.columns.tolist() == ["item_id", "title", "genres"]
    assert table["item_id"].tolist() == ["1", "2"]
    frame = load_interactions(
        inter, {"user_id": "userId", "item_id": "movieId", "value": "rating", "timestamp": "ts"}, items=table
    )
    assert frame["value"].tolist() == [4.5, 3.0]
    assert frame["timestamp"].tolist() == [100, 946684800]
    assert frame["event"].tolist() == ["interaction", "interaction"]


def test_defaults_when_optional_columns_absent(tmp_path):
    inter = write(tmp_path / "r.tsv", "user_id\titem_id\nA\tx\nA\ty\n")
    frame = load_interactions(inter)
    assert frame["value"].tolist() == [1.0, 1.0]
    assert frame["timestamp"].tolist() == [2, 3]  # file order (line numbers)


def test_missing_column_names_file_and_column(tmp_path):
    path = write(tmp_path / "r.csv", "user_id,item\n1,2\n")
    with pytest.raises(DataFormatError) as info:
        load_interactions(path)
    err = info.value
    assert err.column == "item_id" and err.line == 1 and err.path == str(path)
    assert "missing required column 'item_id'" in str(err) and "user_id, item" in str(err)


def test_mapped_optional_column_must_exist(tmp_path):
    path = write(tmp_path / "r.csv", "user_id,item_id\n1,2\n")
    with pytest.raises(DataFormatError, match="missing required column 'stars'"):
        load_interactions(path, {"value": "stars"})


def test_non_numeric_rating_names_line_and_column(tmp_path):
    path = write(tmp_path / "r.csv", "user_id,item_id,value\n1,a,5\n1,b,five\n")
    with pytest.raises(DataFormatError) as info:
        load_interactions(path)
    assert (info.value.line, info.value.column) == (3, "value")
    assert "not a number: 'five'" in str(info.value)


def test_nan_and_inf_rejected(tmp_path):
    path = write(tmp_path / "r.csv", "user_id,item_id,value\n1,a,inf\n")
    with pytest.raises(DataFormatError, match="not a finite number"):
        load_interactions(path)


def test_unknown_item_names_line_and_counts_others(tmp_path):
    items = load_items(write(tmp_path / "i.csv", "item_id,title\na,A\n"))
    path = write(tmp_path / "r.csv", "user_id,item_id\n1,a\n1,zzz\n2,yyy\n")
    with pytest.raises(DataFormatError) as info:
        load_interactions(path, items=items)
    assert info.value.line == 3 and info.value.column == "item_id"
    assert "unknown item id 'zzz'" in str(info.value) and "1 more rows" in str(info.value)


def test_duplicate_item_id_names_both_lines(tmp_path):
    path = write(tmp_path / "i.csv", "item_id,title\na,A\nb,B\na,C\n")
    with pytest.raises(DataFormatError, match=r"line 4, column 'item_id': duplicate item id 'a' \(first at line 2\)"):
        load_items(path)


def test_line_numbers_survive_multiline_quoted_fields(tmp_path):
    path = write(tmp_path / "i.csv", 'item_id,title\na,"two\nlines"\n,empty id\n')
    with pytest.raises(DataFormatError) as info:
        load_items(path)
    assert info.value.line == 4 and "empty id" in str(info.value)


@pytest.mark.parametrize(
    "content, message",
    [("", "file is empty"), ("item_id,title\na,A,extra\n", "expected 2 fields"), ("a,a\n1,2\n", "duplicate column")],
)
def test_malformed_csv(tmp_path, content, message):
    with pytest.raises(DataFormatError, match=message):
        load_items(write(tmp_path / "i.csv", content))


def test_jsonl_and_bad_json_line(tmp_path):
    good = write(
        tmp_path / "u.jsonl", json.dumps({"user_id": 1, "age": 30}) + "\n\n" + json.dumps({"user_id": 2}) + "\n"
    )
    users = load_users(good)
    assert users["user_id"].tolist() == ["1", "2"] and users["age"].tolist()[0] == 30
    bad = write(tmp_path / "b.jsonl", '{"user_id": 1}\n{oops}\n')
    with pytest.raises(DataFormatError, match="line 2: invalid JSON"):
        load_users(bad)


def test_parquet_rows(tmp_path):
    path = tmp_path / "r.parquet"
    pd.DataFrame({"user_id": [1, 2], "item_id": ["a", "b"], "value": ["1", "x"]}).to_parquet(path)
    with pytest.raises(DataFormatError, match="row 2, column 'value'"):
        load_interactions(path)


def test_unsupported_suffix_and_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match="unsupported file type"):
        read_table(write(tmp_path / "x.xlsx", "a"))
    with pytest.raises(DataFormatError, match="file not found"):
        read_table(tmp_path / "nope.csv")


def test_not_utf8_reports_encoding(tmp_path):
    path = tmp_path / "i.csv"
    path.write_bytes("item_id,title\n1,Caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match="not valid utf-8"):
        load_items(path)
    assert load_items(path, encoding="latin-1")["title"].tolist() == ["Café"]


def test_dataset_round_trip(tmp_path, catalogue):
    catalogue.save_dir(tmp_path / "d")
    loaded = Dataset.load_dir(tmp_path / "d")
    assert loaded.items["item_id"].tolist() == catalogue.items["item_id"].tolist()
    assert (
        loaded.interactions[["user_id", "item_id", "timestamp"]].values.tolist()
        == catalogue.interactions[["user_id", "item_id", "timestamp"]].values.tolist()
    )


def test_dataset_rejects_header_only_interactions(tmp_path):
    items = write(tmp_path / "i.csv", "item_id\na\n")
    inter = write(tmp_path / "r.csv", "user_id,item_id\n")
    with pytest.raises(DataFormatError, match="no interactions"):
        Dataset.from_files(items, inter)


def test_decode_error_names_the_line_and_bom_is_ignored(tmp_path):
    path = tmp_path / "i.csv"
    path.write_bytes(b"item_id,title\n1,ok\n2,Caf\xe9\n")
    with pytest.raises(DataFormatError) as info:
        load_items(path)
    assert info.value.line == 3 and "--encoding" in str(info.value)
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffitem_id,title\n1,A\n".encode())
    assert load_items(bom).columns.tolist() == ["item_id", "title"]


def test_a_folder_is_not_a_file(tmp_path):
    with pytest.raises(DataFormatError, match="is a folder"):
        load_items(tmp_path)


def test_a_csv_field_larger_than_the_csv_module_limit_loads_whole(tmp_path):
    text = "word " * 400_000  # 2 MB in one field
    path = write(tmp_path / "items.csv", f'item_id,title,overview\n1,Long,"{text}"\n2,Short,x\n')
    table = load_items(path)
    assert table.loc[0, "overview"] == text.strip() and table.loc[1, "overview"] == "x"


def test_a_header_only_item_file_is_an_error_naming_that_file(tmp_path):
    items = write(tmp_path / "items.csv", "item_id,title\n")
    inter = write(tmp_path / "r.csv", "user_id,item_id\nu,1\n")
    with pytest.raises(DataFormatError, match="no items") as info:
        Dataset.from_files(items, inter)
    assert "items.csv" in str(info.value) and "r.csv" not in str(info.value)


def test_a_rating_column_is_read_as_value_with_a_note_and_checked(tmp_path):
    items = write(tmp_path / "items.csv", "item_id,title\n1,A\n2,B\n")
    good = write(tmp_path / "good.csv", "user_id,item_id,Rating,time\nu,1,4,100\nu,2,2,200\n")
    data = Dataset.from_files(items, good)
    assert data.interactions["value"].tolist() == [4.0, 2.0]
    assert data.interactions["timestamp"].tolist() == [100, 200]
    assert any("column 'Rating' read as value" in n for n in data.notes)
    assert any("column 'time' read as timestamp" in n for n in data.notes)
    bad = write(tmp_path / "bad.csv", "user_id,item_id,rating\nu,1,4\nu,2,five\n")
    with pytest.raises(DataFormatError, match="five") as info:
        Dataset.from_files(items, bad)
    assert "line 3" in str(info.value) and "bad.csv" in str(info.value)


@pytest.mark.parametrize(("stamp", "hint"), [("-1", "outside"), ("99999999999999", "milliseconds")])
def test_timestamps_outside_the_service_range_are_an_error_at_fit_too(tmp_path, stamp, hint):
    items = write(tmp_path / "items.csv", "item_id,title\n1,A\n")
    inter = write(tmp_path / "r.csv", f"user_id,item_id,timestamp\nu,1,100\nv,1,{stamp}\n")
    with pytest.raises(DataFormatError, match=hint) as info:
        Dataset.from_files(items, inter)
    assert "line 3" in str(info.value) and "timestamp" in str(info.value)


def test_ordered_values_share_one_array_not_one_copy_per_user():
    from semrec.data.histories import ordered_values
    from semrec.vocab import IdVocabulary

    n_users, per_user = 300, 20
    frame = pd.DataFrame(
        {
            "user_id": [f"u{u}" for u in range(n_users) for _ in range(per_user)],
            "item_id": [f"i{n % 50}" for n in range(n_users * per_user)],
            "value": [float(n % 5) for n in range(n_users * per_user)],
            "timestamp": list(range(n_users * per_user)),
        }
    )
    users = IdVocabulary([f"u{u}" for u in range(n_users)], "user")
    values = ordered_values(frame, users, IdVocabulary([f"i{n}" for n in range(50)]))
    assert [len(v) for v in values] == [per_user] * n_users
    assert values[3].tolist() == [float(n % 5) for n in range(3 * per_user, 4 * per_user)]
    assert len({id(v.base) for v in values}) == 1  # views of one ordered array (was n_users full copies)
