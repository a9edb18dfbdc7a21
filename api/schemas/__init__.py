"""Request and response models, one module per resource; shared field types in `common`."""

__all__: list[str] = []
