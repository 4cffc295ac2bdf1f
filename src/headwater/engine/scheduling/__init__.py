"""How a flow run is scheduled: planned once per graph version, then driven by a work stack.

- :mod:`~headwater.engine.scheduling.plan`: what a run needs to know about the graph
  (:class:`RunPlan`), made once per graph version;
- :mod:`~headwater.engine.scheduling.run_state`: the plain data a pass changes;
- :mod:`~headwater.engine.scheduling.slots`: what each call is given from upstream;
- :mod:`~headwater.engine.scheduling.scheduler`: the :class:`Scheduler`, which hands task runs
  to the executor as soon as what they depend on has been submitted;
- :mod:`~headwater.engine.scheduling.release`: dropping results nobody needs any more, in
  runs that keep only some tasks' results (``return_tasks``);
- :mod:`~headwater.engine.scheduling.settle`: collecting states call by call after a worker
  was lost.
"""
