"""Names end where they end: a trailing newline is not a valid model name or tag key."""

import pytest

from compiler.registry.errors import RegistryError
from compiler.registry.names import check_name, check_tags


@pytest.mark.parametrize("name", ["iris\n", "iris\n\n", "\niris"])
def test_newline_in_a_name_is_refused(name):
    with pytest.raises(RegistryError):
        check_name(name, "model name")


def test_newline_in_a_tag_key_is_refused():
    with pytest.raises(RegistryError):
        check_tags({"team\n": "x"})
