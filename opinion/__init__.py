"""舆情 public-opinion monitoring. ``opinion.engine`` is the Django-free streaming engine."""
