"""HTTP gateway over the provenance ledger (FastAPI); see `api.main.create_app`."""

__all__: list[str] = []
