"""sertk: speech emotion recognition toolkit with ESPnet-style recipes."""

__version__ = "0.1.0"
