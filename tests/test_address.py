import pytest

from atlas.address import parse_feature, parse_layer
from atlas.errors import InvalidInput


def test_unit_and_direction_addresses():
    unit = parse_feature("inceptionv1/mixed3b/379")
    assert (unit.model, unit.layer, unit.channel, unit.direction) == ("inceptionv1", "mixed3b", 379, None)
    assert str(unit) == "inceptionv1/mixed3b/379"
    direction = parse_feature("inceptionv1/mixed4c/dir:car_sum")
    assert direction.direction == "car_sum" and str(direction) == "inceptionv1/mixed4c/dir:car_sum"
    assert str(parse_layer("demo/conv3")) == "demo/conv3"


@pytest.mark.parametrize(
    "bad, message",
    [
        ("demo/conv3/-1", "non-negative integer"),
        ("demo/../x", "invalid layer name '..'"),
        ("demo/conv3", "expected model/layer/unit"),
        ("demo//3", "expected"),
        ("demo/conv3/1/2", "expected"),
        ("demo/conv3/1e3", "non-negative integer"),
        ("demo/conv3/٣", "non-negative integer"),
        ("demo/conv 3/1", "invalid layer name"),
        ("de;mo/conv3/1", "invalid model name"),
        ("demo/conv3/dir:", "invalid direction name"),
    ],
)
def test_malformed_addresses_name_the_problem(bad, message):
    with pytest.raises(InvalidInput, match=message):
        parse_feature(bad)
