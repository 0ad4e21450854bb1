"""minxin 民心: a civil-affairs platform for a Chinese city's bureau of civil affairs."""

__version__ = "0.1.0"
