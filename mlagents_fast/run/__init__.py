"""Everything a training run writes, independent of the algorithm.

Results folder rules (:mod:`.directories`), statistics and their writers (:mod:`.stats`,
:mod:`.writers`), hierarchical timers (:mod:`.timers`), ``training_status.json``
(:mod:`.status`) and checkpoints (:mod:`.checkpoints`), all in ML-Agents' formats so that
TensorBoard dashboards, scripts and ``--resume`` keep working across both trainers.
"""
