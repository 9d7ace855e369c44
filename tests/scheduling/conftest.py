import pytest

from tests.factories import UserFactory


@pytest.fixture
def desk(client):
    """A receptionist's signed-in client."""
    client.force_login(UserFactory())
    return client
