"""The intermediate representation: pydantic models only, no I/O."""
