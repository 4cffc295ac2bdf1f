"""The implementation behind :mod:`headwater.configuration`.

- :mod:`.schema`: the one table of known keys (type, default, description), from which the
  packaged ``config.toml``, the load-time checks, the typing of environment variables and the
  pydantic model are all derived;
- :mod:`.types`: the ``Config`` mapping;
- :mod:`.interpolate`: typing of text, ``$NAME`` expansion and ``${section.key}`` references;
- :mod:`.layers`: reading files and environment variables into one tree, with each value's source;
- :mod:`.load`: the whole load (layers, checks, interpolation) and ``tasks.defaults`` normalising;
- :mod:`.current`: the configuration in effect (``headwater.config``) and :func:`~.current.setting`;
- :mod:`.classes`: importing the classes configuration keys name;
- :mod:`.model`: the pydantic model built from the schema (imported only when needed).
"""
