"""Use cases: one function per use case; services own the transaction and raise kita.errors."""
