"""The project's benchmark: our server beside WsgiDAV, Apache and bare cheroot (issue 9).

``python -m benchmarks.run`` starts each server in turn on loopback, fresh and empty,
measures them the same way, prints a table with our ratio to each reference and
writes the raw figures as JSON. See :mod:`benchmarks.run` for the options.
"""
