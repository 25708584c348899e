import pytest

from semrec.text import TemplateError, TextTemplateConfig, render_text


def test_optional_segments_drop_when_a_field_is_missing():
    config = TextTemplateConfig(template="{title}[ ({year})]. [Directed by {director}.] [Genres: {genres}.]")
    row = {"item_id": "1", "title": "Heat", "year": None, "director": "Michael Mann", "genres": "Action|Crime"}
    assert render_text(row, config) == "Heat. Directed by Michael Mann. Genres: Action, Crime."


def test_list_values_are_capped():
    config = TextTemplateConfig(template="Starring {cast}.", max_list_items=2)
    assert render_text({"cast": "A|B|C"}, config) == "Starring A, B."


def test_no_template_uses_every_column_but_the_id():
    row = {"item_id": "x", "title": "Heat", "year": 1995.0, "empty": ""}
    assert render_text(row, TextTemplateConfig()) == "title: Heat. year: 1995."


def test_unknown_field_is_a_clear_error():
    with pytest.raises(TemplateError, match="unknown field 'plot'"):
        render_text({"title": "Heat"}, TextTemplateConfig(template="{title} {plot}"))


@pytest.mark.parametrize("template", ["{title", "[{title}] {", "{title}}}{"])
def test_malformed_template_is_rejected_up_front(template):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="malformed"):
        TextTemplateConfig(template=template)
