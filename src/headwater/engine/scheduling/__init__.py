"""How a flow run is scheduled: planned once per graph, then driven by a work stack.

- :mod:`~headwater.engine.scheduling.plan`: what a run needs to know about the graph, made
  once per graph version;
- :mod:`~headwater.engine.scheduling.scheduler`: the loop that hands task runs to the
  executor as soon as what they depend on has been submitted;
- :mod:`~headwater.engine.scheduling.release`: dropping results nobody needs any more, in
  runs that keep only some tasks' results (``return_tasks``);
- :mod:`~headwater.engine.scheduling.settle`: collecting states call by call after a worker
  was lost.
"""
