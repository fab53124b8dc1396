import pytest

from crfwi.config import ConfigError, apply_overrides, config_from_dict, config_to_dict


@pytest.mark.parametrize("data,message", [
    ({"seed": True}, "`seed` must be an integer"),
    ({"name": 3}, "`name` must be a string"),
    ({"model": {"origin": "x"}}, "`model.origin` must be a list"),
    ({"model": {"options": [1]}}, "`model.options` must be a table"),
    ({"output": {"figures": 1}}, "`output.figures` must be true or false"),
    ({"inversion": {"lr": "a"}}, "`inversion.lr` must be a number"),
    ({"model": 3}, "`model` must be a table"),
    ({"physics": {"acuracy": 8}}, "unknown config key `physics.acuracy`; valid keys in [physics]"),
])
def test_types_and_keys_are_checked(data, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        config_from_dict(data)


def test_numbers_are_coerced_where_lossless():
    config = config_from_dict({"inversion": {"iterations": 2.0, "lr": 1}, "meta": {"anything": 1}})
    assert config.inversion.iterations == 2 and isinstance(config.inversion.lr, float)
    with pytest.raises(ConfigError):
        config_from_dict({"inversion": {"iterations": 2.5}})


def test_overrides_parse_toml_literals_and_bare_words():
    data = apply_overrides({"model": {"nz": 3}}, [
        "model.name=marmousi", "model.nz=10", "inversion.lr=1e-3", "model.origin=[0.0, 100.0]",
        "output.figures=false", "representation.options.alpha=0.3"])
    config = config_from_dict(data)
    assert config.model.name == "marmousi" and config.model.nz == 10
    assert config.inversion.lr == 1e-3 and config.model.origin == [0.0, 100.0]
    assert config.output.figures is False and config.representation.options == {"alpha": 0.3}
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides({}, ["novalue"])


def test_round_trip_through_dict():
    config = config_from_dict({"seed": 4, "survey": {"shots": [10.0, 20.0]}})
    assert config_from_dict(config_to_dict(config)) == config
