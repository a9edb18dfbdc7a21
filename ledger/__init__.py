"""provenance-ledger: record the provenance of second-hand goods on Ethereum chains.

The package root stays empty on purpose so that ``import ledger.compiler`` (used at build time)
does not drag in web3 clients, and so that the modules below can be written independently.
"""

__all__: list[str] = []
