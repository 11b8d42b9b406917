"""A process holds one copy of the DynamoDB service description, not one per table: each copy is
8 MB resident in every web worker and in the importer (dashboard.dynamo.base)."""

from dashboard.dynamo import base


def test_every_table_and_the_transaction_connection_share_one_loaded_service_description():
    clients = [base.client_of(model) for model in base.MODELS] + [base.connection().client]
    assert len(clients) > 30
    # botocore keeps the loader a client was built from; one loader caches one description.
    assert {id(client._loader) for client in clients} == {id(base._LOADER)}


def test_clients_built_again_after_reconfiguring_still_share_it():
    base.reconfigure()
    try:
        assert {id(base.client_of(model)._loader) for model in base.MODELS} == {id(base._LOADER)}
    finally:
        base.reconfigure()
