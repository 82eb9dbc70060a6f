"""textkit: minsheng's Chinese text engine. Plain Python — it never imports Django."""

__version__ = "0.1.0"
