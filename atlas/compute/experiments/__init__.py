"""Running a claim's experiment (the schema is ``atlas.experiments.spec``): the stimuli,
the intervention and its matched control as forward hooks, the measurement before and
after, the verdict with bootstrap intervals, the plot, and the ``experiment`` job kind."""

from atlas.compute.experiments.run import ExperimentOutcome, run_experiment

__all__ = ["ExperimentOutcome", "run_experiment"]
