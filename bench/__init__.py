"""Benchmarks of the stack's hot endpoints (`make bench`): token exchange, REST, IdP, baseline."""
